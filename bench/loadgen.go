// Package bench measures Fenzhen: a load generator with closed-loop
// (fixed concurrency) and open-loop (fixed arrival rate) modes, and
// side-by-side comparisons printed as ratios from one run.
package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Stats summarise one load run.
type Stats struct {
	Name       string
	Requests   int // completed without error
	Errors     int
	Duration   time.Duration
	Throughput float64 // successful requests per second
	P50, P95   time.Duration
	P99, Max   time.Duration
	// ItemsPerRequest scales Throughput to items/s (rows per request).
	ItemsPerRequest int
}

// ItemsPerSecond is Throughput × ItemsPerRequest.
func (s Stats) ItemsPerSecond() float64 { return s.Throughput * float64(max(s.ItemsPerRequest, 1)) }

func (s Stats) String() string {
	return fmt.Sprintf("%-34s %9.0f req/s  p50 %7s  p95 %7s  p99 %7s  errors %d/%d",
		s.Name, s.Throughput, round(s.P50), round(s.P95), round(s.P99), s.Errors, s.Requests+s.Errors)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// recorder collects latencies from many goroutines.
type recorder struct {
	mu      sync.Mutex
	lat     []time.Duration
	errors  int
	lastErr error
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	if err != nil {
		r.errors++
		r.lastErr = err
	} else {
		r.lat = append(r.lat, d)
	}
	r.mu.Unlock()
}

func (r *recorder) stats(name string, el time.Duration) Stats {
	slices.Sort(r.lat)
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	s := Stats{Name: name, Requests: len(r.lat), Errors: r.errors, Duration: el,
		Throughput: float64(len(r.lat)) / el.Seconds(), P50: pct(0.50), P95: pct(0.95), P99: pct(0.99)}
	if len(r.lat) > 0 {
		s.Max = r.lat[len(r.lat)-1]
	}
	return s
}

// Closed runs fn from `concurrency` goroutines back to back for d (after a
// warm-up of d/5 that is not counted).
func Closed(ctx context.Context, name string, concurrency int, d time.Duration, fn func(context.Context) error) (Stats, error) {
	run := func(d time.Duration, rec *recorder) time.Duration {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		start := time.Now()
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					t := time.Now()
					err := fn(ctx)
					if ctx.Err() != nil {
						return // cut off by the end of the run, not a failure
					}
					rec.add(time.Since(t), err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	run(d/5, &recorder{})
	var rec recorder
	el := run(d, &rec)
	s := rec.stats(name, el)
	if s.Requests == 0 && rec.lastErr != nil {
		return s, fmt.Errorf("%s: every request failed: %w", name, rec.lastErr)
	}
	return s, nil
}

// Open sends requests at a fixed rate for d, whatever the latency: each
// latency counts from the request's scheduled start, so a stalled server
// shows up in the percentiles (no coordinated omission). At most maxInFlight
// requests are outstanding; arrivals beyond that count as errors.
func Open(ctx context.Context, name string, rate float64, d time.Duration, maxInFlight int, fn func(context.Context) error) (Stats, error) {
	if rate <= 0 {
		return Stats{}, fmt.Errorf("rate must be positive")
	}
	var rec recorder
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	sem := make(chan struct{}, maxInFlight)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		select {
		case sem <- struct{}{}:
		default:
			rec.add(0, fmt.Errorf("more than %d requests in flight", maxInFlight))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(ctx)
			rec.add(time.Since(at), err)
			<-sem
		}()
	}
	wg.Wait()
	return rec.stats(name, time.Since(start)), nil
}
