package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock replaces the client's sleep and clock: sleeping records the wait
// and moves the clock on, so tests check waits without waiting.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	f.t = f.t.Add(d)
	return ctx.Err()
}

// newFakeClient is a client of url whose waits go to a fake clock and whose jitter is ½.
func newFakeClient(t *testing.T, url string, opts ...Option) (*Client, *fakeClock) {
	t.Helper()
	c, err := New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()} // real now, so that context deadlines mean the same to both
	c.sleep, c.now, c.jitter = clock.sleep, clock.now, func() float64 { return 0.5 }
	return c, clock
}

const okTriage = `{"request_id":"r-3","symptoms":[],"departments":[{"code":"07","name":"儿科","parent_code":"","probability":0.8}],"urgency":{"level":"urgent","label":"尽快就医（24小时内）","red_flags":[],"reasons":[]},"diseases":[],"next_question":null,"models":[],"disclaimer":"d"}`

// scripted answers attempt i with script[i] (the last one repeats) and records each request.
type scripted struct {
	mu       sync.Mutex
	script   []func(w http.ResponseWriter)
	requests []*http.Request
	bodies   []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	s.script[min(n, len(s.script)-1)](w)
}

func (s *scripted) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func answer(status int, retryAfter, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", fmt.Sprintf("srv-%d", status))
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func envelope(code, msg string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":%q,"request_id":"env-id"}}`, code, msg)
}

// 429 with Retry-After: 1 twice, then 200: three attempts, each wait at least
// the second the server asked for (plus jitter of at most BaseDelay).
func TestRetryHonoursRetryAfter(t *testing.T) {
	srv := &scripted{script: []func(http.ResponseWriter){
		answer(429, "1", envelope(CodeRateLimited, "too many requests")),
		answer(429, "1", envelope(CodeRateLimited, "too many requests")),
		answer(200, "", okTriage),
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, clock := newFakeClient(t, ts.URL, WithAPIKey("k-123"))
	resp, err := c.Triage(WithRequestID(context.Background(), "his-42"), TriageRequest{Text: "孩子发烧", Age: Age(3)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.RequestID != "r-3" || resp.Urgency.Level != LevelUrgent || resp.Departments[0].Name != "儿科" || resp.NextQuestion != nil {
		t.Errorf("decoded %+v", resp)
	}
	if srv.attempts() != 3 {
		t.Fatalf("%d attempts, want 3", srv.attempts())
	}
	want := []time.Duration{time.Second + 50*time.Millisecond, time.Second + 50*time.Millisecond}
	if fmt.Sprint(clock.waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", clock.waits, want)
	}
	for i, r := range srv.requests {
		if r.Header.Get("Authorization") != "Bearer k-123" || r.Header.Get("X-Request-Id") != "his-42" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d headers %v", i+1, r.Header)
		}
		if r.Header.Get("X-Request-Timeout") != "" {
			t.Errorf("attempt %d sent X-Request-Timeout %q without a deadline", i+1, r.Header.Get("X-Request-Timeout"))
		}
		if srv.bodies[i] != `{"text":"孩子发烧","age":3}` {
			t.Errorf("attempt %d body %s", i+1, srv.bodies[i])
		}
	}
}

// 503 without Retry-After: exponential backoff with jitter, at most MaxAttempts.
func TestRetryBackoffBounded(t *testing.T) {
	srv := &scripted{script: []func(http.ResponseWriter){answer(503, "", envelope(CodeUnavailable, "queue full"))}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, clock := newFakeClient(t, ts.URL, WithRetry(RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 150 * time.Millisecond}))
	_, err := c.Departments(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || e.Code != CodeUnavailable || e.Message != "queue full" || e.RequestID != "env-id" || e.Attempts != 4 {
		t.Fatalf("err %#v", err)
	}
	if !IsCode(err, CodeUnavailable) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("%v", err)
	}
	// BaseDelay·2^(n-1) capped at MaxDelay, scaled by ½ + ½·jitter(=½) = ¾.
	want := []time.Duration{75 * time.Millisecond, 112500 * time.Microsecond, 112500 * time.Microsecond}
	if srv.attempts() != 4 || fmt.Sprint(clock.waits) != fmt.Sprint(want) {
		t.Errorf("%d attempts, waits %v, want 4 and %v", srv.attempts(), clock.waits, want)
	}
}

func TestRetryLimits(t *testing.T) {
	for _, c := range []struct {
		name     string
		script   func(http.ResponseWriter)
		policy   RetryPolicy
		deadline time.Duration
		attempts int
		code     string
	}{
		{"400 is final", answer(400, "", envelope(CodeInvalidArgument, "text must not be empty")), RetryPolicy{}, 0, 1, CodeInvalidArgument},
		{"404 is final", answer(404, "", envelope(CodeNotFound, "no disease")), RetryPolicy{}, 0, 1, CodeNotFound},
		{"504 is final", answer(504, "", envelope(CodeDeadlineExceeded, "deadline")), RetryPolicy{}, 0, 1, CodeDeadlineExceeded},
		{"Retry-After past MaxElapsed", answer(429, "30", envelope(CodeRateLimited, "slow down")), RetryPolicy{MaxElapsed: 20 * time.Second}, 0, 1, CodeRateLimited},
		{"Retry-After past the deadline", answer(503, "60", envelope(CodeUnavailable, "busy")), RetryPolicy{MaxDelay: time.Minute, MaxElapsed: 10 * time.Minute}, 30 * time.Second, 1, CodeUnavailable},
		{"MaxElapsed ends the retries", answer(503, "2", envelope(CodeUnavailable, "busy")), RetryPolicy{MaxAttempts: 10, MaxElapsed: 5 * time.Second}, 0, 3, CodeUnavailable},
		{"retries disabled", answer(429, "1", envelope(CodeRateLimited, "slow down")), RetryPolicy{MaxAttempts: 1}, 0, 1, CodeRateLimited},
		{"proxy page", answer(502, "", "<html>Bad Gateway</html>"), RetryPolicy{}, 0, 1, CodeUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := &scripted{script: []func(http.ResponseWriter){c.script}}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			cl, _ := newFakeClient(t, ts.URL, WithRetry(c.policy))
			ctx := context.Background()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.deadline)
				defer cancel()
			}
			_, err := cl.Disease(ctx, "acute_myocardial_infarction")
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || e.Attempts != c.attempts || srv.attempts() != c.attempts {
				t.Fatalf("err %v (attempts %d, server saw %d), want %s after %d", err, e.Attempts, srv.attempts(), c.code, c.attempts)
			}
		})
	}
}

// Failed connections are retried; Ready is never retried.
func TestRetryConnectionErrorsAndReady(t *testing.T) {
	ts := httptest.NewServer(&scripted{script: []func(http.ResponseWriter){answer(200, "", okTriage)}})
	defer ts.Close()
	ft := &failingTransport{fail: 2, next: http.DefaultTransport}
	c, clock := newFakeClient(t, ts.URL, WithHTTPClient(&http.Client{Transport: ft}))
	if _, err := c.Triage(context.Background(), TriageRequest{Text: "头疼"}); err != nil {
		t.Fatal(err)
	}
	if ft.calls != 3 || len(clock.waits) != 2 {
		t.Errorf("%d calls, waits %v: want 3 calls after 2 waits", ft.calls, clock.waits)
	}

	notReady := &scripted{script: []func(http.ResponseWriter){answer(503, "", `{"status":"not_ready","knowledge":true,"triage":false,"models":[]}`)}}
	ts2 := httptest.NewServer(notReady)
	defer ts2.Close()
	c2, _ := newFakeClient(t, ts2.URL)
	r, err := c2.Ready(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || r.Status != "not_ready" || r.Triage || notReady.attempts() != 1 {
		t.Errorf("Ready: %+v %v after %d attempts", r, err, notReady.attempts())
	}
}

type failingTransport struct {
	fail, calls int
	next        http.RoundTripper
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls++
	if f.calls <= f.fail {
		return nil, errors.New("connection reset by peer")
	}
	return f.next.RoundTrip(r)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		" 120 ":                         2 * time.Minute,
		"-3":                            0,
		"soon":                          0,
		"Wed, 01 May 2024 08:00:30 GMT": 30 * time.Second,
		"Wed, 01 May 2024 07:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewAndSniff(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	dicom := append(make([]byte, 128), []byte("DICM....")...)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	for b, want := range map[string]string{string(dicom): "application/dicom", string(png): "image/png", string(jpeg): "image/jpeg", "hello": "application/octet-stream"} {
		if got := sniffImage([]byte(b)); got != want {
			t.Errorf("sniff %q = %s, want %s", b[:min(len(b), 8)], got, want)
		}
	}
}

// A context deadline travels as X-Request-Timeout: the seconds left when each attempt starts.
func TestDeadlineSentAsRequestTimeout(t *testing.T) {
	srv := &scripted{script: []func(http.ResponseWriter){
		answer(503, "2", envelope(CodeUnavailable, "busy")),
		answer(200, "", okTriage),
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c, clock := newFakeClient(t, ts.URL)
	ctx, cancel := context.WithDeadline(context.Background(), clock.now().Add(10*time.Second))
	defer cancel()
	if _, err := c.Triage(ctx, TriageRequest{Text: "头疼"}); err != nil {
		t.Fatal(err)
	}
	// The fake clock moved 2.05 s between the attempts.
	got := []string{srv.requests[0].Header.Get("X-Request-Timeout"), srv.requests[1].Header.Get("X-Request-Timeout")}
	if got[0] != "10.000" || got[1] != "7.950" {
		t.Errorf("X-Request-Timeout %q, want 10.000 then 7.950", got)
	}
}
