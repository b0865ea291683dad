package triage

import (
	"context"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

const deptModelDir = "../models/triage-department/1"

// TestFeaturesMatchTraining: the vectors the server computes are the ones
// models/triage/train.py trained on (it stores what it used).
func TestFeaturesMatchTraining(t *testing.T) {
	checkTextFeatures(t, "department_golden.jsonl", deptModelDir)
}

// modelRepo opens a repository holding only triage-department, or skips
// when ONNX Runtime or the exported model is missing.
func modelRepo(t *testing.T) *inference.Repository {
	return openExports(t, "no exported model: run models/triage/train.py (%[2]v)", deptExport)
}

// TestModelMatchesTorch runs the exported ONNX model through the
// repository (and its batcher) and compares with PyTorch's probabilities.
func TestModelMatchesTorch(t *testing.T) {
	repo := modelRepo(t)
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range loadGolden(t, "department_golden.jsonl") {
		got, _, err := e.dept.predict(context.Background(), padded(e.dept.feat, r.X))
		if err != nil {
			t.Fatal(err)
		}
		for k, code := range e.dept.labels {
			checkTorch(t, float64(got[k]), r.Probs[k], "row %d class %s", i, code)
		}
	}
	resp, err := e.Triage(context.Background(), Request{Text: "最近胃疼，反酸烧心，吃完饭肚子胀"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Models) != 1 || resp.Models[0].Name != DefaultDepartmentModel || resp.Models[0].Version != "1" {
		t.Fatalf("models = %+v", resp.Models)
	}
	if len(resp.Departments) == 0 || resp.Departments[0].Code != "03.02" {
		t.Fatalf("want 消化内科 first, got %+v", resp.Departments)
	}
}
