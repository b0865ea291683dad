package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/bench"
	"github.com/fenzhen/fenzhen/client"
	"github.com/fenzhen/fenzhen/inference"
)

// triageSentences are colloquial complaints of several departments and ages.
var triageSentences = []client.TriageRequest{
	{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: client.Age(3), Sex: client.SexMale},
	{Text: "胸口疼得厉害，出了一身冷汗", Age: client.Age(58), Sex: client.SexMale},
	{Text: "最近老是胃疼，吃完饭胀气反酸", Age: client.Age(35)},
	{Text: "皮肤起了很多红疹子，特别痒", Age: client.Age(24), Sex: client.SexFemale},
	{Text: "月经推迟两周了，小肚子隐隐作痛", Age: client.Age(28), Sex: client.SexFemale},
	{Text: "头疼三天了，有点恶心，不发烧", Age: client.Age(42)},
	{Text: "眼睛红，早上起来眼屎很多", Age: client.Age(9)},
	{Text: "牙疼得睡不着觉，左边脸有点肿", Age: client.Age(31)},
	{Text: "尿频尿急，小便的时候疼", Age: client.Age(45), Sex: client.SexFemale},
	{Text: "最近总是睡不着，心情很低落，对什么都提不起兴趣", Age: client.Age(22)},
}

// triageBodies are the pre-encoded request bodies of triageSentences.
func triageBodies() [][]byte {
	bodies := make([][]byte, len(triageSentences))
	for i, s := range triageSentences {
		bodies[i], _ = json.Marshal(s)
	}
	return bodies
}

// startTriageServer serves the full stack in-process on a free loopback port
// with the serve defaults (FENZHEN_* variables apply), the audit log on in a
// fresh file under dir or off, and checks every benchmark sentence once.
func startTriageServer(ctx context.Context, dir string, auditOn bool) (bench.TriageServer, error) {
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil { // FENZHEN_MAX_IN_FLIGHT and friends apply here too
		return bench.TriageServer{}, err
	}
	cfg.AuditPath = "off"
	if auditOn {
		f, err := os.CreateTemp(dir, "audit-*.db")
		if err != nil {
			return bench.TriageServer{}, fmt.Errorf("audit file: %w", err)
		}
		f.Close()
		cfg.AuditPath = f.Name()
	}
	srv, cleanup, err := buildServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return bench.TriageServer{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return bench.TriageServer{}, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	// Serve has returned before cleanup: the audit writer commits every answer.
	shut := func() { stop(); <-done; cleanup() }
	base := "http://" + ln.Addr().String()
	if err := preflightTriage(ctx, base); err != nil {
		shut()
		return bench.TriageServer{}, err
	}
	return bench.TriageServer{Base: base, Stop: shut}, nil
}

// preflightTriage sends every sentence once through the Go client and checks
// the answers, so the load run measures requests known to succeed with a
// complete triage.
func preflightTriage(ctx context.Context, baseURL string) error {
	c, err := client.New(baseURL, client.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	for i, req := range triageSentences {
		resp, err := c.Triage(ctx, req)
		if err != nil {
			return fmt.Errorf("triage sentence %d: %w", i, err)
		}
		if resp.Urgency.Level == "" || len(resp.Symptoms) == 0 || len(resp.Departments) == 0 {
			return fmt.Errorf("triage sentence %d (%s) found no symptom or department", i, req.Text)
		}
	}
	return nil
}

// triageBench are the triage workload's own flags.
type triageBench struct {
	rounds     int
	baseline   string // other fenzhen binaries to compare with (comma-separated), run as children
	serverCPUs string // run the servers as children pinned to these CPUs
	python     string
	memProfile string
}

// runBenchTriage: `fenzhen bench --workload triage`. Profiles, when asked,
// cover the first measured rounds at --concurrency only (not model loading).
func runBenchTriage(ctx context.Context, args []string, o bench.ServingOptions, tb triageBench, out string, cpuProfile *string) error {
	dir, err := os.MkdirTemp("", "fenzhen-bench-triage-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	this := bench.TriageVariant{Name: "fenzhen", Start: func(audit bool) (bench.TriageServer, error) { return startTriageServer(ctx, dir, audit) }}
	if tb.serverCPUs != "" {
		this.Start = func(audit bool) (bench.TriageServer, error) {
			return startServeChild(ctx, self, o.ModelsDir, tb.serverCPUs, dir, audit)
		}
	}
	variants := []bench.TriageVariant{this}
	for _, bin := range strings.Split(tb.baseline, ",") {
		if bin == "" {
			continue
		}
		variants = append(variants, bench.TriageVariant{Name: "baseline " + filepath.Base(bin), Start: func(audit bool) (bench.TriageServer, error) {
			return startServeChild(ctx, bin, o.ModelsDir, tb.serverCPUs, dir, audit)
		}})
	}
	if len(variants) > 1 && tb.serverCPUs == "" {
		// Compare like with like: every server in a process of its own.
		variants[0].Start = func(audit bool) (bench.TriageServer, error) {
			return startServeChild(ctx, self, o.ModelsDir, "", dir, audit)
		}
	}
	p := newProgress("bench triage", 0, "")
	rep, err := bench.Triage(ctx, bench.TriageOptions{
		Concurrency: o.Concurrency, Duration: o.Duration, Bodies: triageBodies(), Python: tb.python, Rounds: tb.rounds,
		Variants: variants, Profile: profiler(*cpuProfile, tb.memProfile),
	}, func(what string) { p.Phase("bench triage: " + what) })
	p.Done()
	if err != nil {
		return err
	}
	md := rep.Markdown("fenzhen bench "+strings.Join(args, " "), inference.RuntimeVersion())
	fmt.Println(md)
	return appendReport(out, md)
}

// startServeChild runs `binary serve` on a free loopback port (under
// taskset -c cpus when cpus is set) with the serve defaults, the audit log
// in a fresh file under dir or off, and charges the child's CPU.
func startServeChild(ctx context.Context, binary, models, cpus, dir string, auditOn bool) (bench.TriageServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bench.TriageServer{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	auditPath := "off"
	if auditOn {
		f, err := os.CreateTemp(dir, "audit-*.db")
		if err != nil {
			return bench.TriageServer{}, fmt.Errorf("audit file: %w", err)
		}
		f.Close()
		auditPath = f.Name()
	}
	argv := []string{binary, "serve", "--addr", addr, "--models", models, "--log-level", "error"}
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "FENZHEN_AUDIT_PATH="+auditPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return bench.TriageServer{}, fmt.Errorf("start %s: %w", binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM) // the audit writer commits on the way out
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	pid := cmd.Process.Pid // taskset execs the server, so the pid is the server's
	srv := bench.TriageServer{Base: "http://" + addr, Stop: stop, CPU: func() time.Duration {
		d, _ := bench.ProcessCPU(pid)
		return d
	}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if err := preflightTriage(ctx, srv.Base); err == nil {
			return srv, nil
		}
		select {
		case err := <-exited:
			return bench.TriageServer{}, fmt.Errorf("%s exited before it was ready: %v", binary, err)
		case <-ctx.Done():
			stop()
			return bench.TriageServer{}, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return bench.TriageServer{}, fmt.Errorf("%s was not ready within 2 minutes", binary)
		}
	}
}

// profiler returns a function that starts the CPU profile and marks the
// allocation count, and returns the function that writes both; nil when
// neither is asked for. The audit-off run's profiles get ".audit-off" added
// to their names, so `go tool pprof -diff_base` shows what the audit costs.
func profiler(cpuBase, memBase string) func(audit bool) func() {
	if cpuBase == "" && memBase == "" {
		return nil
	}
	return func(audit bool) func() {
		cpuPath, memPath := cpuBase, memBase
		if !audit {
			cpuPath, memPath = suffixed(cpuBase, ".audit-off"), suffixed(memBase, ".audit-off")
		}
		var cpu *os.File
		if cpuPath != "" {
			f, err := os.Create(cpuPath)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				cpu = f
			} else {
				fmt.Fprintln(os.Stderr, "cpu profile not started:", err)
			}
		}
		base := snapshotAllocs(memPath, ".base")
		return func() {
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			if base != "" {
				snapshotAllocs(memPath, "")
				fmt.Fprintf(os.Stderr, "allocations of the run: go tool pprof -sample_index=alloc_space -base %s %s\n", base, memPath)
			}
		}
	}
}

func suffixed(path, s string) string {
	if path == "" {
		return ""
	}
	return path + s
}

// snapshotAllocs writes the allocation profile to path+suffix; "" when not written.
func snapshotAllocs(path, suffix string) string {
	if path == "" {
		return ""
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "allocation profile:", err)
		return ""
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "allocation profile:", err)
		return ""
	}
	return path + suffix
}
