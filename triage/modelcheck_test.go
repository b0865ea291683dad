package triage

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

// Checks shared by the tests of the package's three ONNX models (department
// classifier, disease ranker, urgency classifier): the features the server
// computes are the ones the training script used, and ONNX Runtime's outputs
// are PyTorch's within torchTolerance. Both read the golden file the script
// writes under testdata/.

// torchTolerance is how far an ONNX Runtime output may be from PyTorch's.
const torchTolerance = 1e-4

// goldenRow is one line of a testdata/*_golden.jsonl file: the text (and,
// for the disease ranker, the answered evidence), the feature indices it was
// trained on, and PyTorch's outputs for them.
type goldenRow struct {
	Text  string            `json:"text"`
	State map[string]string `json:"state"`
	X     []int64           `json:"x"`
	Probs []float64         `json:"probs"`
	Ask   []float64         `json:"ask"`
}

// loadGolden reads testdata/<name>; fewer than 10 rows fail the test.
func loadGolden(t testing.TB, name string) []goldenRow {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var r goldenRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("only %d golden rows", len(rows))
	}
	return rows
}

// checkTextFeatures: for each row of the golden file, the indices the
// engine computes for the text (with the server's extractor and the
// vocabulary recorded in the model's config) are the ones the training
// script stored.
func checkTextFeatures(t *testing.T, golden, modelDir string) {
	t.Helper()
	e := servingEngine(t)
	f := exportFeaturizer(t, modelDir)
	for i, r := range loadGolden(t, golden) {
		c := e.buildCase(&Request{Text: r.Text})
		checkFeatures(t, unpadded(f, f.Indices(c.state, c.extraction.Diseases, casePatient(c), c.extraction.Grams)), r, i)
	}
}

// exportFeaturizer is the featurizer of the vocabulary an export records.
func exportFeaturizer(t testing.TB, dir string) *Featurizer {
	t.Helper()
	cfg, err := inference.LoadConfig(filepath.Join(dir, "config.yaml"), filepath.Base(filepath.Dir(dir)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modelFeaturizer(cfg.Parameters)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func unpadded(f *Featurizer, idx []int64) []int64 {
	for len(idx) > 0 && idx[len(idx)-1] == int64(f.Vocab()) {
		idx = idx[:len(idx)-1]
	}
	return idx
}

// checkFeatures compares the indices Go computed for golden row i.
func checkFeatures(t *testing.T, got []int64, r goldenRow, i int) {
	t.Helper()
	if !slices.Equal(got, r.X) {
		t.Errorf("row %d (%s): Go indices %v, training used %v", i, r.Text, got, r.X)
	}
}

// padded is the model input of a golden row's indices.
func padded(f *Featurizer, idx []int64) []int64 {
	out := append([]int64(nil), idx...)
	for len(out) < f.Width() {
		out = append(out, int64(f.Vocab()))
	}
	return out
}

var (
	servingOnce sync.Once
	servingE    *Engine
	servingErr  error
)

// servingEngine is a KG-only engine with the server's extractor (the bleve
// fuzzy fallback included), built once: features must match training,
// which featurizes with that extractor.
func servingEngine(t testing.TB) *Engine {
	t.Helper()
	servingOnce.Do(func() {
		kg, _ := kgAndExtractor(t)
		x, _, err := ServingExtractor(kg)
		if err != nil {
			servingErr = err
			return
		}
		servingE, servingErr = New(kg, x, nil, Options{})
	})
	if servingErr != nil {
		t.Fatal(servingErr)
	}
	return servingE
}

// checkTorch stops the test when an ORT output is further than
// torchTolerance from PyTorch's; format and args name the output.
func checkTorch(t *testing.T, ort, torch float64, format string, args ...any) {
	t.Helper()
	if math.Abs(ort-torch) > torchTolerance {
		t.Fatalf(format+": ORT %.6f, torch %.6f", append(args, ort, torch)...)
	}
}

// exportedModel is a model served as version 1 from an export directory.
type exportedModel struct{ name, dir string }

var (
	deptExport    = exportedModel{DefaultDepartmentModel, deptModelDir}
	diseaseExport = exportedModel{DefaultDiseaseModel, diseaseModelDir}
	urgencyExport = exportedModel{DefaultUrgencyModel, urgencyModelDir}
)

// openExports opens a repository holding the models (their model.onnx and
// config.yaml linked from the exports), or skips when an export or ONNX
// Runtime is missing. noExport is the skip message's format, given the
// directory and the error (%[1]s, %[2]v).
func openExports(t testing.TB, noExport string, models ...exportedModel) *inference.Repository {
	t.Helper()
	for _, m := range models {
		if _, err := os.Stat(filepath.Join(m.dir, "model.onnx")); err != nil {
			t.Skipf(noExport, m.dir, err)
		}
	}
	if err := inference.InitRuntime(""); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	dir := t.TempDir()
	for _, m := range models {
		vdir := filepath.Join(dir, m.name, "1")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"model.onnx", "config.yaml"} {
			abs, _ := filepath.Abs(filepath.Join(m.dir, f))
			if err := os.Symlink(abs, filepath.Join(vdir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	repo, err := inference.OpenRepository(dir, inference.RepositoryOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return repo
}
