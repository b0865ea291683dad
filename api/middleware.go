package api

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

const headerRequestID = "X-Request-Id"

type ctxKey int

const keyRequestID ctxKey = iota

// requestID returns the id assigned by withRequestID: it lives in the
// response's X-Request-Id header alone, which spares every request the
// allocation of echo's context map.
func requestID(c echo.Context) string {
	if v := c.Response().Header()[headerRequestID]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// withRequestID echoes a sane client-sent X-Request-Id, else makes one.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header()[headerRequestID] = []string{id}
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b < 0x21 || b > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	const hex = "0123456789abcdef"
	x, y := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i] = hex[(x>>(4*i))&0xf]
		b[8+i] = hex[(y>>(4*i))&0xf]
	}
	return string(b[:])
}

// httpMetrics are the per-route series of /metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenzhen_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fenzhen_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fenzhen_http_in_flight_requests",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// observe logs and measures every request. Only the route template is
// recorded, never the URL's query or the body: both can hold patient text.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		s.metrics.inFlight.Inc()
		err := next(c)
		if err != nil {
			s.handleError(err, c)
		}
		s.metrics.inFlight.Dec()
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		now := time.Now()
		el := now.Sub(start)
		method := c.Request().Method
		s.metrics.requests.WithLabelValues(route, method, statusLabel(status)).Inc()
		s.metrics.duration.WithLabelValues(route, method).Observe(el.Seconds())
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		if e, ok := err.(*Error); ok && e.shed {
			// Refused by admission control: rejected_total counts it by class
			// and reason; the log gets a summary, at most one line per
			// shedLogEvery, and each refusal only at debug.
			level = slog.LevelDebug
			if n, since, ok := s.access.noteShed(now); ok {
				s.log.LogAttrs(context.Background(), slog.LevelWarn, "admission control is refusing requests (429/503); per class and reason in fenzhen_admission_rejected_total",
					slog.Int64("refused", n), slog.Duration("since_last_summary", since))
			}
		}
		if s.log.Enabled(context.Background(), level) {
			s.log.LogAttrs(context.Background(), level, "request",
				slog.String("request_id", requestID(c)), slog.String("method", method),
				slog.String("route", route), slog.Int("status", status),
				slog.Duration("latency", el), slog.Int64("bytes_out", c.Response().Size))
		}
		return nil
	}
}

// recoverPanics turns a handler panic into a logged 500 without killing the server.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("handler panic", "request_id", requestID(c), "route", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errorf(CodeInternal, "internal error")
			}
		}()
		return next(c)
	}
}

// limitBody bounds the body every handler can read; reading past it fails
// with *http.MaxBytesError, which maps to 413.
func limitBody(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > n {
				return errorf(CodePayloadTooLarge, "request body of %d bytes exceeds the limit of %d bytes", req.ContentLength, n)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, n)
			return next(c)
		}
	}
}

// statusLabels are the code label of every status, so counting a request
// does not format one.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}
