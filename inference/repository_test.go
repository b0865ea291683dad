package inference

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const testModelDir = "../models/cnn-test/1"

func TestMain(m *testing.M) {
	if err := InitRuntime(""); err != nil {
		// The library is installed by `make setup`; without it nothing here can run.
		println("inference tests need ONNX Runtime:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testRepo builds a repository in a temp dir holding cnn-test with its config
// rewritten by edit.
func testRepo(t *testing.T, edit func(string) string) (*Repository, *Metrics) {
	t.Helper()
	dir := t.TempDir()
	vdir := filepath.Join(dir, "cnn-test", "1")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join(testModelDir, "model.onnx"))
	if err := os.Symlink(abs, filepath.Join(vdir, "model.onnx")); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(testModelDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	if edit != nil {
		text = edit(text)
	}
	if err := os.WriteFile(filepath.Join(vdir, "config.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(nil)
	r, err := OpenRepository(dir, RepositoryOptions{Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r, m
}

func image(rows int, rng *rand.Rand) Tensor {
	data := make([]float32, rows*28*28)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return Tensor{Name: "input", DataType: FP32, Shape: []int64{int64(rows), 1, 28, 28}, Data: data}
}

func probs(t *testing.T, res *Result) []float32 {
	t.Helper()
	if len(res.Outputs) != 1 || res.Outputs[0].Name != "probs" {
		t.Fatalf("outputs %+v", res.Outputs)
	}
	return res.Outputs[0].Data.([]float32)
}

func near(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// The served model returns what torch computed when the model was exported.
func TestReferenceOutputs(t *testing.T) {
	raw, err := os.ReadFile("../models/cnn-test/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Shape []int64
		Input []float32
		Probs []float32
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	r, _ := testRepo(t, nil)
	res, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: []Tensor{{Name: "input", DataType: FP32, Shape: ref.Shape, Data: ref.Input}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := probs(t, res); !near(got, ref.Probs, 1e-5) {
		t.Errorf("ORT output differs from torch:\n got %v\nwant %v", got[:10], ref.Probs[:10])
	}
	if res.Version != "1" || res.Outputs[0].Shape[0] != ref.Shape[0] || res.Outputs[0].Shape[1] != 10 {
		t.Errorf("result %s shape %v", res.Version, res.Outputs[0].Shape)
	}
}

// Under 64 concurrent callers the batcher merges requests, and every caller
// still gets exactly the rows it would get alone.
func TestBatchedEqualsUnbatched(t *testing.T) {
	r, m := testRepo(t, func(s string) string { return strings.Replace(s, "max_queue_delay: 2ms", "max_queue_delay: 5ms", 1) })
	const callers = 64
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := make([]Tensor, callers)
	want := make([][]float32, callers)
	for i := range inputs {
		inputs[i] = image(1+i%3, rng)
		res, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: []Tensor{inputs[i]}})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = probs(t, res)
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for round := 0; round < 3; round++ {
		for i := range inputs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: []Tensor{inputs[i]}})
				if err != nil {
					errs <- err
					return
				}
				if got := res.Outputs[0].Data.([]float32); !near(got, want[i], 1e-5) {
					errs <- errors.New("batched result differs from the unbatched one")
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Batching really happened: fewer ORT calls than requests.
	calls, rows := histogramCountSum(t, m)
	requests := float64(callers) * 4
	if calls >= requests {
		t.Errorf("%v ORT calls for %v requests: nothing was batched", calls, requests)
	}
	t.Logf("%v requests (%v rows) ran in %v ORT calls", requests, rows, calls)
}

func histogramCountSum(t *testing.T, m *Metrics) (float64, float64) {
	t.Helper()
	h, err := m.batchSize.GetMetricWithLabelValues("cnn-test")
	if err != nil {
		t.Fatal(err)
	}
	pb := metricProto(t, h.(prometheus.Metric))
	return float64(pb.GetHistogram().GetSampleCount()), pb.GetHistogram().GetSampleSum()
}

func TestInvalidInputs(t *testing.T) {
	r, _ := testRepo(t, nil)
	ok := image(1, rand.New(rand.NewPCG(3, 4)))
	cases := []struct {
		name   string
		inputs []Tensor
		want   string
	}{
		{"wrong dtype", []Tensor{{Name: "input", DataType: INT64, Shape: ok.Shape, Data: make([]int64, 784)}}, `input "input": datatype INT64, expected FP32`},
		{"wrong rank", []Tensor{{Name: "input", DataType: FP32, Shape: []int64{1, 784}, Data: make([]float32, 784)}}, `input "input": shape [1 784], expected [N, 1, 28, 28]`},
		{"wrong dim", []Tensor{{Name: "input", DataType: FP32, Shape: []int64{1, 1, 28, 27}, Data: make([]float32, 756)}}, `input "input": shape [1 1 28 27]`},
		{"element count", []Tensor{{Name: "input", DataType: FP32, Shape: ok.Shape, Data: make([]float32, 700)}}, `tensor "input": shape [1 1 28 28] needs 784 elements, got 700`},
		{"missing", nil, `input "input" is missing`},
		{"unknown input", []Tensor{ok, {Name: "extra", DataType: FP32, Shape: []int64{1}, Data: []float32{1}}}, `input "extra" is not an input of the model`},
		{"batch too big", []Tensor{{Name: "input", DataType: FP32, Shape: []int64{65, 1, 28, 28}, Data: make([]float32, 65*784)}}, "exceeds the model's max_batch_size 64"},
		{"zero batch", []Tensor{{Name: "input", DataType: FP32, Shape: []int64{0, 1, 28, 28}, Data: []float32{}}}, `input "input": shape [0 1 28 28]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: c.inputs})
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalidInput containing %q", err, c.want)
			}
		})
	}
}

func TestUnknownModelAndVersion(t *testing.T) {
	r, _ := testRepo(t, nil)
	in := []Tensor{image(1, rand.New(rand.NewPCG(5, 6)))}
	for _, req := range []Request{{Model: "nope", Inputs: in}, {Model: "cnn-test", Version: "7", Inputs: in}} {
		if _, err := r.Infer(context.Background(), req); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("%+v: got %v, want ErrModelNotFound", req.Model+"/"+req.Version, err)
		}
	}
	if v, _, err := r.Config("cnn-test", ""); err != nil || v != "1" {
		t.Errorf("Config newest: %q %v", v, err)
	}
}

// hold makes the model's single session block before its next batch: the
// returned running channel is closed once a batch is being held, and release
// lets it and everything after it run.
func hold(t *testing.T, r *Repository) (running <-chan struct{}, release func()) {
	t.Helper()
	m, err := r.lookup("cnn-test", "")
	if err != nil {
		t.Fatal(err)
	}
	gate, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func() { once.Do(func() { close(started) }); <-gate }
	m.beforeRun.Store(&hook)
	var rel sync.Once
	return started, func() { rel.Do(func() { close(gate) }) }
}

// occupy starts one request and waits until the held session is running it.
func occupy(t *testing.T, r *Repository, running <-chan struct{}, in []Tensor) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); errc <- err }()
	select {
	case <-running:
	case <-time.After(5 * time.Second):
		t.Fatal("the session never started the first batch")
	}
	return errc
}

func TestQueueFull(t *testing.T) {
	r, _ := testRepo(t, func(s string) string { return strings.Replace(s, "max_queue_size: 2048", "max_queue_size: 2", 1) })
	running, release := hold(t, r)
	defer release()
	in := []Tensor{image(1, rand.New(rand.NewPCG(7, 8)))}
	first := occupy(t, r, running, in)
	var wg sync.WaitGroup
	var served atomic.Int32
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); err == nil {
				served.Add(1)
			}
		}()
	}
	waitFor(t, func() bool { m, _ := r.lookup("cnn-test", ""); return m.depth.Load() == 2 })
	if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third request: got %v, want ErrQueueFull", err)
	}
	release()
	wg.Wait()
	if err := <-first; err != nil {
		t.Error(err)
	}
	if served.Load() != 2 {
		t.Errorf("the 2 admitted requests must be served, got %d", served.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDeadlineAndCancellation(t *testing.T) {
	r, metrics := testRepo(t, nil)
	running, release := hold(t, r)
	defer release()
	in := []Tensor{image(1, rand.New(rand.NewPCG(9, 10)))}
	first := occupy(t, r, running, in)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.Infer(ctx, Request{Model: "cnn-test", Inputs: in}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 5*time.Second { // a hang guard, not a timing target
		t.Errorf("deadline honoured only after %v", el)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel2() }()
	if _, err := r.Infer(ctx2, Request{Model: "cnn-test", Inputs: in}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want Canceled", err)
	}
	// Both requests are still queued; once sessions free up they are dropped, not run.
	release()
	waitFor(t, func() bool {
		return testutil.ToFloat64(metrics.requests.WithLabelValues("cnn-test", "cancelled")) == 2
	})
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	calls, _ := histogramCountSum(t, metrics)
	if calls != 1 {
		t.Errorf("%v ORT calls: the cancelled requests must not run", calls)
	}
	// A live request after them is served normally.
	if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); err != nil {
		t.Fatal(err)
	}
}

// Reload with a new version while requests flow: none fail, and the newest
// version serves afterwards; closing under load answers every admitted request.
func TestReloadAndCloseUnderLoad(t *testing.T) {
	r, _ := testRepo(t, nil)
	in := []Tensor{image(1, rand.New(rand.NewPCG(11, 12)))}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures, served atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); err != nil {
					failures.Add(1)
				} else {
					served.Add(1)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	v1 := filepath.Join(r.dir, "cnn-test", "1")
	v2 := filepath.Join(r.dir, "cnn-test", "2")
	if err := os.MkdirAll(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	target, _ := os.Readlink(filepath.Join(v1, "model.onnx"))
	os.Symlink(target, filepath.Join(v2, "model.onnx"))
	cfg, _ := os.ReadFile(filepath.Join(v1, "config.yaml"))
	os.WriteFile(filepath.Join(v2, "config.yaml"), cfg, 0o644)
	// Changing v1's config forces it to be reloaded too.
	os.WriteFile(filepath.Join(v1, "config.yaml"), []byte(strings.Replace(string(cfg), "max_queue_delay: 2ms", "max_queue_delay: 1ms", 1)), 0o644)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d requests failed across the reload (%d served)", failures.Load(), served.Load())
	}
	res, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in})
	if err != nil || res.Version != "2" {
		t.Fatalf("after reload: version %v, err %v", res, err)
	}
	// A config error on reload keeps what is serving.
	os.WriteFile(filepath.Join(v2, "config.yaml"), []byte("max_batch_size: x\n"), 0o644)
	if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "config.yaml") {
		t.Errorf("bad reload: %v", err)
	}
	if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); err != nil {
		t.Errorf("serving after a failed reload: %v", err)
	}
}

func TestCloseFinishesAdmitted(t *testing.T) {
	r, _ := testRepo(t, nil)
	running, release := hold(t, r)
	defer release()
	in := []Tensor{image(1, rand.New(rand.NewPCG(13, 14)))}
	first := occupy(t, r, running, in)
	var wg sync.WaitGroup
	errs := make(chan error, 17)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in})
			errs <- err
		}()
	}
	waitFor(t, func() bool { m, _ := r.lookup("cnn-test", ""); return m.depth.Load() == 16 })
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	time.Sleep(10 * time.Millisecond)
	release()
	<-done
	wg.Wait()
	errs <- <-first
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("admitted request lost on close: %v", err)
		}
	}
	if _, err := r.Infer(context.Background(), Request{Model: "cnn-test", Inputs: in}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("after close: %v, want ErrUnavailable", err)
	}
}
