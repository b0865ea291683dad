package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WriterOptions tune a Writer; zero values take the defaults.
type WriterOptions struct {
	QueueSize  int           // entries waiting for the database (4096)
	BatchSize  int           // most entries per transaction (256)
	FlushEvery time.Duration // longest an entry waits for its batch to fill (100ms)
	// Retries of a failed batch, with growing pauses, before its entries are
	// counted as lost (3).
	Retries    int
	Registerer prometheus.Registerer // nil: no metrics
	Logger     *slog.Logger          // nil: slog.Default()
}

// Writer takes entries from request goroutines and inserts them in batches
// from one goroutine, so a request pays for a channel send, not a database
// write.
//
// Nothing accepted is dropped: when the queue is full Record waits (back-
// pressure) rather than discarding, and Close drains the queue and commits
// it. A batch the database refuses is retried; when the retries fail too its
// entries are logged by count (never content) and counted in
// fenzhen_audit_write_errors_total, and the writer carries on: a broken audit
// disk must not stop triage.
type Writer struct {
	insert  func(context.Context, []Entry) error // Store.Insert; tests stub it
	opt     WriterOptions
	log     *slog.Logger
	ch      chan Entry
	full    chan struct{} // Record → run: a batch is waiting, stop sleeping
	closing chan struct{} // closed by Close: write what is queued without sleeping
	done    chan struct{}

	mu     sync.RWMutex // Record holds it shared while sending; Close exclusively to close ch
	closed bool
	lost   atomic.Int64

	written prometheus.Counter
	errors  prometheus.Counter
}

// NewWriter starts a writer on st.
func NewWriter(st *Store, opt WriterOptions) *Writer {
	if opt.QueueSize <= 0 {
		opt.QueueSize = 4096
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 256
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 100 * time.Millisecond
	}
	if opt.Retries <= 0 {
		opt.Retries = 3
	}
	w := &Writer{
		insert:  st.Insert,
		opt:     opt,
		log:     opt.Logger,
		ch:      make(chan Entry, opt.QueueSize),
		full:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fenzhen_audit_written_total",
			Help: "Audit entries committed to the audit database.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fenzhen_audit_write_errors_total",
			Help: "Audit entries lost: their batch failed after retries, or they arrived after shutdown.",
		}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if opt.Registerer != nil {
		opt.Registerer.MustRegister(w.written, w.errors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "fenzhen_audit_queue_depth",
			Help: "Audit entries waiting to be written.",
		}, func() float64 { return float64(len(w.ch)) }))
	}
	go w.run()
	return w
}

// Record queues e, waiting while the queue is full until there is room or
// ctx ends. It fails only with ctx's error or ErrClosed.
func (w *Writer) Record(ctx context.Context, e Entry) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.lose(1)
		return ErrClosed
	}
	select {
	case w.ch <- e:
		if len(w.ch) >= w.opt.BatchSize {
			w.wake()
		}
		return nil
	default:
	}
	w.wake() // the queue is full: the writer must not sleep out its timer
	select {
	case w.ch <- e:
		return nil
	case <-ctx.Done():
		w.lose(1)
		return fmt.Errorf("audit: queue full: %w", ctx.Err())
	}
}

// Close stops taking entries, writes every queued one and returns when they
// are committed (or counted as lost, in which case it says how many).
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
		close(w.closing)
	}
	w.mu.Unlock()
	<-w.done
	if n := w.lost.Load(); n > 0 {
		return fmt.Errorf("audit: %d entries could not be written", n)
	}
	return nil
}

func (w *Writer) lose(n int) {
	w.lost.Add(int64(n))
	w.errors.Add(float64(n))
}

// run writes the queue in batches. After the first entry of a batch it
// sleeps until FlushEvery has passed or Record reports a full batch, then
// takes what is queued: a receiver parked on the queue would be woken by
// every Record (a goroutine switch per request on the request's CPU), while
// a buffered send with nobody waiting costs only the copy.
func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Entry, 0, w.opt.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e, ok := <-w.ch
		if !ok {
			return
		}
		batch = append(batch, e)
		if len(w.ch) < w.opt.BatchSize-1 { // else a full batch is already queued
			w.sleep(timer)
		}
		open := true
	drain:
		for len(batch) < w.opt.BatchSize {
			select {
			case e, ok := <-w.ch:
				if !ok {
					open = false
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		w.flush(batch)
		clear(batch) // drop references to request text
		batch = batch[:0]
		if !open {
			return
		}
	}
}

// sleep waits until FlushEvery has passed, a full batch is queued or Close
// has begun.
func (w *Writer) sleep(timer *time.Timer) {
	timer.Reset(w.opt.FlushEvery)
	select {
	case <-timer.C:
		return
	case <-w.full:
	case <-w.closing:
	}
	timer.Stop()
}

// wake tells run that a full batch is waiting.
func (w *Writer) wake() {
	select {
	case w.full <- struct{}{}:
	default: // already told
	}
}

// flush inserts a batch, retrying with pauses of 50ms, 200ms, 800ms….
func (w *Writer) flush(batch []Entry) {
	pause := 50 * time.Millisecond
	var err error
	for attempt := 0; attempt <= w.opt.Retries; attempt++ {
		if attempt > 0 {
			time.Sleep(pause)
			pause *= 4
		}
		// Not tied to a request or to shutdown: accepted entries are written.
		if err = w.insert(context.Background(), batch); err == nil {
			w.written.Add(float64(len(batch)))
			return
		}
		w.log.Warn("audit write failed", "entries", len(batch), "attempt", attempt+1, "err", err)
	}
	w.lose(len(batch))
	w.log.Error("audit entries lost", "entries", len(batch), "err", err)
}
