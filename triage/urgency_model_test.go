package triage

import (
	"context"
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
	return openExports(t, "no exported model in %[1]s: run models/triage/train*.py (%[2]v)", deptExport, urgencyExport)
}

// TestUrgencyFeaturesMatchTraining: the vectors the server computes are the
// ones models/triage/train_urgency.py trained on.
func TestUrgencyFeaturesMatchTraining(t *testing.T) {
	checkTextFeatures(t, "urgency_golden.jsonl", urgencyModelDir)
}

// TestUrgencyModelMatchesTorch runs the exported urgency classifier through
// the repository (and its batcher) and compares with PyTorch.
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
	for _, r := range loadGolden(t, "urgency_golden.jsonl") {
		got, _, err := e.urgency.predict(context.Background(), padded(e.urgency.feat, r.X))
		if err != nil {
			t.Fatal(err)
		}
		for k, l := range e.urgency.labels {
			checkTorch(t, float64(got[k]), r.Probs[k], "%q level %s", r.Text, l)
		}
	}
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
		// The model cites no text: it asks for urgent at most.
		{LevelRoutine, map[string]float64{LevelEmergency: 0.95, LevelUrgent: 0.05}, LevelUrgent},
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
