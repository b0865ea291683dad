package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/fenzhen/fenzhen/bench"
	"github.com/fenzhen/fenzhen/inference"
)

func init() {
	register(command{name: "bench", summary: "benchmark serving: raw ORT vs server with batching off and on", run: runBench})
}

func runBench(args []string) error {
	if isOverload(args) {
		return runBenchOverload(args) // bench_overload.go: flags of its own
	}
	o := bench.ServingOptions{ModelsDir: "models", Model: "cnn-test", Concurrency: 32, Duration: 10 * time.Second}
	fs := newFlagSet("bench", "Measures, in one run on one model, raw in-process ONNX Runtime calls, the server\nwith batching off (max_batch_size 1) and the server with dynamic batching,\nand prints throughput, p50/p95/p99 and their ratios.",
		"  fenzhen bench                                   # cnn-test, concurrency 32, 10 s per run\n"+
			"  fenzhen bench --concurrency 64 --duration 20s --rate 3000\n"+
			"  fenzhen bench --out bench/RESULTS.md            # also append the Markdown report\n"+
			"  fenzhen bench --workload triage --concurrency 16 # POST /v1/triage through the full server\n"+
			"  fenzhen bench --workload imaging --concurrency 16 # chest X-ray route vs FastAPI + PyTorch\n"+
			"  fenzhen bench --workload overload --help         # triage at 4× its sustainable rate with admission control")
	fs.StringVar(&o.ModelsDir, "models", o.ModelsDir, "model repository")
	fs.StringVar(&o.Model, "model", o.Model, "model to load")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "closed-loop clients")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measured time per run")
	fs.Float64Var(&o.Rate, "rate", 0, "also run the batching server open-loop at this many requests/s")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime library (default $FENZHEN_ORT_LIB or the pinned one)")
	out := fs.String("out", "", "append the Markdown report to this file")
	workload := fs.String("workload", "serving", "serving (batching comparison on --model), triage (POST /v1/triage through the full server) or imaging (chest X-ray route vs a FastAPI + PyTorch server)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (triage: of the audited run at --concurrency only)")
	memProfile := fs.String("memprofile", "", "triage: write the allocations of the audited run at --concurrency to this file")
	rounds := fs.Int("rounds", 3, "triage: rounds of audit on / audit off at --concurrency")
	baseline := fs.String("baseline-binary", "", "triage: other fenzhen binaries (comma-separated; e.g. one built from main) measured side by side; every server then runs as a child process")
	serverCPUs := fs.String("server-cpus", "", "triage: run the servers as child processes pinned with taskset to these CPUs (e.g. 0);\npin the generator yourself: taskset -c 1 fenzhen bench --workload triage --server-cpus 0")
	python := fs.String("python", "/usr/bin/python3", "triage and imaging: the interpreter of the FastAPI peer; empty skips it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Concurrency < 1 || o.Duration <= 0 {
		return fmt.Errorf("--concurrency and --duration must be positive")
	}
	if err := inference.InitRuntime(*ortLib); err != nil {
		return err
	}
	if *cpuProfile != "" && *workload != "triage" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *workload == "triage" {
		return runBenchTriage(ctx, args, o, triageBench{rounds: *rounds, baseline: *baseline, serverCPUs: *serverCPUs, python: *python, memProfile: *memProfile}, *out, cpuProfile)
	} else if *workload == "imaging" {
		p := newProgress("bench imaging", 0, "")
		rep, err := bench.Imaging(ctx, o.ModelsDir, "models/chest-xray/testdata/test_000_pneumonia.png", *python, o.Concurrency, o.Duration,
			func(what string) { p.Phase("bench imaging: " + what) })
		p.Done()
		if err != nil {
			return err
		}
		md := rep.Markdown("fenzhen bench "+strings.Join(args, " "), inference.RuntimeVersion())
		fmt.Println(md)
		return appendReport(*out, md)
	} else if *workload != "serving" {
		return fmt.Errorf("--workload %q: want serving, triage or imaging", *workload)
	}
	step, steps := 0, 7
	if o.Rate > 0 {
		steps++
	}
	p := newProgress("bench", int64(steps), "runs")
	rep, err := bench.Serving(ctx, o, func(what string) {
		if step > 0 {
			p.Add(1) // the previous run is over
		}
		step++
		p.Phase(fmt.Sprintf("bench [%d/%d] %s", step, steps, what))
	})
	if err == nil {
		p.Add(1)
	}
	p.Done()
	if err != nil {
		return err
	}
	for _, s := range []bench.Stats{rep.Floor, rep.Unbatched, rep.Batched, rep.UnbatchedBin, rep.BatchedBin, rep.RawBatch1, rep.RawSameBatch} {
		fmt.Printf("%s  (%.0f rows/s)\n", s, s.ItemsPerSecond())
	}
	if rep.OpenLoop != nil {
		fmt.Println(rep.OpenLoop)
	}
	md := rep.Markdown("fenzhen bench "+strings.Join(args, " "), inference.RuntimeVersion())
	fmt.Println()
	fmt.Println(md)
	return appendReport(*out, md)
}

// appendReport appends a Markdown section to path ("" writes nothing).
func appendReport(path, md string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, "\n"+md); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
