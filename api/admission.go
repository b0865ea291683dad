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

	// Refusals (429, 503) are not logged one by one: under overload that
	// would be most of the log and a good share of the CPU. observe counts
	// them here and writes one summary line per shedLogEvery.
	shedCount  atomic.Int64
	shedLogged atomic.Int64 // unix nanoseconds of the last summary
}

// shedLogEvery is the most often the refusal summary is logged.
const shedLogEvery = 10 * time.Second

// noteShed counts one refusal at now; when the last summary is older than
// shedLogEvery it returns the refusals since then, once, for the caller to log.
func (a *access) noteShed(now time.Time) (n int64, since time.Duration, log bool) {
	a.shedCount.Add(1)
	last, t := a.shedLogged.Load(), now.UnixNano()
	if t-last < int64(shedLogEvery) || !a.shedLogged.CompareAndSwap(last, t) {
		return 0, 0, false
	}
	since = time.Duration(t - last)
	if last == 0 {
		since = 0
	}
	return a.shedCount.Swap(0), since, true
}

// slots bounds the requests of one class in flight.
type slots struct {
	sem      chan struct{}
	inFlight prometheus.Gauge
	full     *Error             // the 503 of this class, made once: refusing allocates nothing
	refused  prometheus.Counter // rejected{class, overloaded}
	// inside counts the requests holding a slot or waiting for one; at most
	// maxInside may be. Under sustained overload the waiters are always
	// there, so an admitted request has waited for about maxInside others
	// to finish: bounding the waiters (not only the wait) bounds admitted
	// latency (Little's law), and refuses the rest at once, without a
	// timer or a parked goroutine. A request leaves when its handler has
	// returned, before its answer is flushed, so closed-loop clients no
	// more numerous than maxInside are never refused for the count.
	inside    atomic.Int64
	maxInside int64
}

// waitersPerSlot is how many requests may wait per in-flight slot.
const waitersPerSlot = 1

// enter counts a request in; false when the slots and the waiting room are full.
func (s *slots) enter() bool {
	if s.inside.Add(1) > s.maxInside {
		s.inside.Add(-1)
		return false
	}
	return true
}

// release frees the slot taken by acquire; nil (an unbounded class) is a no-op.
func (s *slots) release() {
	if s != nil {
		s.inFlight.Dec()
		<-s.sem
		s.inside.Add(-1)
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
			a.slots[class] = &slots{sem: make(chan struct{}, n), inFlight: a.inFlight.WithLabelValues(class),
				full: &Error{Code: CodeUnavailable, shed: true,
					Message: "the server is at its limit of concurrent " + class + " requests; retry shortly"},
				refused: a.rejected.WithLabelValues(class, "overloaded"), maxInside: (1 + waitersPerSlot) * int64(n)}
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
		return &Error{Code: CodeRateLimited, Message: "rate limit exceeded", RetryAfter: time.Second, shed: true}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &Error{Code: CodeRateLimited, Message: "rate limit exceeded; retry after the time in Retry-After", RetryAfter: d, shed: true}
	}
	return nil
}

// acquire takes an in-flight slot of class, waiting at most a.wait behind
// at most waitersPerSlot waiters per slot; the caller must release it.
// Waiting longer would only move the queue from the batcher into
// goroutines, so an overloaded class says 503.
func (a *access) acquire(ctx context.Context, class string) (*slots, error) {
	s := a.slots[class]
	if s == nil {
		return nil, nil
	}
	if !s.enter() {
		return nil, s.full
	}
	if !s.try() {
		if err := s.await(ctx, a.wait); err != nil {
			s.inside.Add(-1)
			return nil, err
		}
	}
	return s, nil
}

// try takes a free slot at once, if there is one.
func (s *slots) try() bool {
	select {
	case s.sem <- struct{}{}:
		s.inFlight.Inc()
		return true
	default:
		return false
	}
}

// await waits up to d for a slot. A full class answers s.full, the same
// *Error each time.
func (s *slots) await(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return s.full
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		s.inFlight.Inc()
		return nil
	case <-t.C:
		return s.full
	case <-ctx.Done():
		return ctx.Err()
	}
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
		slot := s.access.slots[class] // nil: the class is unbounded
		if slot != nil && !slot.enter() {
			// Every slot taken and the waiting room full: the cheapest refusal.
			slot.refused.Inc()
			return slot.full
		}
		if slot != nil && !slot.try() {
			// Wait for a slot at most admission_wait and never past the
			// request's own deadline (504 then, not 503); the time waited
			// counts against that deadline.
			if s.access.wait <= 0 {
				slot.inside.Add(-1)
				slot.refused.Inc()
				return slot.full
			}
			arrived := time.Now()
			d, err := s.requestTimeout(c)
			if err != nil {
				slot.inside.Add(-1)
				return err
			}
			wait, final := s.access.wait, false
			if d <= wait {
				wait, final = d, true
			}
			if err := slot.await(req.Context(), wait); err != nil {
				slot.inside.Add(-1)
				if err == slot.full && final {
					err = context.DeadlineExceeded
				}
				s.access.reject(class, err)
				return err
			}
			ctx, cancel := context.WithDeadline(req.Context(), arrived.Add(d))
			defer cancel()
			c.SetRequest(req.WithContext(ctx))
		}
		defer slot.release()
		return next(c)
	}
}

func (a *access) reject(class string, err error) {
	if s := a.slots[class]; s != nil && err == s.full {
		s.refused.Inc()
		return
	}
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
//
// It runs after admit, so a refused request never pays for a context and a
// timer; a request that waited for its slot already has its deadline,
// counted from before the wait, and this one can only be later.
func (s *Server) withDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		d, err := s.requestTimeout(c)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), d)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// requestTimeout is the request's time budget: its class's or the default,
// lowered by X-Request-Timeout.
func (s *Server) requestTimeout(c echo.Context) (time.Duration, error) {
	d := s.cfg.RequestTimeout
	if cd, ok := s.cfg.ClassTimeouts[routeClass(c.Request().URL.Path)]; ok {
		d = cd
	}
	if h := c.Request().Header.Get(headerRequestTimeout); h != "" {
		hd, err := parseRequestTimeout(h)
		if err != nil {
			return 0, err
		}
		d = min(d, hd)
	}
	return d, nil
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
