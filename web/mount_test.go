package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/api"
)

// The console as the API server mounts it: / and /static/ answer with the
// page and its files, and no API, health or metrics route is shadowed.
func TestMountedInAPIServer(t *testing.T) {
	srv := api.New(api.DefaultConfig(), api.Deps{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := srv.Handler()
	do := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader("{}")))
		return w
	}
	for _, c := range []struct {
		method, path string
		status       int
		contentType  string // prefix
	}{
		{"GET", "/", 200, "text/html"},
		{"GET", "/static/app.js", 200, "text/javascript"},
		{"GET", "/static/app.css", 200, "text/css"},
		{"GET", "/healthz", 200, "application/json"},
		{"GET", "/readyz", 503, "application/json"},
		{"GET", "/metrics", 200, "text/plain"},
		{"GET", "/v2", 200, "application/json"},
		{"POST", "/v1/triage", 503, "application/json"}, // no triage engine in Deps
		{"GET", "/v1/nothing", 404, "application/json"},
		{"GET", "/v2/health/live", 200, "application/json"},
		{"GET", "/staticx/app.js", 404, "application/json"},
	} {
		w := do(c.method, c.path)
		if w.Code != c.status || !strings.HasPrefix(w.Header().Get("Content-Type"), c.contentType) {
			t.Errorf("%s %s: %d %q, want %d %s…", c.method, c.path, w.Code, w.Header().Get("Content-Type"), c.status, c.contentType)
		}
	}

	w := do("GET", "/static/missing.js")
	var env struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Code != 404 || env.Error.Code != "not_found" {
		t.Fatalf("missing file: %d %s", w.Code, w.Body)
	}
	if id := w.Header().Get("X-Request-Id"); id == "" || env.Error.RequestID != id {
		t.Errorf("envelope request_id %q, header %q", env.Error.RequestID, id)
	}
}
