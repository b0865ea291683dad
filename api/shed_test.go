package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// writeEnvelope writes what encoding/json (as echo's c.JSON) would.
func TestEnvelopeMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain text; retry shortly", `quote " and \ backslash`, "<script>&amp;</script>",
		"中文消息", "tab\tnewline\n\x00\x1f", "\u2028\u2029", "bad utf-8 \xff\xfe", "del \x7f", "id-0123456789abcdef"} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(errorBody{Error: errorDetail{Code: CodeUnavailable, Message: s, RequestID: s}}); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest("GET", "/", nil), rec)
		if err := writeEnvelope(c.Response(), http.StatusServiceUnavailable, CodeUnavailable, s, s); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want.String())
		}
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%q: %d %q", s, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

// Refusals keep the whole contract (envelope, request id, Retry-After,
// security headers), are counted by class and reason, and are not logged
// one line each: one summary line says that admission control is refusing.
func TestShedAnswersAndLog(t *testing.T) {
	s, logs := bareServer(t, func(c *Config) {
		c.MaxInFlight = map[string]int{"triage": 1}
		c.AdmissionWait = 0
	})
	slot, err := s.access.acquire(context.Background(), "triage")
	if err != nil {
		t.Fatal(err)
	}
	defer slot.release()
	const n = 5
	for i := range n {
		rec := send(t, s, "POST", "/v1/triage", []byte(overloadBody), "X-Request-Id", "shed-"+string(rune('a'+i)))
		e := errEnvelope(t, rec)
		if rec.Code != http.StatusServiceUnavailable || e.Code != CodeUnavailable || e.RequestID != "shed-"+string(rune('a'+i)) ||
			rec.Header().Get("X-Request-Id") != e.RequestID || rec.Header().Get("Retry-After") != "1" ||
			rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("refusal %d: %d %+v %v", i, rec.Code, e, rec.Header())
		}
	}
	if got := testutil.ToFloat64(s.access.rejected.WithLabelValues("triage", "overloaded")); got != n {
		t.Errorf("rejected{triage,overloaded} = %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/v1/triage", "POST", "503")); got != n {
		t.Errorf("requests{503} = %v, want %d", got, n)
	}
	lines := strings.Count(logs.String(), "\n")
	if !strings.Contains(logs.String(), "admission control is refusing requests") || strings.Contains(logs.String(), `"msg":"request"`) {
		t.Errorf("want one summary line and no per-request lines, got %d lines:\n%s", lines, logs)
	}
	if c := strings.Count(logs.String(), "admission control is refusing"); c != 1 {
		t.Errorf("%d summary lines, want 1", c)
	}
}

// BenchmarkShed is the cost of refusing a triage request whose class is at
// its in-flight limit: the whole middleware chain, the 503 envelope, the
// metrics and the log, without the network (httptest's request and
// recorder are part of the figure).
func BenchmarkShed(b *testing.B) {
	s, _ := bareServer(b, func(c *Config) {
		c.MaxInFlight = map[string]int{"triage": 1}
		c.AdmissionWait = 0
	})
	slot, err := s.access.acquire(context.Background(), "triage")
	if err != nil {
		b.Fatal(err)
	}
	defer slot.release()
	body := []byte(overloadBody)
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/triage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}

// overloadBody is a triage request as the overload workload sends it.
const overloadBody = `{"text":"胸口疼得厉害，出了一身冷汗","age":58,"sex":"male"}`

// A class at its limit lets as many requests again wait; one more is
// refused at once, however long admission_wait is.
func TestWaitingRoomBounded(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) {
		c.MaxInFlight = map[string]int{"triage": 1}
		c.AdmissionWait = time.Hour
	})
	slot, err := s.access.acquire(context.Background(), "triage")
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan int, 1)
	go func() { waiter <- send(t, s, "GET", "/v1/triage/ping", nil).Code }()
	deadline := time.Now().Add(5 * time.Second)
	for s.access.slots["triage"].inside.Load() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second request never waited")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	rec := send(t, s, "GET", "/v1/triage/ping", nil)
	if e := errEnvelope(t, rec); e.Code != CodeUnavailable || time.Since(start) > time.Minute {
		t.Fatalf("past the waiting room: %d %s", rec.Code, e.Code)
	}
	slot.release()
	if code := <-waiter; code != http.StatusOK {
		t.Errorf("the waiter got %d, want 200 once the slot was freed", code)
	}
	if n := s.access.slots["triage"].inside.Load(); n != 0 {
		t.Errorf("%d requests still counted inside", n)
	}
}
