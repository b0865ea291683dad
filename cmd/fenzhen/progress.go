package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fenzhen/fenzhen/inference"
)

// progress reports a long job on stderr. On a terminal it redraws one line
// (count/total, bar, rate, ETA) a few times a second; otherwise (CI logs,
// redirected output) it writes a plain line every plainEvery, so short jobs
// print only their final line. Safe for concurrent Add. FENZHEN_PROGRESS=off
// silences it.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	off     bool
	label   string
	unit    string
	total   int64 // 0: unknown, only the count and elapsed time are shown
	done    int64
	start   time.Time
	now     func() time.Time
	width   int // characters of the last redrawn line, to blank it
	stop    chan struct{}
	stopped sync.WaitGroup
}

const (
	ttyEvery   = 200 * time.Millisecond
	plainEvery = 10 * time.Second
)

// newProgress starts reporting label; total 0 means unknown.
func newProgress(label string, total int64, unit string) *progress {
	if os.Getenv("FENZHEN_PROGRESS") == "off" {
		return &progress{off: true, stop: make(chan struct{})}
	}
	tty := isTerminal(os.Stderr)
	every := plainEvery
	if tty {
		every = ttyEvery
	}
	return startProgress(os.Stderr, tty, every, time.Now, label, total, unit)
}

// startProgress reports on w, redrawing (tty) or logging every interval.
func startProgress(w io.Writer, tty bool, every time.Duration, now func() time.Time, label string, total int64, unit string) *progress {
	p := &progress{w: w, tty: tty, label: label, unit: unit, total: total, now: now, start: now(), stop: make(chan struct{})}
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.render(false)
			}
		}
	}()
	return p
}

// isTerminal reports whether f is a character device (a terminal), without a
// dependency; TERM=dumb counts as no terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Add counts n more units done.
func (p *progress) Add(n int) {
	if p.off {
		return
	}
	p.mu.Lock()
	p.done += int64(n)
	p.mu.Unlock()
}

// Phase names what the job does now, for jobs made of steps.
func (p *progress) Phase(label string) {
	if p.off {
		return
	}
	p.mu.Lock()
	p.label = label
	p.mu.Unlock()
	if !p.tty {
		p.render(false) // a plain log gets a line per phase
	}
}

// Done stops the reporter and prints the final line.
func (p *progress) Done() {
	if p.off {
		return
	}
	select {
	case <-p.stop:
		return // already done
	default:
	}
	close(p.stop)
	p.stopped.Wait()
	p.render(true)
}

func (p *progress) render(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start)
	line := formatProgress(p.label, p.done, p.total, p.unit, elapsed, final)
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	if p.total > 0 && !final {
		line += " " + bar(p.done, p.total, 20)
	}
	pad := ""
	if n := p.width - len([]rune(line)); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len([]rune(line))
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s%s%s", line, pad, end)
}

// formatProgress is one report: "label: 120/500 images (24.0%), 40.0/s, 3s elapsed, ETA 9s".
func formatProgress(label string, done, total int64, unit string, elapsed time.Duration, final bool) string {
	var b strings.Builder
	b.WriteString(label)
	b.WriteString(":")
	if done > 0 || total > 0 {
		fmt.Fprintf(&b, " %d", done)
		if total > 0 {
			fmt.Fprintf(&b, "/%d", total)
		}
		if unit != "" {
			b.WriteString(" " + unit)
		}
		if total > 0 {
			fmt.Fprintf(&b, " (%.1f%%)", 100*float64(done)/float64(total))
		}
		b.WriteString(",")
	}
	sec := elapsed.Seconds()
	if done > 0 && sec > 0 {
		fmt.Fprintf(&b, " %s/s,", formatRate(float64(done)/sec))
	}
	if final {
		fmt.Fprintf(&b, " done in %s", roundDuration(elapsed))
		return b.String()
	}
	fmt.Fprintf(&b, " %s elapsed", roundDuration(elapsed))
	if total > 0 && done > 0 && done < total {
		eta := time.Duration(float64(elapsed) * float64(total-done) / float64(done))
		fmt.Fprintf(&b, ", ETA %s", roundDuration(eta))
	}
	return b.String()
}

// bar draws done/total in width cells: [#####.....].
func bar(done, total int64, width int) string {
	n := int(float64(width) * float64(min(done, total)) / float64(total))
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func formatRate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.2f", r)
	}
}

// roundDuration keeps reports short: 850ms, 4.2s, 1m5s, 1h2m.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(10 * time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	case d < time.Hour:
		return d.Round(time.Second)
	default:
		return d.Round(time.Minute)
	}
}

// progressRunner counts the rows (first dimension of the first input) of
// every inference call, for evaluations that batch through a Runner.
type progressRunner struct {
	inference.Runner
	p *progress
}

func (r progressRunner) Infer(ctx context.Context, req inference.Request) (*inference.Result, error) {
	res, err := r.Runner.Infer(ctx, req)
	if err == nil && len(req.Inputs) > 0 && len(req.Inputs[0].Shape) > 0 {
		r.p.Add(int(req.Inputs[0].Shape[0]))
	}
	return res, err
}
