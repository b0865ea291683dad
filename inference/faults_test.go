package inference

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// gatherConfig serves testdata/faults/gather.onnx: value[i] = table[index[i]]
// with table[k] = k/10. ONNX Runtime's Run fails for an index outside [-10, 9].
const gatherConfig = `name: gather
max_batch_size: 8
inputs:
  - {name: index, datatype: INT64, shape: [1]}
outputs:
  - {name: value, datatype: FP32, shape: [1]}
batching: {max_queue_delay: 1ms}
`

// faultRepo lays out a repository with one healthy model (cnn-test), the
// gather model, a corrupt model.onnx (the first 4 KiB of cnn-test's, as a cut
// copy or a failed download leaves it) and a version whose model.onnx is
// missing, and opens it.
func faultRepo(t *testing.T) (*Repository, *Metrics) {
	t.Helper()
	dir := t.TempDir()
	cnnCfg, err := os.ReadFile(filepath.Join(testModelDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cnnModel, err := os.ReadFile(filepath.Join(testModelDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	gather, err := os.ReadFile(filepath.Join("testdata", "faults", "gather.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cnn-test/1/config.yaml", cnnCfg)
	abs, _ := filepath.Abs(filepath.Join(testModelDir, "model.onnx"))
	if err := os.Symlink(abs, filepath.Join(dir, "cnn-test", "1", "model.onnx")); err != nil {
		t.Fatal(err)
	}
	write("gather/1/config.yaml", []byte(gatherConfig))
	write("gather/1/model.onnx", gather)
	write("corrupt/1/config.yaml", []byte(strings.Replace(string(cnnCfg), "name: cnn-test", "name: corrupt", 1)))
	write("corrupt/1/model.onnx", cnnModel[:4096])
	write("absent/1/config.yaml", []byte(strings.Replace(string(cnnCfg), "name: cnn-test", "name: absent", 1)))
	m := NewMetrics(nil)
	r, err := OpenRepository(dir, RepositoryOptions{Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("a broken model.onnx must not fail start-up: %v", err)
	}
	t.Cleanup(r.Close)
	return r, m
}

func index(values ...int64) []Tensor {
	return []Tensor{{Name: "index", DataType: INT64, Shape: []int64{int64(len(values)), 1}, Data: values}}
}

// A corrupt and a missing model.onnx at start-up: the repository opens, Status
// names both with why, requests for them fail with ErrUnavailable (503), and
// the healthy models serve.
func TestStartupWithBrokenModels(t *testing.T) {
	r, _ := faultRepo(t)
	status := map[string]ModelStatus{}
	for _, st := range r.Status() {
		status[st.Name] = st
	}
	for name, want := range map[string]string{"corrupt": "read inputs and outputs of", "absent": "model.onnx: missing"} {
		st, ok := status[name]
		if !ok || st.Ready || !strings.Contains(st.Error, want) || !strings.Contains(st.Error, filepath.Join(name, "1", "model.onnx")) {
			t.Errorf("%s: status %+v, want not ready with %q and the file named", name, st, want)
		}
		in := []Tensor{image(1, rand.New(rand.NewPCG(1, 2)))}
		if _, err := r.Infer(context.Background(), Request{Model: name, Inputs: in}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), name+"/1 failed to load") {
			t.Errorf("%s: infer got %v, want ErrUnavailable naming the model", name, err)
		}
		if _, _, err := r.Config(name, ""); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Config got %v, want ErrUnavailable", name, err)
		}
	}
	for _, name := range []string{"cnn-test", "gather"} {
		if !status[name].Ready || status[name].Error != "" {
			t.Errorf("%s: %+v, want ready", name, status[name])
		}
	}
	if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: []Tensor{image(2, rand.New(rand.NewPCG(3, 4)))}}); err != nil {
		t.Errorf("cnn-test beside broken models: %v", err)
	}
	// An unknown model is still not found, not unavailable.
	if _, err := r.Infer(context.Background(), Request{Model: "nope", Inputs: index(1)}); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("unknown model: %v", err)
	}
}

// A Run that ONNX Runtime rejects fails that request with ErrUnavailable,
// is counted as an error, and the model's session keeps serving.
func TestRunErrorKeepsServing(t *testing.T) {
	r, metrics := faultRepo(t)
	for round := range 3 {
		_, err := r.Infer(context.Background(), Request{Model: "gather", Inputs: index(99)})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "gather") {
			t.Fatalf("round %d: out-of-range index: got %v, want ErrUnavailable naming the model", round, err)
		}
		res, err := r.Infer(context.Background(), Request{Model: "gather", Inputs: index(3, -1)})
		if err != nil {
			t.Fatalf("round %d: the model stopped serving after a Run error: %v", round, err)
		}
		got := res.Outputs[0].Data.([]float32)
		if len(got) != 2 || got[0] < 0.299 || got[0] > 0.301 || got[1] < 0.899 || got[1] > 0.901 {
			t.Fatalf("round %d: values %v, want [0.3 0.9]", round, got)
		}
		if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: []Tensor{image(1, rand.New(rand.NewPCG(5, 6)))}}); err != nil {
			t.Fatalf("round %d: another model failed: %v", round, err)
		}
	}
	if n := testutil.ToFloat64(metrics.requests.WithLabelValues("gather", "error")); n != 3 {
		t.Errorf("errors counted %v, want 3", n)
	}
	if n := testutil.ToFloat64(metrics.requests.WithLabelValues("gather", "ok")); n != 3 {
		t.Errorf("ok counted %v, want 3", n)
	}
	if n := testutil.ToFloat64(metrics.requests.WithLabelValues("cnn-test", "error")); n != 0 {
		t.Errorf("cnn-test errors %v, want 0", n)
	}
}

// Fixing a broken model on disk and reloading brings it into service.
func TestReloadRepairsBrokenModel(t *testing.T) {
	r, _ := faultRepo(t)
	good, err := os.ReadFile(filepath.Join(testModelDir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "absent", "1", "model.onnx"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Infer(context.Background(), Request{Model: "absent", Inputs: []Tensor{image(1, rand.New(rand.NewPCG(7, 8)))}}); err != nil {
		t.Fatalf("after repair and reload: %v", err)
	}
	for _, st := range r.Status() {
		if st.Name == "corrupt" && st.Ready {
			t.Error("corrupt is still broken and must stay not ready")
		}
		if st.Name == "absent" && !st.Ready {
			t.Errorf("absent after repair: %+v", st)
		}
	}
}

// One bad input in a dynamic batch fails only its own request: the batch's
// Run fails, the batcher runs its requests one at a time, and the good ones
// get their values.
func TestBadInputFailsOnlyItsRequest(t *testing.T) {
	r, metrics := faultRepo(t)
	m, err := r.lookup("gather", "")
	if err != nil {
		t.Fatal(err)
	}
	gate, started := make(chan struct{}), make(chan struct{})
	var batches atomic.Int32
	hook := func() {
		if batches.Add(1) == 1 {
			close(started)
			<-gate
		}
	}
	m.beforeRun.Store(&hook)
	first := make(chan error, 1)
	go func() {
		_, err := r.Infer(context.Background(), Request{Model: "gather", Inputs: index(1)})
		first <- err
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the session never started the first batch")
	}
	// While the session is held, queue two good requests around a bad one;
	// they leave the queue together as one batch once it is free.
	type answer struct {
		vals []float32
		err  error
	}
	inputs := [][]int64{{3}, {99}, {-1, 5}}
	answers := make([]chan answer, len(inputs))
	for i, in := range inputs {
		answers[i] = make(chan answer, 1)
		go func() {
			res, err := r.Infer(context.Background(), Request{Model: "gather", Inputs: index(in...)})
			if err != nil {
				answers[i] <- answer{err: err}
				return
			}
			answers[i] <- answer{vals: res.Outputs[0].Data.([]float32)}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.depth.Load() != int64(len(inputs)) {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d, want %d", m.depth.Load(), len(inputs))
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{0.3}, nil, {0.9, 0.5}}
	for i, ch := range answers {
		a := <-ch
		if want[i] == nil {
			if !errors.Is(a.err, ErrUnavailable) {
				t.Errorf("index %v: got %v %v, want ErrUnavailable", inputs[i], a.vals, a.err)
			}
			continue
		}
		if a.err != nil || len(a.vals) != len(want[i]) {
			t.Errorf("index %v: got %v %v, want %v", inputs[i], a.vals, a.err, want[i])
			continue
		}
		for j := range a.vals {
			if d := a.vals[j] - want[i][j]; d < -1e-6 || d > 1e-6 {
				t.Errorf("index %v: got %v, want %v", inputs[i], a.vals, want[i])
			}
		}
	}
	if n := batches.Load(); n != 2 {
		t.Errorf("%d batches, want 2 (the held one, then the three queued requests together)", n)
	}
	if n := testutil.ToFloat64(metrics.requests.WithLabelValues("gather", "error")); n != 1 {
		t.Errorf("errors counted %v, want 1", n)
	}
	if n := testutil.ToFloat64(metrics.requests.WithLabelValues("gather", "ok")); n != 3 {
		t.Errorf("ok counted %v, want 3", n)
	}
}
