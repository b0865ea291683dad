package triage

import (
	"context"
	"testing"
)

// TestEvaluateVignettes runs the CSV reader and Evaluate on the hand-written
// department vignettes (KG only, so it runs without ONNX Runtime).
func TestEvaluateVignettes(t *testing.T) {
	e := kgEngine(t)
	cases, err := ReadEvalFile("testdata/department_eval.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Evaluate(context.Background(), cases)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("department vignettes (KG only): n=%d top1=%.3f top3=%.3f urgency=%.3f under-triage=%d", res.N, res.Top1, res.Top3, res.UrgencyAcc, res.UnderTriage)
	if res.N != len(cases) || res.Skipped != 0 {
		t.Fatalf("evaluated %d of %d (skipped %d)", res.N, len(cases), res.Skipped)
	}
	if res.Top1 < 0.85 || res.Top3 < 0.9 {
		t.Errorf("department top-1 %.3f / top-3 %.3f below 0.85 / 0.90", res.Top1, res.Top3)
	}
	if res.EmergencyMis != 0 {
		t.Errorf("%d emergencies under-triaged", res.EmergencyMis)
	}
}

func TestChildRouted(t *testing.T) {
	cases := []struct {
		want, got string
		ok        bool
	}{
		{"03.02", "07.03", true}, {"03.03", "07.08", true}, {"03", "07", true},
		{"03.02", "07", true}, {"13", "07", false}, {"03.02", "03.01", false},
	}
	for _, c := range cases {
		if got := childRouted(c.want, c.got); got != c.ok {
			t.Errorf("childRouted(%s, %s) = %v", c.want, c.got, got)
		}
	}
}
