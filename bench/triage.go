package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// TriageServer is a running server under test: its base URL and how to stop it.
type TriageServer struct {
	Base string
	Stop func()
}

// TriageOptions configure `fenzhen bench --workload triage`.
type TriageOptions struct {
	Concurrency int
	Duration    time.Duration
	Bodies      [][]byte // pre-encoded POST /v1/triage bodies, sent in rotation
	// Start serves the full stack with the audit log on or off.
	Start func(audit bool) (TriageServer, error)
	// Python runs the FastAPI + jieba + PyTorch peer
	// (bench/fastapi/triage_server.py); "" skips it.
	Python string
	// Profile, when set, is called around the audited run at Concurrency;
	// it returns the function that ends the profile.
	Profile func() func()
}

// TriageRun is one measured run and the process CPU it took.
type TriageRun struct {
	Stats
	// CPUPerRequest is this process's CPU (user + system) divided by the
	// requests answered: server and load generator together, so it is
	// comparable between runs of the same process whatever else the machine
	// runs. Zero for the peer, which runs in its own process.
	CPUPerRequest time.Duration
	// RowsPerRun is the mean batch of the triage models' ONNX Runtime calls
	// (from the server's /metrics): each call has a fixed cost, so fewer
	// rows per call is more CPU per request.
	RowsPerRun float64
}

// TriageReport is the triage comparison of one run.
type TriageReport struct {
	Concurrency int
	One         TriageRun  // audit on, one client
	Audited     TriageRun  // audit on (the default)
	NoAudit     TriageRun  // FENZHEN_AUDIT_PATH=off
	AuditedBis  TriageRun  // audit on again, after the audit-off run, so drift shows
	Peer        *TriageRun // nil when the peer could not start
	PeerErr     string
}

// Triage measures POST /v1/triage: one client and Concurrency clients with the
// audit log on, Concurrency with it off, on again, and the FastAPI peer on the
// same texts.
func Triage(ctx context.Context, o TriageOptions, progress func(string)) (*TriageReport, error) {
	rep := &TriageReport{Concurrency: o.Concurrency}
	for _, step := range []struct {
		audit bool
		runs  []*TriageRun
	}{
		{true, []*TriageRun{&rep.One, &rep.Audited}},
		{false, []*TriageRun{&rep.NoAudit}},
		{true, []*TriageRun{&rep.AuditedBis}},
	} {
		srv, err := o.Start(step.audit)
		if err != nil {
			return nil, err
		}
		for _, dst := range step.runs {
			c, name := o.Concurrency, fmt.Sprintf("fenzhen, audit log on, concurrency %d", o.Concurrency)
			if dst == &rep.One {
				c, name = 1, "fenzhen, audit log on, concurrency 1"
			}
			if !step.audit {
				name = fmt.Sprintf("fenzhen, audit log off, concurrency %d", o.Concurrency)
			}
			progress(name)
			var stopProfile func()
			if dst == &rep.Audited && o.Profile != nil {
				stopProfile = o.Profile()
			}
			calls, rows := batchTotals(srv.Base)
			*dst, err = measure(ctx, name, c, o.Duration, postBodies(srv.Base+"/v1/triage", o.Bodies))
			if c2, r2 := batchTotals(srv.Base); c2 > calls {
				dst.RowsPerRun = (r2 - rows) / (c2 - calls)
			}
			if stopProfile != nil {
				stopProfile()
			}
			if err != nil {
				srv.Stop()
				return nil, err
			}
		}
		srv.Stop()
	}
	if o.Python != "" {
		progress("FastAPI + jieba + PyTorch peer")
		r, err := triagePeer(ctx, o)
		if err != nil {
			rep.PeerErr = err.Error()
		} else {
			rep.Peer = &r
		}
	}
	return rep, nil
}

// measure runs a closed loop and charges this process's CPU to it.
func measure(ctx context.Context, name string, c int, d time.Duration, fn func(context.Context) error) (TriageRun, error) {
	before := processCPU()
	s, err := Closed(ctx, name, c, d, fn)
	used := processCPU() - before
	r := TriageRun{Stats: s}
	if s.Requests > 0 {
		// Closed runs a warm-up of d/5 before the measured d.
		r.CPUPerRequest = time.Duration(float64(used) / (float64(s.Requests) * 1.2))
	}
	return r, err
}

// batchTotals reads the count and sum of fenzhen_inference_batch_size over
// the triage models from /metrics (zeros when it cannot).
func batchTotals(base string) (calls, rows float64) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "fenzhen_inference_batch_size_") || !strings.Contains(line, `model="triage-`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, "fenzhen_inference_batch_size_count"):
			calls += v
		case strings.HasPrefix(line, "fenzhen_inference_batch_size_sum"):
			rows += v
		}
	}
	return calls, rows
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postBodies posts the bodies in rotation and discards the answers: decoding
// them would charge the server's CPU budget with the client's work.
func postBodies(url string, bodies [][]byte) func(context.Context) error {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	var next atomic.Uint64
	return func(ctx context.Context) error {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// triagePeer serves bench/fastapi/triage_server.py under uvicorn and drives
// it with the same bodies.
func triagePeer(ctx context.Context, o TriageOptions) (TriageRun, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return TriageRun{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(o.Python, "-m", "uvicorn", "--app-dir", "bench/fastapi", "triage_server:app",
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--log-level", "warning")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return TriageRun{}, fmt.Errorf("start FastAPI triage peer: %w", err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHealthy(base+"/healthz", 120*time.Second); err != nil {
		return TriageRun{}, fmt.Errorf("FastAPI triage peer: %w (needs Debian python3-fastapi, uvicorn, python3-torch, python3-onnx, python3-jieba, python3-yaml: make setup-train)", err)
	}
	// One pass over the bodies first: the peer must answer every one.
	post := postBodies(base+"/v1/triage", o.Bodies)
	for range o.Bodies {
		if err := post(ctx); err != nil {
			return TriageRun{}, fmt.Errorf("FastAPI triage peer preflight: %w", err)
		}
	}
	s, err := Closed(ctx, fmt.Sprintf("FastAPI + jieba + PyTorch, concurrency %d", o.Concurrency), o.Concurrency, o.Duration, post)
	return TriageRun{Stats: s}, err
}

func waitHealthy(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready in %s", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Markdown renders the triage comparison.
func (r *TriageReport) Markdown(command, ortVersion string) string {
	var b []byte
	add := func(format string, a ...any) { b = fmt.Appendf(b, format, a...) }
	add("## Triage: POST /v1/triage, audit log on and off, vs a FastAPI + jieba + PyTorch peer (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	add("- Command: `%s`\n- Machine: %s; ONNX Runtime %s\n", command, Machine(), ortVersion)
	add("- 10 colloquial complaints in rotation, JSON over loopback HTTP, closed loop; committed defaults (three triage models, admission control, audit log in a fresh SQLite file); the load generator runs in the same process. CPU per request is this process's user + system time over the run (server and generator), which other work on the machine does not inflate.\n\n")
	add("| run | req/s | p50 | p95 | p99 | errors | CPU per request | rows per ORT call |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	rows := []TriageRun{r.One, r.Audited, r.NoAudit, r.AuditedBis}
	if r.Peer != nil {
		rows = append(rows, *r.Peer)
	}
	for _, s := range rows {
		cpu := "–"
		if s.CPUPerRequest > 0 {
			cpu = s.CPUPerRequest.Round(time.Microsecond).String()
		}
		rows := "–"
		if s.RowsPerRun > 0 {
			rows = fmt.Sprintf("%.1f", s.RowsPerRun)
		}
		add("| %s | %.0f | %s | %s | %s | %d | %s | %s |\n", s.Name, s.Throughput, round(s.P50), round(s.P95), round(s.P99), s.Errors, cpu, rows)
	}
	on := (r.Audited.Throughput + r.AuditedBis.Throughput) / 2
	add("\n| ratio | value |\n|---|---:|\n")
	add("| audit on ÷ audit off, req/s (mean of the two audited runs) | **%.2f×** |\n", on/r.NoAudit.Throughput)
	if r.NoAudit.CPUPerRequest > 0 {
		cpuOn := (r.Audited.CPUPerRequest + r.AuditedBis.CPUPerRequest) / 2
		add("| audit on ÷ audit off, CPU per request | %.2f× |\n", float64(cpuOn)/float64(r.NoAudit.CPUPerRequest))
	}
	if r.Peer != nil && r.Peer.Throughput > 0 {
		add("| fenzhen (audit on) ÷ FastAPI + jieba + PyTorch, req/s | **%.1f×** |\n", on/r.Peer.Throughput)
	} else {
		add("\nFastAPI peer not measured: %s\n", r.PeerErr)
	}
	return string(b)
}
