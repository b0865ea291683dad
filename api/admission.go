package api

import (
	"cmp"
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/fenzhen/fenzhen/auth"
)

// access is the state of authentication and admission: the key ring, token
// buckets per key (or per client IP while auth is off) and a semaphore per
// route class that bounds work in flight.
type access struct {
	keys     atomic.Pointer[auth.Keyring]
	keyLims  sync.Map // key id → *bucket
	ipMu     sync.Mutex
	ipLims   map[string]*rate.Limiter
	slots    map[string]*slots // class → in-flight tokens; absent is unbounded
	wait     time.Duration
	rejected *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
}

// slots bounds the requests of one class in flight.
type slots struct {
	sem      chan struct{}
	inFlight prometheus.Gauge
}

// release frees the slot taken by acquire; nil (an unbounded class) is a no-op.
func (s *slots) release() {
	if s != nil {
		s.inFlight.Dec()
		<-s.sem
	}
}

// bucket is a key's limiter with the settings it was made from, so a reload
// that changes a key's rate replaces it.
type bucket struct {
	lim   *rate.Limiter
	rate  rate.Limit
	burst int
}

// ipLimiterCap bounds the per-IP limiters kept; past it, full (idle) buckets are dropped.
const ipLimiterCap = 8192

func newAccess(cfg Config, reg prometheus.Registerer) *access {
	a := &access{
		ipLims: map[string]*rate.Limiter{},
		slots:  map[string]*slots{},
		wait:   cfg.AdmissionWait,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenzhen_admission_rejected_total",
			Help: "Requests refused before their handler, by route class and reason (unauthenticated, permission_denied, rate_limited, overloaded).",
		}, []string{"class", "reason"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fenzhen_admission_in_flight",
			Help: "Requests holding an in-flight slot, by route class.",
		}, []string{"class"}),
	}
	for class, n := range cfg.MaxInFlight {
		if n > 0 {
			a.slots[class] = &slots{sem: make(chan struct{}, n), inFlight: a.inFlight.WithLabelValues(class)}
		}
	}
	reg.MustRegister(a.rejected, a.inFlight)
	return a
}

// limits turns a configured rate into a limiter's rate and burst; a zero rate is unlimited.
func limits(perSecond float64, burst int) (rate.Limit, int) {
	if perSecond <= 0 {
		return rate.Inf, 0
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(2*perSecond)))
	}
	return rate.Limit(perSecond), burst
}

func (a *access) keyLimiter(k *auth.Key, cfg *Config) *rate.Limiter {
	r, b := limits(cmp.Or(k.Rate, cfg.KeyRate), cmp.Or(k.Burst, cfg.KeyBurst))
	if r == rate.Inf {
		return nil
	}
	if v, ok := a.keyLims.Load(k.ID); ok {
		if bk := v.(*bucket); bk.rate == r && bk.burst == b {
			return bk.lim
		}
	}
	bk := &bucket{lim: rate.NewLimiter(r, b), rate: r, burst: b}
	a.keyLims.Store(k.ID, bk)
	return bk.lim
}

func (a *access) ipLimiter(ip string, cfg *Config) *rate.Limiter {
	r, b := limits(cfg.IPRate, cfg.IPBurst)
	if r == rate.Inf {
		return nil
	}
	a.ipMu.Lock()
	defer a.ipMu.Unlock()
	if lim := a.ipLims[ip]; lim != nil {
		return lim
	}
	if len(a.ipLims) >= ipLimiterCap {
		now := time.Now()
		for k, lim := range a.ipLims {
			if lim.TokensAt(now) >= float64(lim.Burst()) {
				delete(a.ipLims, k)
			}
		}
	}
	lim := rate.NewLimiter(r, b)
	a.ipLims[ip] = lim
	return lim
}

// take spends one token or says how long until one is there.
func take(lim *rate.Limiter) error {
	now := time.Now()
	if lim.AllowN(now, 1) {
		return nil
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return &Error{Code: CodeRateLimited, Message: "rate limit exceeded", RetryAfter: time.Second}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &Error{Code: CodeRateLimited, Message: "rate limit exceeded; retry after the time in Retry-After", RetryAfter: d}
	}
	return nil
}

// acquire takes an in-flight slot of class, waiting at most a.wait; the
// caller must release it. Waiting longer would only move the queue from the
// batcher into goroutines, so an overloaded class says 503.
func (a *access) acquire(ctx context.Context, class string) (*slots, error) {
	s := a.slots[class]
	if s == nil {
		return nil, nil
	}
	select {
	case s.sem <- struct{}{}:
	default:
		if a.wait <= 0 {
			return nil, overloaded(class)
		}
		t := time.NewTimer(a.wait)
		defer t.Stop()
		select {
		case s.sem <- struct{}{}:
		case <-t.C:
			return nil, overloaded(class)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.inFlight.Inc()
	return s, nil
}

func overloaded(class string) error {
	return errorf(CodeUnavailable, "the server is at its limit of concurrent %s requests; retry shortly", class)
}

// admit authenticates requests to protected routes, applies the token
// bucket of their key (or client IP while auth is off) and their class's
// in-flight limit. Open routes and CORS preflights pass untouched.
func (s *Server) admit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		scope := routeScope(req.URL.Path)
		if scope == "" || req.Method == "OPTIONS" {
			return next(c)
		}
		class := routeClass(req.URL.Path)
		var lim *rate.Limiter
		if s.cfg.Auth == AuthRequired {
			k, err := s.authenticate(c, scope)
			if err != nil {
				s.access.reject(class, err)
				return err
			}
			c.Set(ContextTenant, k.Tenant)
			c.Set(ContextKeyID, k.ID)
			lim = s.access.keyLimiter(k, &s.cfg)
		} else {
			lim = s.access.ipLimiter(c.RealIP(), &s.cfg)
		}
		if lim != nil {
			if err := take(lim); err != nil {
				s.access.reject(class, err)
				return err
			}
		}
		slot, err := s.access.acquire(req.Context(), class)
		if err != nil {
			s.access.reject(class, err)
			return err
		}
		defer slot.release()
		return next(c)
	}
}

func (a *access) reject(class string, err error) {
	reason := "overloaded"
	if e, ok := err.(*Error); ok && e.Code != CodeUnavailable {
		reason = e.Code
	} else if !ok {
		reason = "deadline"
	}
	a.rejected.WithLabelValues(class, reason).Inc()
}

const headerRequestTimeout = "X-Request-Timeout"

// withDeadline gives each request's work its deadline: the class's from
// ClassTimeouts, else RequestTimeout, lowered (never raised) by an
// X-Request-Timeout header of a duration ("250ms") or seconds ("2", "0.5").
func (s *Server) withDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		d := s.cfg.RequestTimeout
		if cd, ok := s.cfg.ClassTimeouts[routeClass(c.Request().URL.Path)]; ok {
			d = cd
		}
		if h := c.Request().Header.Get(headerRequestTimeout); h != "" {
			hd, err := parseRequestTimeout(h)
			if err != nil {
				return err
			}
			d = min(d, hd)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), d)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func parseRequestTimeout(h string) (time.Duration, error) {
	h = strings.TrimSpace(h)
	var d time.Duration
	if f, err := strconv.ParseFloat(h, 64); err == nil {
		if f > 0 && f < math.MaxInt64/float64(time.Second) {
			d = time.Duration(f * float64(time.Second))
		}
	} else if pd, err := time.ParseDuration(h); err == nil {
		d = pd
	}
	if d <= 0 {
		return 0, errorf(CodeInvalidArgument, "%s %q: want a positive duration such as 250ms or seconds such as 2", headerRequestTimeout, h)
	}
	return d, nil
}
