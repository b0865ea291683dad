package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
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

// defaultListenAddr is api.DefaultListenAddr; tests swap it to avoid port 8080.
var defaultListenAddr = api.DefaultListenAddr

func runServe(args []string) error {
	cfg, err := baseConfig(args)
	if err != nil {
		return err
	}
	fs := newFlagSet("serve", "Serves the API of ../shared/API.md on --addr until SIGTERM or SIGINT;\nSIGHUP reloads the model repository, API keys and TLS certificate without\ndropping requests.\n\n"+
		"Without --models, models/ is looked for in the working directory and its parents, then\n"+
		"beside the binary, as ONNX Runtime is; var/ (audit log, API keys) is the one beside it.\n\n"+envHelp(),
		"  ./bin/fenzhen serve                            # 127.0.0.1:8080, models/ and the embedded knowledge graph\n"+
			"  ./bin/fenzhen serve --addr 127.0.0.1:9000 --models /srv/fenzhen/models\n"+
			"  FENZHEN_ORT_LIB=/opt/ort/libonnxruntime.so.1 ./bin/fenzhen serve\n"+
			"  ./bin/fenzhen serve --config /etc/fenzhen/fenzhen.yaml --auth required --tls-cert tls.crt --tls-key tls.key")
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (default 127.0.0.1:8080 with --auth off, :8080 with --auth required)")
	fs.StringVar(&cfg.ModelsDir, "models", cfg.ModelsDir, "model repository directory (default models/ in the working directory or a parent, else beside the binary)")
	fs.StringVar(&cfg.ORTLib, "ort-lib", cfg.ORTLib, "ONNX Runtime shared library (default "+inference.DefaultORTLib+", looked up as --models is)")
	fs.StringVar(&cfg.KGPath, "kg", cfg.KGPath, "knowledge graph file from 'fenzhen kg import' (default: the embedded KG)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.Var(api.PositiveIntFlag(&cfg.MaxBodyBytes), "max-body-bytes", "largest JSON request body")
	fs.Var(api.PositiveIntFlag(&cfg.MaxImageBytes), "max-image-bytes", "largest image upload")
	fs.Var(api.PositiveDurationFlag(&cfg.RequestTimeout), "request-timeout", "deadline of each request's work")
	fs.Var(api.PositiveDurationFlag(&cfg.ShutdownTimeout), "shutdown-timeout", "grace period for in-flight requests on SIGTERM")
	fs.StringVar(&cfg.AuditPath, "audit-path", cfg.AuditPath, "audit log SQLite file, var/ as beside --models; off disables it")
	fs.IntVar(&cfg.AuditRetentionDays, "audit-retention-days", cfg.AuditRetentionDays, "delete audit entries older than this; 0 keeps all")
	fs.BoolVar(&cfg.AuditStoreText, "audit-store-text", cfg.AuditStoreText, "keep request text in the audit log, redacted")
	securityFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr(fs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	where, err := resolvePaths(&cfg, newSettings(fs, configPath(args)))
	if err != nil {
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
	addr := cfg.Addr
	if addr == "" {
		addr = defaultListenAddr(cfg.Auth)
	}
	files := []any{"models", where.models.path, "models_from", where.models.from,
		"onnxruntime", where.ort.path, "onnxruntime_from", where.ort.from,
		"audit", where.audit.path, "audit_from", cmp.Or(where.audit.from, "default")}
	if cfg.Auth == api.AuthRequired {
		files = append(files, "keys_file", where.keys.path, "keys_file_from", where.keys.from)
	}
	log.Info("fenzhen starting", files...)
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	srv, cleanup, err := buildServer(cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if cfg.Auth == api.AuthOff && api.Exposed(addr) {
		log.Warn("!!! NO AUTHENTICATION ON A NETWORK ADDRESS !!! auth is off and the server listens beyond this machine: anyone who can reach "+ln.Addr().String()+
			" can use every route without a key. Use --auth required with keys from 'fenzhen keys create', or listen on 127.0.0.1 (the default with auth off)",
			"addr", ln.Addr().String())
	}
	log.Info("fenzhen ready", "addr", ln.Addr().String(), "url", serveURL(ln.Addr(), cfg.TLSCert != ""), "tls", cfg.TLSCert != "", "auth", cfg.Auth, "onnxruntime", inference.RuntimeVersion(), "startup", time.Since(start).Round(time.Millisecond).String())
	return srv.Serve(ctx, ln)
}

// serveURL is the address a person on this machine would open.
func serveURL(a net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + "://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
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

// logOutput is where `fenzhen serve` logs; tests read it.
var logOutput io.Writer = os.Stderr

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(logOutput, &slog.HandlerOptions{Level: l})), nil
}
