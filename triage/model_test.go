package triage

import (
	"context"
	"slices"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

const deptModelDir = "../models/triage-department/1"

// TestFeaturesMatchTraining: the vectors the server computes are the ones
// models/triage/train.py trained on (it stores what it used).
func TestFeaturesMatchTraining(t *testing.T) {
	checkTextFeatures(t, "department_golden.jsonl")
}

func TestNgramHash(t *testing.T) {
	// FNV-1a 32 of the UTF-8 bytes, mod 4096: "咳" is e5 92 b3.
	cases := []struct {
		text string
		want []int
	}{
		{"", []int{}},
		{"，。 ", []int{}},
		{"Ａ", []int{fnvMod("a")}},
		{"咳嗽", []int{fnvMod("咳"), fnvMod("咳嗽"), fnvMod("嗽")}},
		{"咳,嗽", []int{fnvMod("咳"), fnvMod("咳嗽"), fnvMod("嗽")}},
	}
	for _, c := range cases {
		if got := NgramIndices(c.text); !slices.Equal(got, c.want) {
			t.Errorf("NgramIndices(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// fnvMod is FNV-1a 32 written out from its definition.
func fnvMod(s string) int {
	h := uint32(2166136261)
	for _, b := range []byte(s) {
		h ^= uint32(b)
		h *= 16777619
	}
	return int(h % NgramBuckets)
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
		got, err := e.model.predict(context.Background(), oneHot(e.feat.Dim(), r.X))
		if err != nil {
			t.Fatal(err)
		}
		for k, code := range e.model.labels {
			checkTorch(t, got[code], r.Probs[k], "row %d class %s", i, code)
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
