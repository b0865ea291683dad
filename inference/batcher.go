package inference

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// pending is one request waiting in a model's queue.
type pending struct {
	ctx      context.Context
	inputs   []Tensor // in config order
	rows     int64    // dim-0 size; 1 for models without a batch dimension
	enqueued time.Time
	done     chan result // buffered: the worker never blocks on a caller that left
}

type result struct {
	outputs []Tensor
	err     error
}

// model is one loaded version: its config, its session pool and the dynamic
// batcher feeding it. A scheduler goroutine forms batches only when a session
// is free, so under load batches grow by themselves up to max_batch_size
// while at low load a request waits at most max_queue_delay.
type model struct {
	name, version string
	cfg           *ModelConfig
	stamp         string // detects changes on reload
	file          string // the ONNX file its sessions were made from
	sessions      []*session
	metrics       *Metrics

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *pending
	free   chan struct{}   // one token per idle session
	work   chan []*pending // scheduler → workers
	depth  atomic.Int64    // requests waiting in queue
	wg     sync.WaitGroup
	maxRow int64

	beforeRun atomic.Pointer[func()] // test hook: runs in the worker before each batch
}

func newModel(name, version string, cfg *ModelConfig, sessions []*session, m *Metrics) *model {
	md := &model{
		name: name, version: version, cfg: cfg, sessions: sessions, metrics: m,
		queue:  make(chan *pending, cfg.Batching.MaxQueueSize),
		free:   make(chan struct{}, len(sessions)),
		work:   make(chan []*pending),
		maxRow: int64(max(cfg.MaxBatchSize, 1)),
	}
	for _, s := range sessions {
		md.free <- struct{}{}
		md.wg.Add(1)
		go md.worker(s)
	}
	md.wg.Add(1)
	go md.schedule()
	return md
}

// enqueue admits a request or refuses it at once when the queue is full.
func (m *model) enqueue(p *pending) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return errRetired
	}
	select {
	case m.queue <- p:
		m.metrics.queueDepth.WithLabelValues(m.name).Set(float64(m.depth.Add(1)))
		return nil
	default:
		return fmt.Errorf("%w: %s has %d requests waiting", ErrQueueFull, m.name, cap(m.queue))
	}
}

// close stops admitting requests, lets every admitted one finish, then frees the sessions.
func (m *model) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.queue)
	m.mu.Unlock()
	m.wg.Wait()
	for _, s := range m.sessions {
		s.close()
	}
}

func (m *model) dequeued() {
	m.metrics.queueDepth.WithLabelValues(m.name).Set(float64(m.depth.Add(-1)))
}

func (m *model) schedule() {
	defer m.wg.Done()
	defer close(m.work)
	delay := time.Duration(m.cfg.Batching.MaxQueueDelay)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var carry *pending
	for {
		<-m.free // wait for an idle session before closing a batch
		first := carry
		carry = nil
		if first == nil {
			p, ok := <-m.queue
			if !ok {
				return
			}
			m.dequeued()
			first = p
		}
		batch := []*pending{first}
		rows := first.rows
		open := true
		deadline := first.enqueued.Add(delay)
	collect:
		for rows < m.maxRow {
			var p *pending
			var ok bool
			select {
			case p, ok = <-m.queue:
			default:
				// Nothing waiting: stop at a preferred size, else wait out the delay.
				if slices.Contains(m.cfg.Batching.PreferredBatchSizes, int(rows)) {
					break collect
				}
				wait := time.Until(deadline)
				if wait <= 0 {
					break collect
				}
				timer.Reset(wait)
				select {
				case p, ok = <-m.queue:
					timer.Stop() // Go ≥ 1.23: no stale tick to drain
				case <-timer.C:
					break collect
				}
			}
			if !ok {
				open = false
				break collect
			}
			m.dequeued()
			if p.ctx.Err() != nil {
				p.done <- result{err: p.ctx.Err()}
				m.metrics.requests.WithLabelValues(m.name, "cancelled").Inc()
				continue
			}
			if rows+p.rows > m.maxRow || !sameTrailingShapes(first, p) {
				carry = p
				break collect
			}
			batch = append(batch, p)
			rows += p.rows
		}
		m.work <- batch
		if !open {
			return
		}
	}
}

func sameTrailingShapes(a, b *pending) bool {
	for i := range a.inputs {
		if !slices.Equal(a.inputs[i].Shape[1:], b.inputs[i].Shape[1:]) {
			return false
		}
	}
	return true
}

func (m *model) worker(s *session) {
	defer m.wg.Done()
	for batch := range m.work {
		if hook := m.beforeRun.Load(); hook != nil {
			(*hook)()
		}
		m.runBatch(s, batch)
		m.free <- struct{}{}
	}
}

// runBatch drops requests whose callers gave up, runs the rest as one call
// and hands each caller its rows of every output.
//
// When a batched Run fails, one bad input (an index out of range, a value
// the graph rejects) would fail every request that happened to share its
// batch, so the requests are run again one at a time on the same session
// and only the ones that fail alone get the error. The cost falls on failed
// batches only: the failed call plus one call per request, during which this
// session serves nothing else (the other sessions go on); a model whose every
// Run fails (a broken session) pays it on each batch, which is no worse than
// the one-request batches it gets at low load.
func (m *model) runBatch(s *session, batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.done <- result{err: err}
			m.metrics.requests.WithLabelValues(m.name, "cancelled").Inc()
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	now := time.Now()
	for _, p := range live {
		m.metrics.queueWait.WithLabelValues(m.name).Observe(now.Sub(p.enqueued).Seconds())
	}
	m.run(s, live)
}

// run runs live as one call; when that fails and live holds more than one
// request, each is run again alone.
func (m *model) run(s *session, live []*pending) {
	var rows int64
	for _, p := range live {
		rows += p.rows
	}
	inputs, err := m.joinInputs(live, rows)
	var outputs []Tensor
	if err == nil {
		start := time.Now()
		outputs, err = s.run(inputs)
		m.metrics.inferDuration.WithLabelValues(m.name).Observe(time.Since(start).Seconds())
		m.metrics.batchSize.WithLabelValues(m.name).Observe(float64(rows))
	}
	if err == nil && m.cfg.MaxBatchSize > 0 {
		for _, o := range outputs {
			if len(o.Shape) == 0 || o.Shape[0] != rows {
				err = fmt.Errorf("output %q has shape %v, expected %d rows", o.Name, o.Shape, rows)
				break
			}
		}
	}
	if err != nil && len(live) > 1 {
		for _, p := range live {
			if err := p.ctx.Err(); err != nil {
				m.metrics.requests.WithLabelValues(m.name, "cancelled").Inc()
				p.done <- result{err: err}
				continue
			}
			m.run(s, []*pending{p})
		}
		return
	}
	if err != nil {
		err = fmt.Errorf("%w: %s: %v", ErrUnavailable, m.name, err)
		// Count before answering, so a client that reads /metrics right
		// after its response sees its own request.
		m.metrics.requests.WithLabelValues(m.name, "error").Add(float64(len(live)))
		for _, p := range live {
			p.done <- result{err: err}
		}
		return
	}
	if len(live) == 1 {
		m.metrics.requests.WithLabelValues(m.name, "ok").Inc()
		live[0].done <- result{outputs: outputs}
		return
	}
	m.metrics.requests.WithLabelValues(m.name, "ok").Add(float64(len(live)))
	var at int64
	for _, p := range live {
		mine := make([]Tensor, len(outputs))
		for i := range outputs {
			mine[i] = sliceRows(&outputs[i], at, at+p.rows)
		}
		at += p.rows
		p.done <- result{outputs: mine}
	}
}

func (m *model) joinInputs(live []*pending, rows int64) ([]Tensor, error) {
	if len(live) == 1 {
		return live[0].inputs, nil
	}
	joined := make([]Tensor, len(m.cfg.Inputs))
	parts := make([]*Tensor, len(live))
	for i := range joined {
		for j, p := range live {
			parts[j] = &p.inputs[i]
		}
		t, err := concatRows(parts, rows)
		if err != nil {
			return nil, err
		}
		joined[i] = t
	}
	return joined, nil
}
