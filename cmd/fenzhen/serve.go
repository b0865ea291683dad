package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

func init() {
	register(command{name: "serve", summary: "run the HTTP server (triage, imaging, knowledge, KServe v2)", run: runServe})
}

func envHelp() string {
	var b strings.Builder
	b.WriteString("Environment (flags win over variables, variables over the --config file):\n")
	for _, e := range api.Env {
		fmt.Fprintf(&b, "  %-29s %s\n", e.Name, e.Help)
	}
	return b.String()
}

func runServe(args []string) error {
	cfg, err := baseConfig(args)
	if err != nil {
		return err
	}
	fs := newFlagSet("serve", "Serves the API of ../shared/API.md on --addr until SIGTERM or SIGINT;\nSIGHUP reloads the model repository, API keys and TLS certificate without\ndropping requests.\n\n"+envHelp(),
		"  fenzhen serve                                  # :8080, models/ and the embedded knowledge graph\n"+
			"  fenzhen serve --addr 127.0.0.1:9000 --models /srv/fenzhen/models\n"+
			"  FENZHEN_ORT_LIB=/opt/ort/libonnxruntime.so.1 fenzhen serve\n"+
			"  fenzhen serve --config /etc/fenzhen/fenzhen.yaml --auth required --tls-cert tls.crt --tls-key tls.key")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.StringVar(&cfg.ModelsDir, "models", cfg.ModelsDir, "model repository directory")
	fs.StringVar(&cfg.ORTLib, "ort-lib", cfg.ORTLib, "ONNX Runtime shared library")
	fs.StringVar(&cfg.KGPath, "kg", cfg.KGPath, "knowledge graph file from `fenzhen kg import` (default: embedded)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest JSON request body")
	fs.Int64Var(&cfg.MaxImageBytes, "max-image-bytes", cfg.MaxImageBytes, "largest image upload")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "deadline of each request's work")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "grace period for in-flight requests on SIGTERM")
	fs.StringVar(&cfg.AuditPath, "audit-path", cfg.AuditPath, "audit log SQLite file; off disables it")
	fs.IntVar(&cfg.AuditRetentionDays, "audit-retention-days", cfg.AuditRetentionDays, "delete audit entries older than this; 0 keeps all")
	fs.BoolVar(&cfg.AuditStoreText, "audit-store-text", cfg.AuditStoreText, "keep request text in the audit log, redacted")
	securityFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Auth == api.AuthRequired {
		if err := api.CheckKeysFile(cfg.KeysFile); err != nil {
			return err
		}
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	srv, cleanup, err := buildServer(cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("fenzhen ready", "addr", ln.Addr().String(), "tls", cfg.TLSCert != "", "auth", cfg.Auth, "onnxruntime", inference.RuntimeVersion(), "startup", time.Since(start).Round(time.Millisecond).String())
	return srv.Serve(ctx, ln)
}

// buildServer loads the runtime, models and knowledge, and wires the API.
// cleanup finishes admitted inference work and frees the sessions.
func buildServer(cfg api.Config, log *slog.Logger) (*api.Server, func(), error) {
	if err := inference.InitRuntime(cfg.ORTLib); err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	repo, err := inference.OpenRepository(cfg.ModelsDir, inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	var live atomic.Pointer[api.Server] // set once built; SIGHUP also reloads its keys and certificate
	go func() {
		for range hup {
			if err := repo.Reload(); err != nil {
				log.Error("reload failed; still serving the previous models", "err", err)
			} else {
				log.Info("model repository reloaded")
			}
			if srv := live.Load(); srv != nil {
				if err := srv.ReloadCredentials(); err != nil {
					log.Error("credential reload failed; still using the previous keys and certificate", "err", err)
				}
			}
		}
	}()
	kg, idx, err := loadKnowledge(cfg.KGPath)
	if err != nil {
		repo.Close()
		return nil, nil, err
	}
	st := kg.Stats()
	log.Info("knowledge graph loaded", "source", cmp.Or(cfg.KGPath, "embedded"), "diseases", st.Diseases, "symptoms", st.Symptoms, "departments", st.Departments)
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		repo.Close()
		return nil, nil, err
	}
	eng, err := triage.New(kg, x, repo, triage.Options{})
	if err != nil {
		repo.Close()
		return nil, nil, fmt.Errorf("build triage engine: %w", err)
	}
	aud, closeAudit, err := openAudit(cfg, reg, log)
	if err != nil {
		repo.Close()
		idx.Close()
		return nil, nil, err
	}
	deps := api.Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Registry: reg, Audit: aud}
	srv := api.New(cfg, deps, log)
	if err := srv.LoadKeys(); err != nil {
		closeAudit()
		signal.Stop(hup)
		repo.Close()
		idx.Close()
		return nil, nil, err
	}
	live.Store(srv)
	// Serve has returned when this runs: closeAudit commits every request it answered.
	return srv, func() { closeAudit(); signal.Stop(hup); repo.Close(); idx.Close() }, nil
}

// loadKnowledge loads the KG (the embedded default unless path names an
// imported one) and builds its in-memory search index with the gse analyzer.
func loadKnowledge(path string) (*knowledge.KG, *knowledge.Index, error) {
	var kg *knowledge.KG
	var err error
	if path == "" {
		kg, err = knowledge.LoadDefault()
	} else {
		kg, err = knowledge.LoadFile(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load knowledge graph: %w", err)
	}
	seg, err := segment.New(kg.Terms())
	if err != nil {
		return nil, nil, fmt.Errorf("load segmenter: %w", err)
	}
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		return nil, nil, fmt.Errorf("build knowledge index: %w", err)
	}
	return kg, idx, nil
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
