package triage

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/nlp"
)

const deptModelDir = "../models/triage-department/1"

type goldenRow struct {
	Text  string    `json:"text"`
	X     []int     `json:"x"`
	Code  string    `json:"code"`
	Probs []float64 `json:"probs"`
}

func loadGolden(t *testing.T) []goldenRow {
	t.Helper()
	f, err := os.Open("testdata/department_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r goldenRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) < 10 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	return rows
}

// TestFeaturesMatchTraining: the vectors the server computes are the ones
// models/triage/train.py trained on (it stores what it used).
func TestFeaturesMatchTraining(t *testing.T) {
	kg, _ := kgAndExtractor(t)
	x, err := nlp.NewExtractor(kg, ExtractorOptions(kg)...)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFeaturizer(kg)
	for i, r := range loadGolden(t) {
		if got := TextFeatureIndices(f, x, r.Text); !slices.Equal(got, r.X) {
			t.Errorf("row %d: Go features %v, training used %v", i, got, r.X)
		}
	}
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
	t.Helper()
	if _, err := os.Stat(filepath.Join(deptModelDir, "model.onnx")); err != nil {
		t.Skipf("no exported model: run models/triage/train.py (%v)", err)
	}
	if err := inference.InitRuntime(""); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	dir := t.TempDir()
	vdir := filepath.Join(dir, DefaultDepartmentModel, "1")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"model.onnx", "config.yaml"} {
		abs, _ := filepath.Abs(filepath.Join(deptModelDir, name))
		if err := os.Symlink(abs, filepath.Join(vdir, name)); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := inference.OpenRepository(dir, inference.RepositoryOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return repo
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
	f := NewFeaturizer(kg)
	for i, r := range loadGolden(t) {
		v := make([]float32, f.Dim())
		for _, j := range r.X {
			v[j] = 1
		}
		got, err := e.model.predict(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for k, code := range e.model.labels {
			if math.Abs(got[code]-r.Probs[k]) > 1e-4 {
				t.Fatalf("row %d class %s: ORT %.6f, torch %.6f", i, code, got[code], r.Probs[k])
			}
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
