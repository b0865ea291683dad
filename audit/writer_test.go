package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Close commits everything that was accepted, from many goroutines, in batches.
func TestWriterCloseDrainsEverything(t *testing.T) {
	st := openTemp(t)
	reg := prometheus.NewRegistry()
	w := NewWriter(st, WriterOptions{QueueSize: 512, Registerer: reg, Logger: quiet})
	var batches, largest int
	var mu sync.Mutex
	insert := w.insert
	w.insert = func(ctx context.Context, es []Entry) error {
		mu.Lock()
		batches++
		largest = max(largest, len(es))
		mu.Unlock()
		return insert(ctx, es)
	}
	const goroutines, each = 8, 1250
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := w.Record(context.Background(), sample(fmt.Sprintf("g%d-%d", g, i), time.Now())); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Count(context.Background()); err != nil || n != goroutines*each {
		t.Fatalf("%d rows after Close, %v; want %d", n, err, goroutines*each)
	}
	if got := testutil.ToFloat64(w.written); got != goroutines*each {
		t.Errorf("fenzhen_audit_written_total = %v", got)
	}
	if largest > 256 || batches >= goroutines*each/2 {
		t.Errorf("%d batches, largest %d: want batches of at most 256 that group rows", batches, largest)
	}
	if n, err := testutil.GatherAndCount(reg, "fenzhen_audit_written_total", "fenzhen_audit_queue_depth", "fenzhen_audit_write_errors_total"); err != nil || n != 3 {
		t.Errorf("registered %d audit series, %v", n, err)
	}
	if err := w.Record(context.Background(), sample("late", time.Now())); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close hides the entry lost after the first")
	}
}

// A full queue makes Record wait, never drop: with the database stalled,
// 100 writers into a queue of 4 all get in once it moves again.
func TestWriterBackPressure(t *testing.T) {
	st := openTemp(t)
	w := NewWriter(st, WriterOptions{QueueSize: 4, BatchSize: 8, Logger: quiet})
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	insert := w.insert
	w.insert = func(ctx context.Context, es []Entry) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		return insert(ctx, es)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- w.Record(context.Background(), sample(fmt.Sprint(i), time.Now()))
		}()
	}
	<-entered // the writer holds one batch and the database is stalled
	for len(w.ch) < cap(w.ch) {
		time.Sleep(time.Millisecond)
	}
	// A request whose context has ended gives up instead of waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Record(ctx, sample("gave-up", time.Now())); !errors.Is(err, context.Canceled) {
		t.Fatalf("Record on a full queue with a done context: %v", err)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil {
		t.Error("Close does not report the entry that gave up")
	}
	if c, _ := st.Count(context.Background()); c != n {
		t.Fatalf("%d rows, want %d: entries were dropped", c, n)
	}
	if got := testutil.ToFloat64(w.errors); got != 1 {
		t.Errorf("write errors %v, want 1 (the one that gave up)", got)
	}
}

// A database that keeps failing costs the batch, counted, after retries; the
// writer carries on and writes the next batch once the database is back.
func TestWriterFailingDatabase(t *testing.T) {
	st := openTemp(t)
	w := NewWriter(st, WriterOptions{BatchSize: 10, Retries: 2, Logger: quiet})
	var calls int
	fail := true
	var mu sync.Mutex
	insert := w.insert
	w.insert = func(ctx context.Context, es []Entry) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if fail {
			return errors.New("disk I/O error")
		}
		return insert(ctx, es)
	}
	for i := range 10 { // exactly one batch
		w.Record(context.Background(), sample(fmt.Sprint(i), time.Now()))
	}
	for testutil.ToFloat64(w.errors) < 10 {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if calls != 3 {
		t.Errorf("%d attempts, want 1 + 2 retries", calls)
	}
	fail = false
	mu.Unlock()
	w.Record(context.Background(), sample("after", time.Now()))
	if err := w.Close(); err == nil {
		t.Error("Close reports no loss")
	}
	if c, _ := st.Count(context.Background()); c != 1 {
		t.Errorf("%d rows, want 1", c)
	}
	if got := testutil.ToFloat64(w.written); got != 1 {
		t.Errorf("written %v, want 1", got)
	}
}

// BenchmarkWriter reports sustained audit throughput into a real database.
func BenchmarkWriter(b *testing.B) {
	st := openTemp(b)
	w := NewWriter(st, WriterOptions{Logger: quiet})
	e := sample("bench", time.Now())
	e.Text = "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子"
	start := time.Now()
	for b.Loop() {
		if err := w.Record(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkRecord is what a request pays: a send into a queue with room.
func BenchmarkRecord(b *testing.B) {
	st := openTemp(b)
	w := NewWriter(st, WriterOptions{QueueSize: 1 << 20, Logger: quiet})
	e := sample("bench", time.Now())
	for b.Loop() {
		w.Record(context.Background(), e)
	}
	b.StopTimer()
	w.Close()
}
