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
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// TriageServer is a running server under test: its base URL, how to stop
// it and, for a server in a process of its own, that process's CPU time
// (nil: the server runs in this process, and this process's CPU, load
// generator included, is charged).
type TriageServer struct {
	Base string
	Stop func()
	CPU  func() time.Duration
}

// TriageVariant is one build under test, started with the audit log on or off.
type TriageVariant struct {
	Name  string
	Start func(audit bool) (TriageServer, error)
}

// TriageOptions configure `fenzhen bench --workload triage`.
type TriageOptions struct {
	Concurrency int
	Duration    time.Duration
	Bodies      [][]byte // pre-encoded POST /v1/triage bodies, sent in rotation
	// Variants are measured side by side; the first is this build, the
	// others baselines it is compared with.
	Variants []TriageVariant
	// Python runs the FastAPI + jieba + PyTorch peer
	// (bench/fastapi/triage_server.py); "" skips it.
	Python string
	// Profile, when set, is called around the first variant's first round
	// at Concurrency (audit on, then off); it returns the function that ends
	// the profile.
	Profile func(audit bool) func()
	// Rounds of audit on / audit off at Concurrency (at least 1).
	Rounds int
}

// TriageRun is one measured run and the CPU it took.
type TriageRun struct {
	Stats
	// CPUPerRequest is the server's CPU (user + system) divided by the
	// requests answered, which other work on the machine does not inflate.
	// For a server in this process it includes the load generator. Zero for
	// the peer.
	CPUPerRequest time.Duration
	// RowsPerRun is the mean batch of the triage models' ONNX Runtime calls
	// through the batcher (from the server's /metrics); zero when the heads
	// do not use it.
	RowsPerRun float64
}

// TriageVariantRuns are the runs of one variant.
type TriageVariantRuns struct {
	Name    string
	InProc  bool        // CPU includes the load generator
	One     TriageRun   // audit on, one client
	Audited []TriageRun // audit on (the default), one per round
	NoAudit []TriageRun // FENZHEN_AUDIT_PATH=off, one per round
}

// TriageReport is the triage comparison of one run.
type TriageReport struct {
	Concurrency int
	Variants    []TriageVariantRuns
	Peer        *TriageRun // nil when the peer could not start
	PeerErr     string
}

// started is one variant's two servers.
type started struct {
	on, off TriageServer
}

// Triage measures POST /v1/triage. Every variant's servers (audit on and
// off) are started first; then one client on each audited server, then
// rounds of Concurrency clients going through every variant's audited and
// unaudited server in turn, so that drift on a shared machine hits all of
// them alike; then the FastAPI peer on the same texts.
func Triage(ctx context.Context, o TriageOptions, progress func(string)) (*TriageReport, error) {
	rep := &TriageReport{Concurrency: o.Concurrency}
	var servers []started
	defer func() {
		for _, s := range servers {
			s.on.Stop()
			s.off.Stop()
		}
	}()
	for _, v := range o.Variants {
		progress("starting " + v.Name)
		on, err := v.Start(true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		off, err := v.Start(false)
		if err != nil {
			on.Stop()
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		servers = append(servers, started{on, off})
		rep.Variants = append(rep.Variants, TriageVariantRuns{Name: v.Name, InProc: on.CPU == nil})
	}
	for i := range servers {
		vr := &rep.Variants[i]
		name := vr.Name + ", audit log on, concurrency 1"
		progress(name)
		r, err := measure(ctx, name, 1, o.Duration, servers[i].on, o.Bodies)
		if err != nil {
			return nil, err
		}
		vr.One = r
	}
	for round := range max(o.Rounds, 1) {
		for i := range servers {
			vr := &rep.Variants[i]
			for _, audit := range []bool{true, false} {
				srv, dst, what := servers[i].on, &vr.Audited, "on"
				if !audit {
					srv, dst, what = servers[i].off, &vr.NoAudit, "off"
				}
				name := fmt.Sprintf("%s, audit log %s, concurrency %d", vr.Name, what, o.Concurrency)
				progress(fmt.Sprintf("round %d: %s", round+1, name))
				var stopProfile func()
				if round == 0 && i == 0 && o.Profile != nil {
					stopProfile = o.Profile(audit)
				}
				r, err := measure(ctx, name, o.Concurrency, o.Duration, srv, o.Bodies)
				if stopProfile != nil {
					stopProfile()
				}
				if err != nil {
					return nil, err
				}
				*dst = append(*dst, r)
			}
		}
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

// measure runs a closed loop on srv's /v1/triage and charges the server's
// CPU and ONNX Runtime calls to it.
func measure(ctx context.Context, name string, c int, d time.Duration, srv TriageServer, bodies [][]byte) (TriageRun, error) {
	cpu := srv.CPU
	if cpu == nil {
		cpu = processCPU
	}
	calls, rows := batchTotals(srv.Base)
	before := cpu()
	s, err := Closed(ctx, name, c, d, postBodies(srv.Base+"/v1/triage", bodies))
	used := cpu() - before
	r := TriageRun{Stats: s}
	if s.Requests > 0 {
		// Closed runs a warm-up of d/5 before the measured d.
		r.CPUPerRequest = time.Duration(float64(used) / (float64(s.Requests) * 1.2))
	}
	if c2, r2 := batchTotals(srv.Base); c2 > calls {
		r.RowsPerRun = (r2 - rows) / (c2 - calls)
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

func throughput(r TriageRun) float64    { return r.Throughput }
func cpuPerRequest(r TriageRun) float64 { return float64(r.CPUPerRequest) }

// median of f over runs (the mean of the middle two for an even count).
func median(runs []TriageRun, f func(TriageRun) float64) float64 {
	if len(runs) == 0 {
		return 0
	}
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Markdown renders the triage comparison.
func (r *TriageReport) Markdown(command, ortVersion string) string {
	var b []byte
	add := func(format string, a ...any) { b = fmt.Appendf(b, format, a...) }
	add("## Triage: POST /v1/triage, audit log on and off, vs a FastAPI + jieba + PyTorch peer (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	add("- Command: `%s`\n- Machine: %s; ONNX Runtime %s\n", command, Machine(), ortVersion)
	add("- 10 colloquial complaints in rotation, JSON over loopback HTTP, closed loop; committed defaults (three triage models, admission control, audit log in a fresh SQLite file). Rounds alternate between the servers, all started first. CPU per request is the server's user + system time over the run divided by its answers (a server in the generator's process is charged the generator too); other work on the machine does not inflate it, unlike req/s.\n\n")
	add("| run | req/s | p50 | p95 | p99 | errors | CPU per request | rows per ORT call |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(s TriageRun) {
		cpu, rows := "–", "–"
		if s.CPUPerRequest > 0 {
			cpu = s.CPUPerRequest.Round(time.Microsecond).String()
		}
		if s.RowsPerRun > 0 {
			rows = fmt.Sprintf("%.1f", s.RowsPerRun)
		}
		add("| %s | %.0f | %s | %s | %s | %d | %s | %s |\n", s.Name, s.Throughput, round(s.P50), round(s.P95), round(s.P99), s.Errors, cpu, rows)
	}
	for _, v := range r.Variants {
		row(v.One)
	}
	for i := range r.Variants[0].Audited {
		for _, v := range r.Variants {
			row(v.Audited[i])
			row(v.NoAudit[i])
		}
	}
	if r.Peer != nil {
		row(*r.Peer)
	}
	add("\n| ratio (medians of %d rounds at concurrency %d) | value |\n|---|---:|\n", len(r.Variants[0].Audited), r.Concurrency)
	for _, v := range r.Variants {
		add("| %s: audit on ÷ audit off, req/s | **%.2f×** |\n", v.Name, median(v.Audited, throughput)/median(v.NoAudit, throughput))
		if off := median(v.NoAudit, cpuPerRequest); off > 0 {
			add("| %s: audit on ÷ audit off, CPU per request | %.2f× |\n", v.Name, median(v.Audited, cpuPerRequest)/off)
		}
	}
	first := r.Variants[0]
	for _, v := range r.Variants[1:] {
		add("| %s ÷ %s, req/s, audit on | **%.2f×** |\n", first.Name, v.Name, median(first.Audited, throughput)/median(v.Audited, throughput))
		if c := median(first.Audited, cpuPerRequest); c > 0 && first.InProc == v.InProc {
			add("| %s ÷ %s, CPU per request, audit on | %.2f× |\n", v.Name, first.Name, median(v.Audited, cpuPerRequest)/c)
		}
		add("| %s ÷ %s, req/s at concurrency 1 | %.2f× |\n", first.Name, v.Name, first.One.Throughput/v.One.Throughput)
	}
	if r.Peer != nil && r.Peer.Throughput > 0 {
		add("| %s (audit on) ÷ FastAPI + jieba + PyTorch, req/s | **%.1f×** |\n", first.Name, median(first.Audited, throughput)/r.Peer.Throughput)
	} else {
		add("\nFastAPI peer not measured: %s\n", r.PeerErr)
	}
	return string(b)
}
