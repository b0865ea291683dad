package triage

import (
	"context"
	"testing"
)

// TestDepartmentVignettes: hand-written patient texts over every
// department family (issue #5) keep their department coverage with the
// department and urgency classifiers, and no emergency is missed.
func TestDepartmentVignettes(t *testing.T) {
	repo := urgencyRepo(t)
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := ReadEvalFile("testdata/department_vignettes.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Evaluate(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("n=%d top-1 %.3f top-3 %.3f no symptom %d urgency %.3f emergency missed %d", res.N, res.Top1, res.Top3, res.NoSymptom, res.UrgencyAcc, res.EmergencyMis)
	if res.N < 80 || res.Top1 < 0.78 || res.Top3 < 0.93 {
		t.Errorf("department vignettes: n=%d top-1 %.3f (want ≥ 0.78) top-3 %.3f (want ≥ 0.93)", res.N, res.Top1, res.Top3)
	}
	if res.EmergencyMis > 0 {
		t.Errorf("%d emergencies under-triaged", res.EmergencyMis)
	}
}
