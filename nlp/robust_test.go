package nlp

import (
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNegationCases(t *testing.T) {
	x := defaultExtractor(t)
	tests := []struct {
		text string
		want map[string]string
	}{
		{"不发烧但是咳嗽", map[string]string{"fever": Absent, "cough": Present}},
		{"除了头疼没别的不舒服", map[string]string{"headache": Present}},
		{"没有发烧、咳嗽", map[string]string{"fever": Absent, "cough": Absent}},
		{"发烧咳嗽都没有，就是嗓子疼", map[string]string{"fever": Absent, "cough": Absent, "sore_throat": Present}},
		{"否认胸痛", map[string]string{"chest_pain": Absent}},
		{"无明显诱因出现发热", map[string]string{"fever": Present}},
		{"是不是发烧了", map[string]string{"fever": Present}},
		{"咳嗽不停", map[string]string{"cough": Present}},
		{"拉不出大便", map[string]string{"constipation": Present}},
		{"不发烧伴咳嗽", map[string]string{"fever": Absent, "cough": Present}},
	}
	for _, tc := range tests {
		got := x.Extract(tc.text).Evidence()
		for id, st := range tc.want {
			if got[id] != st {
				t.Errorf("%q: %s = %q, want %q (all: %v)", tc.text, id, got[id], st, got)
			}
		}
		for id := range got {
			if _, ok := tc.want[id]; !ok {
				t.Errorf("%q: unexpected %s", tc.text, id)
			}
		}
	}
}

// TestBadInput: odd text gives a sensible result and valid offsets.
func TestBadInput(t *testing.T) {
	x := defaultExtractor(t)
	big := strings.Repeat("发烧三天，咳嗽有痰，不拉肚子。", 100*1024/45)
	tests := []struct {
		name     string
		text     string
		wantSyms bool
	}{
		{"empty", "", false},
		{"spaces", "   \t\n", false},
		{"100KB", big, true},
		{"emoji", "😀😀肚子疼😭", true},
		{"mixed English", "Hi doctor, 我头疼 and fever 3 days", true},
		{"traditional", "發燒頭痛，喉嚨痛", true},
		{"control chars", "发\x00烧\x07头\x1b痛\u200b咳嗽", true},
		{"invalid utf8", "\xff\xfe咳嗽\xc3", true},
		{"only digits", "39999999999999999999度", false},
		{"huge number", "发烧999999天", true},
		{"punctuation", "，。！？；：……", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := x.Extract(tc.text)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.wantSyms != (len(r.Symptoms) > 0) {
				t.Errorf("symptoms = %v", r.Symptoms)
			}
			checkOffsets(t, tc.text, r)
		})
	}
}

func checkOffsets(t *testing.T, text string, r Result) {
	t.Helper()
	runes := []rune(strings.ToValidUTF8(text, "\uFFFD"))
	for _, m := range r.Symptoms {
		if m.Start < 0 || m.End > len(runes) || m.Start >= m.End {
			t.Fatalf("bad offsets %+v for %d runes", m, len(runes))
		}
		if string(runes[m.Start:m.End]) != m.Text {
			t.Fatalf("text %q != span %q", m.Text, string(runes[m.Start:m.End]))
		}
		if m.State != Present && m.State != Absent {
			t.Fatalf("bad state %q", m.State)
		}
	}
	if r.TemperatureC != 0 && (r.TemperatureC < 34 || r.TemperatureC > 43) {
		t.Fatalf("temperature %v out of range", r.TemperatureC)
	}
}

func TestConcurrentExtract(t *testing.T) {
	x := defaultExtractor(t)
	want := x.Extract("三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				got := x.Extract("三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子")
				if len(got.Symptoms) != len(want.Symptoms) {
					t.Errorf("concurrent result differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"不发烧但是咳嗽", "宝宝8个月，肚子一阵一阵地疼", "孕32周", "39度5", "三十八度五", "除了头疼以外", "\xff"} {
		f.Add(s)
	}
	x := defaultExtractor(f)
	f.Fuzz(func(t *testing.T, s string) {
		r := x.Extract(s)
		checkOffsets(t, s, r)
		if r.Patient.AgeYears > 130 || r.Patient.GestationWeeks > 45 || r.Patient.GestationWeeks < 0 {
			t.Fatalf("patient %+v", r.Patient)
		}
		_ = utf8.ValidString(s)
	})
}
