package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
)

// eval imaging --via http end to end on a few images of each set: the
// committed models behind an in-process server, the other modality and
// junk refused. (The full splits are `fenzhen eval imaging`'s job.)
func TestEvalImagingHTTPSmoke(t *testing.T) {
	data := os.Getenv("FENZHEN_DATA")
	if data == "" {
		data = filepath.Join("..", "..", "..", "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(data, "derm", "dermamnist_like.npz")); err != nil {
		t.Skipf("shared data not found (set FENZHEN_DATA to the data folder): %v", err)
	}
	// ONNX Runtime, once loaded, stays loaded for the process, and the serve
	// tests need a process where it is not: run in a child test process.
	if os.Getenv("FENZHEN_EVAL_SMOKE_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEvalImagingHTTPSmoke$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FENZHEN_EVAL_SMOKE_CHILD=1", "FENZHEN_DATA="+data)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	t.Setenv("FENZHEN_PROGRESS", "off")
	if err := inference.InitRuntime(""); err != nil {
		t.Fatal(err)
	}
	repo, err := inference.OpenRepository(filepath.Join("..", "..", "models"), inference.RepositoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for _, m := range []string{imaging.ModelChestXray, imaging.ModelDermatology} {
		ds, err := loadNPZSplit(filepath.Join(data, imagingSets[m]), "test")
		if err != nil {
			t.Fatal(err)
		}
		out, _, err := runImagingHTTP(repo, m, truncate(ds, 12), "test", data, "", 3, 4, 12)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if len(out.Points) == 0 || out.Points[0].N+out.Gate[0].Refused != 12 || len(out.Gate) != 5 {
			t.Fatalf("%s: %+v", m, out)
		}
		for _, g := range out.Gate[1:] { // the other modality and the junk
			if g.Caught() != 1 {
				t.Errorf("%s: %s", m, g)
			}
		}
	}
}

func TestTallyAndHTTPMetrics(t *testing.T) {
	as := []httpAnswer{
		{Status: 200, Probs: []float32{0.9, 0.1}, Decision: "normal"},
		{Status: 200, Probs: []float32{0.2, 0.8}, Decision: "pneumonia", Flagged: true, Issues: []string{"too_small"}},
		{Status: 422, Issues: []string{"blank"}},
		{Status: 200, Probs: []float32{0.6, 0.4}, Decision: "pneumonia"}, // the operating point's threshold is under 0.4
	}
	g := tally("set", as)
	if g.N != 4 || g.Refused != 1 || g.Flagged != 1 || g.Passed != 2 || g.Caught() != 0.5 || g.Checks["blank"] != 1 || !strings.Contains(g.String(), "too_small 1") {
		t.Errorf("%+v %s", g, g)
	}
	r, refused := httpMetrics([]string{"normal", "pneumonia"}, []int{0, 1, 1, 0}, as)
	if refused != 1 || r.N != 3 || r.Accuracy != 2.0/3 || r.Confusion[0][1] != 1 {
		t.Errorf("refused %d, %+v", refused, r)
	}
}
