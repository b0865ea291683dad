// Package api is Fenzhen's HTTP surface: the routes of ../shared/API.md, the
// KServe v2 inference protocol, health and Prometheus metrics, served by echo.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fenzhen/fenzhen/audit"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/triage"
	"github.com/fenzhen/fenzhen/web"
)

// Version is the server's version, reported by GET /v2.
var Version = "0.1.0"

// Deps are the domain services the handlers call; nil ones leave their routes answering 503.
type Deps struct {
	Models   *inference.Repository
	Imaging  *imaging.Service
	KG       *knowledge.KG
	Index    *knowledge.Index
	Triage   *triage.Engine
	Registry *prometheus.Registry // where /metrics reads from; nil makes a fresh one
	Audit    *audit.Writer        // the audit log; nil keeps none
}

// Server holds the echo instance and everything the handlers need.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	echo     *echo.Echo
	metrics  *httpMetrics
	registry *prometheus.Registry
	draining atomic.Bool
	access   *access  // keys, rate limits, in-flight slots (admission.go)
	tls      tlsState // serving certificate when TLS is on (security.go)
	// knownRoutes caches the routes routeKnown has found (audit.go).
	knownRoutes atomic.Pointer[map[routeKey]struct{}]
}

// New builds a server with every route registered.
func New(cfg Config, deps Deps, log *slog.Logger) *Server {
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
		deps.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, deps: deps, log: log, registry: deps.Registry}
	s.metrics = newHTTPMetrics(deps.Registry)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Server.ReadHeaderTimeout = 5 * time.Second
	e.Server.ReadTimeout = cfg.ReadTimeout
	e.Server.WriteTimeout = cfg.WriteTimeout
	e.Server.IdleTimeout = 2 * time.Minute
	e.Server.MaxHeaderBytes = 64 << 10
	s.echo = e
	s.initAccess()
	s.routes()
	return s
}

// routes is the whole HTTP surface in one screen.
func (s *Server) routes() {
	e := s.echo
	// Admission comes before the deadline (a refused request needs no
	// context or timer) and before any body is read (route middleware and
	// handlers), after what every answer needs: its id, audit, metrics,
	// security and CORS headers.
	e.Use(withRequestID, s.auditLog, s.observe, s.recoverPanics, s.securityHeaders, s.cors, s.admit, s.withDeadline)
	jsonBody := chain(limitBody(s.cfg.MaxBodyBytes), limitJSONDepth(s.cfg.MaxJSONDepth))
	imageBody := limitBody(s.cfg.MaxImageBytes)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

	console := echo.WrapHandler(web.MustNew()) // the browser console: the page at /, its files under /static/
	e.GET("/", console)
	e.GET(web.Prefix+"*", console)
	e.GET("/openapi.yaml", s.openAPI)

	e.POST("/v1/triage", s.triageRoute(runTriage), jsonBody)
	e.POST("/v1/record", s.triageRoute(runRecord), jsonBody)
	e.POST("/v1/medication/check", s.medicationCheck, jsonBody)
	e.GET("/v1/knowledge/search", s.knowledgeSearch)
	e.GET("/v1/knowledge/diseases/:id", s.knowledgeDisease)
	e.GET("/v1/departments", s.departments)
	e.POST("/v1/imaging/chest", s.imagingHandler(imaging.ModelChestXray), imageBody)
	e.POST("/v1/dermatology", s.imagingHandler(imaging.ModelDermatology), imageBody)

	e.GET("/v2", s.v2Server)
	e.GET("/v2/health/live", s.healthz)
	e.GET("/v2/health/ready", s.readyz)
	e.GET("/v2/models/:name", s.v2Metadata)
	e.GET("/v2/models/:name/versions/:version", s.v2Metadata)
	e.GET("/v2/models/:name/ready", s.v2ModelReady)
	e.GET("/v2/models/:name/versions/:version/ready", s.v2ModelReady)
	e.POST("/v2/models/:name/infer", s.v2Infer, jsonBody)
	e.POST("/v2/models/:name/versions/:version/infer", s.v2Infer, jsonBody)
}

// Handler exposes the router, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers on ln until ctx ends, then stops taking requests, finishes the
// in-flight ones (up to ShutdownTimeout) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.loadTLS(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		s.echo.Listener = ln
		errc <- s.serveOn(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: finishing in-flight requests", "grace", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.echo.Server.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type readiness struct {
	Status    string        `json:"status"` // ready | degraded | not_ready
	Knowledge bool          `json:"knowledge"`
	Triage    bool          `json:"triage"`
	Models    []modelHealth `json:"models"`
}

type modelHealth struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Ready   bool   `json:"ready"`
	Error   string `json:"error,omitempty"`
}

// readyz is 200 while the server can serve: models that failed to load are
// listed (status degraded) but do not take the others out of service.
func (s *Server) readyz(c echo.Context) error {
	r := readiness{Status: "ready", Models: []modelHealth{}}
	if s.deps.Models != nil {
		for _, st := range s.deps.Models.Status() {
			r.Models = append(r.Models, modelHealth{Name: st.Name, Version: st.Version, Ready: st.Ready, Error: st.Error})
			if !st.Ready {
				r.Status = "degraded"
			}
		}
	}
	loaded := 0
	for _, m := range r.Models {
		if m.Ready {
			loaded++
		}
	}
	r.Knowledge = s.deps.KG != nil && s.deps.Index != nil
	r.Triage = s.deps.Triage != nil
	if s.draining.Load() || s.deps.Models == nil || loaded == 0 || !r.Knowledge || !r.Triage {
		r.Status = "not_ready"
		return c.JSON(http.StatusServiceUnavailable, r)
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) imagingHandler(model string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.deps.Imaging == nil {
			return errorf(CodeUnavailable, "imaging is not configured on this server")
		}
		img, err := imaging.ReadRequest(c.Request(), imaging.Limits{MaxBytes: s.cfg.MaxImageBytes, MaxParts: s.cfg.MaxUploadParts})
		if err != nil {
			return err
		}
		resp, err := s.deps.Imaging.Classify(c.Request().Context(), model, img, imaging.Options{OperatingPoint: c.QueryParam("operating_point")})
		if err != nil {
			return err
		}
		resp.RequestID = requestID(c)
		s.setAudit(c, resp, "")
		return c.JSON(http.StatusOK, resp)
	}
}
