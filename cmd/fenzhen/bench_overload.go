package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/auth"
	"github.com/fenzhen/fenzhen/bench"
	"github.com/fenzhen/fenzhen/inference"
)

// isOverload reports whether bench's arguments ask for the overload workload,
// which has flags of its own.
func isOverload(args []string) bool {
	for i, a := range args {
		if a == "--workload=overload" || a == "-workload=overload" || ((a == "--workload" || a == "-workload") && i+1 < len(args) && args[i+1] == "overload") {
			return true
		}
	}
	return false
}

// runBenchOverload: `fenzhen bench --workload overload`.
func runBenchOverload(args []string) error {
	os.Setenv("FENZHEN_AUDIT_PATH", "off") // measure admission, not the disk
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil {
		return err
	}
	o := bench.OverloadOptions{Duration: 10 * time.Second, Factor: 4, Unloaded: 0.25, Timeout: 10 * time.Second}
	fs := newFlagSet("bench --workload overload", "Serves the full stack in-process on 127.0.0.1 with admission control on, measures\n"+
		"POST /v1/triage's sustainable rate (closed loop), its p99 at a modest open-loop rate,\n"+
		"then an open loop at --factor × the sustainable rate, and reports the admitted\n"+
		"requests' p99 against the unloaded p99, the shed fraction and how fast the 429/503\n"+
		"answers came. Exits 1 when the admitted p99 exceeds 2× the unloaded p99, refusals\n"+
		"are not quick, or any request fails otherwise.",
		"  fenzhen bench --workload overload                          # the serve defaults: in-flight limits per CPU\n"+
			"  fenzhen bench --workload overload --max-in-flight 4 --admission-wait 2ms   # a tighter triage limit\n"+
			"  taskset -c 1 fenzhen bench --workload overload --server-cpus 0   # server and generator on their own CPUs\n"+
			"  fenzhen bench --workload overload --out bench/RESULTS.md")
	fs.String("workload", "overload", "overload (other workloads: fenzhen bench --help)")
	maxInFlight := fs.Int("max-in-flight", 0, "the server's in-flight limit of the triage class (default: the serve default for the server's CPUs)")
	fs.DurationVar(&cfg.AdmissionWait, "admission-wait", cfg.AdmissionWait, "how long a request waits for an in-flight slot before 503")
	serverCPUs := fs.String("server-cpus", "", "run the server as a child 'fenzhen serve' pinned with taskset to these CPUs (e.g. 0),\nso the load generator does not take its CPU; pin the generator yourself: taskset -c 1 fenzhen bench …")
	fs.IntVar(&o.Concurrency, "concurrency", 0, "closed-loop clients that find the sustainable rate (default: --max-in-flight)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "length of each phase")
	fs.IntVar(&o.Conns, "conns", 64, "most client connections (a request waiting for one is late)")
	fs.Float64Var(&o.Factor, "factor", o.Factor, "overload rate as a multiple of the sustainable rate")
	fs.Float64Var(&o.Unloaded, "unloaded", o.Unloaded, "unloaded rate as a fraction of the sustainable rate")
	fs.StringVar(&cfg.ModelsDir, "models", cfg.ModelsDir, "model repository")
	fs.StringVar(&cfg.ORTLib, "ort-lib", cfg.ORTLib, "ONNX Runtime library")
	out := fs.String("out", "", "append the Markdown report to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxInFlight < 0 || o.Duration <= 0 || o.Factor <= 1 || o.Unloaded <= 0 || o.Unloaded >= 1 {
		return errors.New("--max-in-flight must not be negative, --duration must be positive, --factor above 1 and --unloaded between 0 and 1")
	}
	// The server's CPUs decide its default limits: the pinned child's
	// GOMAXPROCS is the number of CPUs taskset gives it.
	serverProcs := runtime.GOMAXPROCS(0)
	if *serverCPUs != "" {
		n, err := cpuCount(*serverCPUs)
		if err != nil {
			return err
		}
		serverProcs = n
	}
	cfg.MaxInFlight = api.DefaultMaxInFlight(serverProcs)
	if *maxInFlight > 0 {
		cfg.MaxInFlight[auth.ScopeTriage] = *maxInFlight
	}
	limit := cfg.MaxInFlight[auth.ScopeTriage]
	if o.Concurrency == 0 {
		o.Concurrency = limit
	}
	cfg.Addr = "127.0.0.1:0"

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	setup := fmt.Sprintf("auth off, audit off; triage in-flight limit %d (up to %d waiting), admission wait %s; ", limit, limit, cfg.AdmissionWait)
	if *maxInFlight == 0 {
		setup = fmt.Sprintf("auth off, audit off; triage in-flight limit %d (the default for %d CPUs; up to %d waiting), admission wait %s; ", limit, serverProcs, limit, cfg.AdmissionWait)
	}
	if *serverCPUs != "" {
		base, pid, stopChild, err := startPinnedServer(ctx, cfg, *maxInFlight, *serverCPUs)
		if err != nil {
			return err
		}
		defer stopChild()
		o.BaseURL = base
		o.ServerCPU = func() (time.Duration, error) { return bench.ProcessCPU(pid) }
		setup += fmt.Sprintf("`fenzhen serve` in a child process pinned to CPU %s (taskset), the load generator in another process", *serverCPUs)
		if self, err := unixAffinity(); err == nil {
			setup += " on CPU " + self
		}
	} else {
		log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		srv, cleanup, err := buildServer(cfg, log)
		if err != nil {
			return err
		}
		defer cleanup()
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return err
		}
		sctx, stopServer := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.Serve(sctx, ln); close(done) }()
		defer func() { stopServer(); <-done }()
		o.BaseURL = "http://" + ln.Addr().String()
		setup += "server in-process, sharing the CPUs with the load generator"
	}
	o.Progress = func(s string) { fmt.Fprintf(os.Stderr, "%s …\n", s) }
	rep, err := bench.Overload(ctx, o)
	if err != nil {
		return err
	}
	machine := bench.Machine()
	if v := inference.RuntimeVersion(); v != "" {
		machine += "; ONNX Runtime " + v
	}
	if *serverCPUs != "" {
		machine += " (the generator's view: taskset limits what it sees)"
	}
	md := rep.Markdown("fenzhen bench "+strings.Join(args, " "), machine, setup)
	fmt.Println(md)
	if err := appendReport(*out, md); err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("overload: acceptance failed (see the report)")
	}
	return nil
}

// startPinnedServer runs `fenzhen serve` (this binary) on a free loopback
// port under taskset -c cpus with the admission settings of cfg (the triage
// limit only when maxInFlight > 0: else the server's own default), and
// waits until /readyz answers 200. pid is the server's (taskset execs it).
func startPinnedServer(ctx context.Context, cfg api.Config, maxInFlight int, cpus string) (base string, pid int, stop func(), err error) {
	if cfg.AdmissionWait <= 0 {
		return "", 0, nil, errors.New("--server-cpus needs a positive --admission-wait (FENZHEN_ADMISSION_WAIT takes no 0)")
	}
	self, err := os.Executable()
	if err != nil {
		return "", 0, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", 0, nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command("taskset", "-c", cpus, self, "serve", "--addr", addr, "--models", cfg.ModelsDir, "--log-level", "error")
	cmd.Env = append(os.Environ(),
		"FENZHEN_ADMISSION_WAIT="+cfg.AdmissionWait.String(),
		"FENZHEN_AUDIT_PATH=off", "FENZHEN_AUTH=off")
	if maxInFlight > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("FENZHEN_MAX_IN_FLIGHT=%s=%d", auth.ScopeTriage, maxInFlight))
	}
	if cfg.ORTLib != "" {
		cmd.Env = append(cmd.Env, "FENZHEN_ORT_LIB="+cfg.ORTLib)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("start the server under taskset: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	base = "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, cmd.Process.Pid, stop, nil
			}
		}
		select {
		case err := <-exited:
			return "", 0, nil, fmt.Errorf("the server exited before it was ready: %v", err)
		case <-ctx.Done():
			stop()
			return "", 0, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, errors.New("the server was not ready within 2 minutes")
		}
	}
}

// unixAffinity names the CPUs this process may run on, from /proc/self/status.
func unixAffinity() (string, error) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("no Cpus_allowed_list")
}

// cpuCount counts the CPUs of a taskset list such as "0", "0,2" or "0-3".
func cpuCount(list string) (int, error) {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("--server-cpus %q: %w", list, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, fmt.Errorf("--server-cpus %q: bad range %q", list, part)
			}
		}
		n += b - a + 1
	}
	return n, nil
}
