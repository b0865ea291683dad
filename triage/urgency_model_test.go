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
	"strings"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/inference"
)

const urgencyModelDir = "../models/triage-urgency/1"

// urgencyRepo opens a repository holding triage-department and
// triage-urgency, or skips when ONNX Runtime or a model is missing.
func urgencyRepo(t *testing.T) *inference.Repository {
	t.Helper()
	for _, d := range []string{deptModelDir, urgencyModelDir} {
		if _, err := os.Stat(filepath.Join(d, "model.onnx")); err != nil {
			t.Skipf("no exported model in %s: run models/triage/train*.py (%v)", d, err)
		}
	}
	if err := inference.InitRuntime(""); err != nil {
		t.Skipf("ONNX Runtime not available: %v", err)
	}
	dir := t.TempDir()
	for name, src := range map[string]string{DefaultDepartmentModel: deptModelDir, DefaultUrgencyModel: urgencyModelDir} {
		vdir := filepath.Join(dir, name, "1")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"model.onnx", "config.yaml"} {
			abs, _ := filepath.Abs(filepath.Join(src, f))
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

type urgencyGolden struct {
	Text  string    `json:"text"`
	X     []int     `json:"x"`
	Level string    `json:"level"`
	Probs []float64 `json:"probs"`
}

// TestUrgencyModelMatchesTorch runs the exported urgency classifier through
// the repository (and its batcher) and compares with PyTorch, and checks
// that the features the server computes are the ones it was trained on.
func TestUrgencyModelMatchesTorch(t *testing.T) {
	repo := urgencyRepo(t)
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.urgency == nil {
		t.Fatal("urgency model not loaded")
	}
	f, err := os.Open("testdata/urgency_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var r urgencyGolden
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		n++
		if got := TextFeatureIndices(e.feat, e.x, r.Text); !equalInts(got, r.X) {
			t.Errorf("%q: Go features differ from training", r.Text)
		}
		v := make([]float32, e.feat.Dim())
		for _, j := range r.X {
			v[j] = 1
		}
		got, err := e.urgency.predict(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for k, l := range e.urgency.levels {
			if math.Abs(got[l]-r.Probs[k]) > 1e-4 {
				t.Fatalf("%q level %s: ORT %.6f, torch %.6f", r.Text, l, got[l], r.Probs[k])
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d golden rows", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestUrgencyModelOnlyRaises: the classifier never lowers a rule's level.
func TestUrgencyModelOnlyRaises(t *testing.T) {
	for _, c := range []struct {
		rules string
		probs map[string]float64
		want  string
	}{
		{LevelEmergency, map[string]float64{LevelSelfCare: 1}, LevelEmergency},
		{LevelUrgent, map[string]float64{LevelRoutine: 0.99, LevelUrgent: 0.01}, LevelUrgent},
		{LevelRoutine, map[string]float64{LevelEmergency: 0.95, LevelUrgent: 0.05}, LevelEmergency},
		{LevelRoutine, map[string]float64{LevelEmergency: 0.6, LevelUrgent: 0.35, LevelRoutine: 0.05}, LevelUrgent},
		{LevelRoutine, map[string]float64{LevelEmergency: 0.5, LevelRoutine: 0.5}, LevelRoutine},
		{LevelSelfCare, map[string]float64{LevelRoutine: 0.92, LevelSelfCare: 0.08}, LevelSelfCare},
		{LevelSelfCare, map[string]float64{LevelUrgent: 0.92, LevelSelfCare: 0.08}, LevelUrgent},
	} {
		u := Urgency{Level: c.rules}
		raiseUrgency(&u, c.probs, defaultUrgencyThreshold)
		if u.Level != c.want {
			t.Errorf("rules %s, probs %v: got %s, want %s", c.rules, c.probs, u.Level, c.want)
		}
	}
}

// TestUrgencyVignettesWithModel: the gates hold with the classifier in the
// loop (it can only raise, so zero under-triage must survive), and the log
// shows what it raised.
func TestUrgencyVignettesWithModel(t *testing.T) {
	repo := urgencyRepo(t)
	kg, x := kgAndExtractor(t)
	withModel, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rules := kgEngine(t)
	for _, path := range []string{"testdata/urgency_vignettes.tsv", "testdata/urgency_holdout.tsv",
		"testdata/urgency_holdout2.tsv", "testdata/urgency_holdout3.tsv", "testdata/urgency_holdout4.tsv"} {
		vs := loadVignettes(t, path)
		var okRules, okModel, raisedRight, raisedOver, under int
		for _, v := range vs {
			a, err := rules.Triage(context.Background(), v.req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := withModel.Triage(context.Background(), v.req)
			if err != nil {
				t.Fatal(err)
			}
			if a.Urgency.Level == v.level {
				okRules++
			}
			if b.Urgency.Level == v.level {
				okModel++
			}
			if levelRank[b.Urgency.Level] > levelRank[a.Urgency.Level] {
				if levelRank[b.Urgency.Level] <= levelRank[v.level] {
					raisedRight++
				} else {
					raisedOver++
					t.Logf("%s:%d model over-triage %q: rules %s, model %s, want %s", path, v.line, v.req.Text, a.Urgency.Level, b.Urgency.Level, v.level)
				}
			}
			if levelRank[b.Urgency.Level] < levelRank[v.level] {
				under++
				if v.level == LevelEmergency {
					t.Errorf("%s:%d UNDER-TRIAGE with model %q: got %s", path, v.line, v.req.Text, b.Urgency.Level)
				}
			}
		}
		name := strings.TrimSuffix(filepath.Base(path), ".tsv")
		t.Logf("%s: n=%d rules accuracy %.3f, rules+model %.3f; model raised %d correctly (towards the expected level), %d above it; under-triage left %d",
			name, len(vs), float64(okRules)/float64(len(vs)), float64(okModel)/float64(len(vs)), raisedRight, raisedOver, under)
	}
}

// TestTriageLatency prints single-client latency with and without the
// urgency classifier (FENZHEN_LATENCY=1 go test ./triage -run TestTriageLatency -v).
func TestTriageLatency(t *testing.T) {
	if os.Getenv("FENZHEN_LATENCY") == "" {
		t.Skip("set FENZHEN_LATENCY=1 to measure")
	}
	repo := urgencyRepo(t)
	kg, x := kgAndExtractor(t)
	texts := []string{"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", "胸口压榨样疼痛半小时，出了一身大汗",
		"最近胃疼，反酸烧心，吃完饭肚子胀", "感冒流鼻涕三天了，有点鼻塞", "我爸吃饭时筷子突然拿不住了，嘴角往一边歪"}
	for _, name := range []string{"-", DefaultUrgencyModel} {
		e, err := New(kg, x, repo, Options{UrgencyModel: name})
		if err != nil {
			t.Fatal(err)
		}
		var d []time.Duration
		for i := 0; i < 2000; i++ {
			start := time.Now()
			if _, err := e.Triage(context.Background(), Request{Text: texts[i%len(texts)]}); err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		t.Logf("urgency model %q: p50 %v p99 %v max %v", name, d[len(d)/2], d[len(d)*99/100], d[len(d)-1])
	}
}
