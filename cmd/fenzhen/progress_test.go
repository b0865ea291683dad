package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/inference"
)

func TestFormatProgress(t *testing.T) {
	for _, c := range []struct {
		label       string
		done, total int64
		unit        string
		elapsed     time.Duration
		final       bool
		want        string
	}{
		{"eval imaging", 120, 500, "images", 3 * time.Second, false, "eval imaging: 120/500 images (24.0%), 40.0/s, 3s elapsed, ETA 9.5s"},
		{"eval imaging", 500, 500, "images", 12500 * time.Millisecond, true, "eval imaging: 500/500 images (100.0%), 40.0/s, done in 12.5s"},
		{"index kg.bleve", 0, 0, "", 1234 * time.Millisecond, false, "index kg.bleve: 1.2s elapsed"},
		{"index kg.bleve", 0, 0, "", 1234 * time.Millisecond, true, "index kg.bleve: done in 1.2s"},
		{"eval triage", 7, 0, "cases", 2 * time.Second, false, "eval triage: 7 cases, 3.50/s, 2s elapsed"},
		{"bench", 0, 8, "runs", 90 * time.Second, false, "bench: 0/8 runs (0.0%), 1m30s elapsed"},
		{"train", 3000, 4000, "", 75 * time.Minute, false, "train: 3000/4000 (75.0%), 0.67/s, 1h15m0s elapsed, ETA 25m0s"},
	} {
		if got := formatProgress(c.label, c.done, c.total, c.unit, c.elapsed, c.final); got != c.want {
			t.Errorf("formatProgress(%q, %d, %d)\n got %q\nwant %q", c.label, c.done, c.total, got, c.want)
		}
	}
}

func TestBar(t *testing.T) {
	for _, c := range []struct {
		done, total int64
		want        string
	}{{0, 10, "[..........]"}, {5, 10, "[#####.....]"}, {10, 10, "[##########]"}, {15, 10, "[##########]"}, {1, 3, "[###.......]"}} {
		if got := bar(c.done, c.total, 10); got != c.want {
			t.Errorf("bar(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}

// fakeClock advances only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe to write from the ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// Without a terminal: whole lines, one per phase and a final one, no \r.
func TestProgressPlainLog(t *testing.T) {
	var out syncBuffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := startProgress(&out, false, time.Hour, clk.now, "bench", 2, "runs")
	p.Phase("bench [1/2] raw ORT")
	clk.add(10 * time.Second)
	p.Add(1)
	p.Phase("bench [2/2] server")
	clk.add(10 * time.Second)
	p.Add(1)
	p.Done()
	p.Done() // idempotent
	want := "bench [1/2] raw ORT: 0/2 runs (0.0%), 0s elapsed\n" +
		"bench [2/2] server: 1/2 runs (50.0%), 0.10/s, 10s elapsed, ETA 10s\n" +
		"bench [2/2] server: 2/2 runs (100.0%), 0.10/s, done in 20s\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// On a terminal: the line is redrawn in place with \r, blanks what a longer
// previous line left, and the final line ends with a newline.
func TestProgressTerminalRedraw(t *testing.T) {
	var out syncBuffer
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := startProgress(&out, true, time.Hour, clk.now, "eval imaging", 4, "images")
	clk.add(time.Second)
	p.Add(2)
	p.render(false)
	p.Phase("x")
	clk.add(time.Second)
	p.Add(2)
	p.Done()
	got := out.String()
	first := "\reval imaging: 2/4 images (50.0%), 2.00/s, 1s elapsed, ETA 1s [##########..........]"
	if !strings.HasPrefix(got, first) {
		t.Fatalf("first redraw %q, want prefix %q", got, first)
	}
	final := "\rx: 4/4 images (100.0%), 2.00/s, done in 2s"
	rest := got[len(first):]
	if !strings.HasPrefix(rest, final) || !strings.HasSuffix(rest, "\n") {
		t.Fatalf("final redraw %q", rest)
	}
	if pad := strings.TrimSuffix(rest[len(final):], "\n"); len(pad) != len([]rune(first))-1-len(final)+1 || strings.Trim(pad, " ") != "" {
		t.Errorf("final line should blank the longer previous one, got padding %q", pad)
	}
	if strings.Count(got, "\n") != 1 {
		t.Errorf("want one newline, at the end: %q", got)
	}
}

type rowsRunner struct{ calls int }

func (r *rowsRunner) Infer(ctx context.Context, req inference.Request) (*inference.Result, error) {
	r.calls++
	return &inference.Result{}, nil
}
func (r *rowsRunner) Config(model, version string) (string, *inference.ModelConfig, error) {
	return "1", nil, nil
}

func TestProgressRunnerCountsRows(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := startProgress(&syncBuffer{}, false, time.Hour, clk.now, "eval", 100, "images")
	inner := &rowsRunner{}
	r := progressRunner{inner, p}
	for _, n := range []int64{64, 36} {
		if _, err := r.Infer(context.Background(), inference.Request{Inputs: []inference.Tensor{{Shape: []int64{n, 1, 28, 28}}}}); err != nil {
			t.Fatal(err)
		}
	}
	p.Done()
	if p.done != 100 || inner.calls != 2 {
		t.Errorf("counted %d rows over %d calls, want 100 over 2", p.done, inner.calls)
	}
}
