package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/bench"
	"github.com/fenzhen/fenzhen/inference"
)

func init() {
	register(command{name: "soak", summary: "send a long valid/malformed request mix and check every answer, memory and logs", run: runSoak})
}

// errSoakFailed makes the exit status non-zero after the report is printed.
var errSoakFailed = errors.New("soak: acceptance checks failed (see the report)")

func runSoak(args []string) error {
	o := bench.SoakOptions{Requests: 100000, Concurrency: 16, Timeout: 15 * time.Second, Seed: 1}
	fs := newFlagSet("soak", "Starts the real server in-process on 127.0.0.1 (or uses --target, which must be a\n"+
		"loopback address) and sends --requests requests: 60% valid triage, record,\n"+
		"medication, knowledge, v2 infer and chest X-ray calls, 40% malformed ones (empty,\n"+
		"over-long, bad or deep JSON, wrong content type, oversized body, bad age, unknown\n"+
		"evidence id, corrupt PNG, unknown model …), each checked against the status and code\n"+
		"API.md documents. Some texts carry a test phone number and 身份证号; at the end the\n"+
		"server's log and audit database are searched for them in plain text.\n\n"+
		"Exits 1 on any 5xx, hang (no answer within --timeout), undocumented answer, RSS\n"+
		"growth of 10% or more after the warm-up, or identifier found.",
		"  fenzhen soak                                   # 100,000 requests, 16 clients\n"+
			"  fenzhen soak --requests 2000 --concurrency 8   # a quick check\n"+
			"  fenzhen soak --out bench/RESULTS.md            # also append the Markdown report\n"+
			"  fenzhen soak --target http://127.0.0.1:8080 --log-file /tmp/fenzhen.log --audit-db var/audit.db")
	fs.IntVar(&o.Requests, "requests", o.Requests, "measured requests")
	fs.IntVar(&o.WarmUp, "warmup", 0, "requests before the first memory sample (default requests/10, at most 5000)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "client goroutines")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "per-request client timeout; a request still open after it is a hang")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "shuffle seed of the request mix")
	target := fs.String("target", "", "soak a running server at this loopback URL instead of starting one (memory is then not measured)")
	logFile := fs.String("log-file", "", "with --target: the server's log file to search for the identifiers")
	auditDB := fs.String("audit-db", "", "with --target: the server's audit database to search (and its -wal, -shm)")
	modelsDir := fs.String("models", "models", "model repository of the in-process server")
	chest := fs.String("image", "models/chest-xray/testdata/test_000_pneumonia.png", "the chest X-ray PNG of the imaging cases")
	logLevel := fs.String("log-level", "debug", "log level of the in-process server (debug logs every request: the most text to search)")
	out := fs.String("out", "", "append the Markdown report to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Requests < 1 || o.Concurrency < 1 || o.Timeout <= 0 {
		return errors.New("--requests, --concurrency and --timeout must be positive")
	}
	png, err := os.ReadFile(*chest)
	if err != nil {
		return fmt.Errorf("--image: %w", err)
	}
	o.ChestPNG = png
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o.Progress = func(done, total int) { fmt.Fprintf(os.Stderr, "\r%d/%d requests", done, total) }

	if *target != "" {
		if err := bench.CheckLoopback(*target); err != nil {
			return err
		}
		o.BaseURL = strings.TrimSuffix(*target, "/")
		if *logFile != "" {
			o.Logs = readAll(*logFile)
		}
		if *auditDB != "" {
			o.Files = auditFiles(*auditDB)
		}
	} else {
		drain, err := soakServer(&o, *modelsDir, *logLevel)
		if err != nil {
			return err
		}
		defer drain()
	}
	fmt.Fprintf(os.Stderr, "soak: %d requests (after a warm-up) from %d clients against %s\n", o.Requests, o.Concurrency, o.BaseURL)
	rep, err := bench.Soak(ctx, o)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	machine := bench.Machine()
	if *target == "" {
		machine += "; ONNX Runtime " + inference.RuntimeVersion() + "; server and load generator in one process"
	}
	md := rep.Markdown("fenzhen soak "+strings.Join(args, " "), machine)
	fmt.Println(md)
	if err := appendReport(*out, md); err != nil {
		return err
	}
	if !rep.OK() {
		return errSoakFailed
	}
	return nil
}

// soakServer starts the server of `fenzhen serve` in this process on
// 127.0.0.1:0, logging as JSON to a temporary file and auditing to a
// temporary database, and points o at them. drain stops it (finishing the
// audit writes) and removes the temporary files; it is safe to call twice.
func soakServer(o *bench.SoakOptions, modelsDir, logLevel string) (drain func(), err error) {
	tmp, err := os.MkdirTemp("", "fenzhen-soak-")
	if err != nil {
		return nil, err
	}
	// The audit log goes where the soak can read it, whatever the environment says.
	auditPath := filepath.Join(tmp, "audit.db")
	os.Setenv("FENZHEN_AUDIT_PATH", auditPath)
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	cfg.ModelsDir = modelsDir
	cfg.Addr = "127.0.0.1:0"
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
	}
	logPath := filepath.Join(tmp, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: level}))
	srv, cleanup, err := buildServer(cfg, log)
	if err != nil {
		logf.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		cleanup()
		logf.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "soak: server:", err)
			}
			cleanup()
			logf.Sync()
		})
	}
	o.BaseURL = "http://" + ln.Addr().String()
	o.MaxBody = cfg.MaxBodyBytes
	o.Memory = bench.SelfMemory
	o.Logs = readAll(logPath)
	o.Files = auditFiles(auditPath)
	o.Drain = shutdown
	return func() { shutdown(); logf.Close(); os.RemoveAll(tmp) }, nil
}

func auditFiles(db string) []string { return []string{db, db + "-wal", db + "-shm"} }

func readAll(path string) func() []byte {
	return func() []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
		}
		return b
	}
}
