package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRateLimitPerKey(t *testing.T) {
	keys := writeKeys(t)
	s := authServer(t, keys, nil)
	// slow: 0.01 requests/s with a bucket of 1.
	if rec := send(t, s, "GET", "/v1/knowledge/ping", nil, "X-API-Key", keys.limited); rec.Code != 200 {
		t.Fatalf("first request: %d", rec.Code)
	}
	rec := send(t, s, "GET", "/v1/knowledge/ping", nil, "X-API-Key", keys.limited)
	if e := errEnvelope(t, rec); e.Code != CodeRateLimited {
		t.Fatalf("second request: %s", e.Code)
	}
	// The next token is 100 s away; Retry-After says so (not the 1 s default).
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 90 || ra > 100 {
		t.Errorf("Retry-After %q, want about 100", rec.Header().Get("Retry-After"))
	}
	// Another tenant's bucket is its own.
	if rec := send(t, s, "GET", "/v1/knowledge/ping", nil, "X-API-Key", keys.triage); rec.Code != 200 {
		t.Errorf("other key: %d", rec.Code)
	}
	// The refusal is counted by class and reason.
	if got := testutil.ToFloat64(s.access.rejected.WithLabelValues("knowledge", CodeRateLimited)); got != 1 {
		t.Errorf("rejected{rate_limited} = %v", got)
	}

	// The server default applies to keys without their own rate.
	s = authServer(t, keys, func(c *Config) { c.KeyRate = 0.01; c.KeyBurst = 2 })
	codes := ""
	for range 3 {
		codes += strconv.Itoa(send(t, s, "GET", "/v1/triage/ping", nil, "X-API-Key", keys.triage).Code) + " "
	}
	if codes != "200 200 429 " {
		t.Errorf("default key rate with burst 2: %s", codes)
	}
}

func TestRateLimitPerIPInDevMode(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) { c.IPRate = 0.01; c.IPBurst = 1 })
	from := func(ip, xff string) int {
		req := httptest.NewRequest("GET", "/v1/knowledge/ping", nil)
		req.RemoteAddr = ip + ":40000"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	if a, b := from("192.0.2.1", ""), from("192.0.2.1", ""); a != 200 || b != 429 {
		t.Errorf("same IP: %d then %d", a, b)
	}
	if c := from("192.0.2.2", ""); c != 200 {
		t.Errorf("other IP: %d", c)
	}
	// X-Forwarded-For is not trusted by default, so it cannot dodge the limit.
	if c := from("192.0.2.1", "203.0.113.9"); c != 429 {
		t.Errorf("spoofed X-Forwarded-For: %d", c)
	}
	// Open routes are never limited.
	for range 3 {
		if rec := send(t, s, "GET", "/healthz", nil); rec.Code != 200 {
			t.Fatalf("healthz: %d", rec.Code)
		}
	}
	// Off by default.
	s, _ = bareServer(t, nil)
	for range 50 {
		if rec := send(t, s, "GET", "/v1/knowledge/ping", nil); rec.Code != 200 {
			t.Fatalf("default dev mode limited a client: %d", rec.Code)
		}
	}
}

// A class at its in-flight limit makes the next request wait at most
// AdmissionWait and then answers 503 with Retry-After, instead of queueing.
func TestInFlightLimit(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) {
		c.MaxInFlight = map[string]int{"imaging": 1}
		c.AdmissionWait = 5 * time.Millisecond
	})
	entered, release := make(chan struct{}), make(chan struct{})
	s.echo.GET("/v1/imaging/block", func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	})
	first := make(chan int, 1)
	go func() { first <- send(t, s, "GET", "/v1/imaging/block", nil).Code }()
	<-entered

	rec := send(t, s, "GET", "/v1/imaging/ping", nil)
	if e := errEnvelope(t, rec); e.Code != CodeUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d %s, Retry-After %q", rec.Code, e.Code, rec.Header().Get("Retry-After"))
	}
	if got := testutil.ToFloat64(s.access.inFlight.WithLabelValues("imaging")); got != 1 {
		t.Errorf("in-flight gauge %v", got)
	}
	// Other classes are not held back.
	if rec := send(t, s, "GET", "/v1/triage/ping", nil); rec.Code != 200 {
		t.Errorf("triage while imaging is full: %d", rec.Code)
	}
	close(release)
	if code := <-first; code != 204 {
		t.Fatalf("blocked request: %d", code)
	}
	if rec := send(t, s, "GET", "/v1/imaging/ping", nil); rec.Code != 200 {
		t.Errorf("after the slot was freed: %d", rec.Code)
	}
	if got := testutil.ToFloat64(s.access.rejected.WithLabelValues("imaging", "overloaded")); got != 1 {
		t.Errorf("rejected{imaging,overloaded} = %v", got)
	}
}

// A request waiting for a slot gives up when its own deadline passes: 504, not 503.
func TestInFlightWaitHonoursDeadline(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) {
		c.MaxInFlight = map[string]int{"imaging": 1}
		c.AdmissionWait = time.Hour
	})
	entered, release := make(chan struct{}), make(chan struct{})
	s.echo.GET("/v1/imaging/block", func(c echo.Context) error {
		entered <- struct{}{}
		<-release
		return c.NoContent(http.StatusNoContent)
	})
	done := make(chan struct{})
	go func() { send(t, s, "GET", "/v1/imaging/block", nil); close(done) }()
	<-entered
	rec := send(t, s, "GET", "/v1/imaging/ping", nil, headerRequestTimeout, "20ms")
	if e := errEnvelope(t, rec); e.Code != CodeDeadlineExceeded {
		t.Errorf("waiting past the deadline: %s", e.Code)
	}
	close(release)
	<-done
}

func TestRequestDeadline(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) {
		c.RequestTimeout = 2 * time.Second
		c.ClassTimeouts = map[string]time.Duration{"imaging": time.Second}
	})
	// wait blocks until the request's deadline.
	s.echo.GET("/v1/triage/wait", func(c echo.Context) error {
		<-c.Request().Context().Done()
		return c.Request().Context().Err()
	})
	// deadline reports how long the request was given.
	deadline := func(c echo.Context) error {
		dl, ok := c.Request().Context().Deadline()
		return c.JSON(http.StatusOK, map[string]any{"ok": ok, "left_ms": time.Until(dl).Milliseconds()})
	}
	s.echo.GET("/v1/triage/deadline", deadline)
	s.echo.GET("/v1/imaging/deadline", deadline)

	rec := send(t, s, "GET", "/v1/triage/wait", nil, headerRequestTimeout, "10ms")
	if e := errEnvelope(t, rec); e.Code != CodeDeadlineExceeded || rec.Code != 504 {
		t.Fatalf("tiny X-Request-Timeout: %d %s", rec.Code, e.Code)
	}

	left := func(path string, header ...string) int64 {
		rec := send(t, s, "GET", path, nil, header...)
		var got struct {
			OK     bool  `json:"ok"`
			LeftMS int64 `json:"left_ms"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || !got.OK {
			t.Fatalf("%s %v: %d %s", path, header, rec.Code, rec.Body)
		}
		return got.LeftMS
	}
	for _, c := range []struct {
		path, header string
		max          int64 // milliseconds the handler may have at most
	}{
		{"/v1/triage/deadline", "", 2000},
		{"/v1/imaging/deadline", "", 1000}, // the class override
		{"/v1/triage/deadline", "250ms", 250},
		{"/v1/triage/deadline", "0.5", 500},
		{"/v1/triage/deadline", "1h", 2000},  // cannot raise it
		{"/v1/imaging/deadline", "30", 1000}, // nor the class's
	} {
		var got int64
		if c.header == "" {
			got = left(c.path)
		} else {
			got = left(c.path, headerRequestTimeout, c.header)
		}
		if got > c.max || got <= 0 {
			t.Errorf("%s with %q: %d ms left, want (0, %d]", c.path, c.header, got, c.max)
		}
	}
	for _, bad := range []string{"0", "-1s", "soon", "NaN", "Inf", "1e400"} {
		rec := send(t, s, "GET", "/v1/triage/deadline", nil, headerRequestTimeout, bad)
		if e := errEnvelope(t, rec); e.Code != CodeInvalidArgument {
			t.Errorf("X-Request-Timeout %q: %s", bad, e.Code)
		}
	}
}

func TestParseRequestTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"250ms": 250 * time.Millisecond, "2": 2 * time.Second, "0.5": 500 * time.Millisecond, " 1s ": time.Second, "1m30s": 90 * time.Second,
	} {
		if got, err := parseRequestTimeout(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
}

// The batcher drops requests whose context ended while queued (see
// inference.TestDeadlineAndCancellation); here: the admission slot of a
// request whose client went away is freed for the next one.
func TestCancelledRequestFreesSlot(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) { c.MaxInFlight = map[string]int{"imaging": 1}; c.AdmissionWait = 0 })
	entered := make(chan struct{})
	s.echo.GET("/v1/imaging/block", func(c echo.Context) error {
		close(entered)
		<-c.Request().Context().Done()
		return c.Request().Context().Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		req := httptest.NewRequest("GET", "/v1/imaging/block", nil).WithContext(ctx)
		s.Handler().ServeHTTP(httptest.NewRecorder(), req)
		close(done)
	}()
	<-entered
	if rec := send(t, s, "GET", "/v1/imaging/ping", nil); rec.Code != 503 {
		t.Fatalf("slot taken: %d", rec.Code)
	}
	cancel()
	<-done
	if rec := send(t, s, "GET", "/v1/imaging/ping", nil); rec.Code != 200 {
		t.Errorf("after the client left: %d", rec.Code)
	}
}
