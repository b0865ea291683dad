package nlp

import (
	"math"
	"testing"
)

// Ages said the way parents say them; durations must not be read as ages
// and ages must not be read as durations.
func TestPatientAges(t *testing.T) {
	x := defaultExtractor(t)
	for _, c := range []struct {
		text string
		age  float64 // years; -1 = unknown
		dur  float64 // days of the first symptom
	}{
		{"两个月的宝宝发烧", 2.0 / 12, 0},
		{"八个月的孩子拉肚子", 8.0 / 12, 0},
		{"宝宝两个月，发烧", 2.0 / 12, 0},
		{"两个月大的孩子发烧", 2.0 / 12, 0},
		{"新生儿发烧", 0.04, 0},
		{"出生二十天的宝宝发烧", 20.0 / 365, 0},
		{"咳嗽两个月了", -1, 60},
		{"拉肚子一个月了", -1, 30},
		{"发烧两天的孩子", -1, 2}, // 两天 describes the fever here, not the child
	} {
		r := x.Extract(c.text)
		if math.Abs(r.Patient.AgeYears-c.age) > 0.01 {
			t.Errorf("%s: age %.3f, want %.3f", c.text, r.Patient.AgeYears, c.age)
		}
		if len(r.Symptoms) == 0 || math.Abs(r.Symptoms[0].DurationDays-c.dur) > 0.01 {
			t.Errorf("%s: symptoms %+v, want duration %v", c.text, r.Symptoms, c.dur)
		}
	}
}
