package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fenzhen/fenzhen/auth"
)

// bareServer is a server without models or knowledge (their routes answer
// 503) plus test routes in each class, for the middleware tests. It returns
// the server and what it logged.
func bareServer(t testing.TB, edit func(*Config)) (*Server, *bytes.Buffer) {
	t.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	var logs bytes.Buffer
	s := New(cfg, Deps{Registry: prometheus.NewRegistry()}, slog.New(slog.NewJSONHandler(&logs, nil)))
	tenant := func(c echo.Context) error {
		who, _ := c.Get(ContextTenant).(string)
		id, _ := c.Get(ContextKeyID).(string)
		return c.JSON(http.StatusOK, map[string]string{"tenant": who, "key_id": id})
	}
	for _, p := range []string{"/v1/knowledge/ping", "/v1/triage/ping", "/v1/imaging/ping", "/v1/other", "/v2/ping", "/admin/ping", "/static/ping"} {
		s.echo.GET(p, tenant)
	}
	return s, &logs
}

// send serves req and returns the recorder; header is name, value pairs.
func send(t testing.TB, s *Server, method, path string, body []byte, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// errEnvelope decodes an error body, failing the test when it is not the API.md envelope.
func errEnvelope(t testing.TB, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.RequestID == "" {
		t.Fatalf("%d %q is not an error envelope: %v", rec.Code, rec.Body.String(), err)
	}
	if codeStatus[e.Error.Code] != rec.Code {
		t.Fatalf("code %s with status %d", e.Error.Code, rec.Code)
	}
	return e.Error
}

type testKeys struct {
	path                          string
	triage, revoked, all, limited string // secrets
	triageID                      string
}

// writeKeys makes a key file: clinic-a (triage, knowledge), clinic-b
// (revoked), ops (*), and slow (knowledge, 0.01 requests/s, burst 1).
func writeKeys(t testing.TB) testKeys {
	t.Helper()
	k := testKeys{path: filepath.Join(t.TempDir(), "keys.json")}
	f := &auth.File{}
	now := time.Now()
	var err error
	add := func(tenant string, scopes []string, rate float64, burst int) (string, auth.Key) {
		secret, key, aerr := f.Add(tenant, scopes, rate, burst, now)
		if aerr != nil {
			t.Fatal(aerr)
		}
		return secret, key
	}
	var tk, rk auth.Key
	k.triage, tk = add("clinic-a", []string{"triage", "knowledge"}, 0, 0)
	k.triageID = tk.ID
	k.revoked, rk = add("clinic-b", []string{"*"}, 0, 0)
	k.all, _ = add("ops", []string{"*"}, 0, 0)
	k.limited, _ = add("slow", []string{"knowledge"}, 0.01, 1)
	if _, err = f.Revoke(rk.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(k.path); err != nil {
		t.Fatal(err)
	}
	return k
}

func authServer(t testing.TB, keys testKeys, edit func(*Config)) *Server {
	t.Helper()
	s, _ := bareServer(t, func(c *Config) {
		c.Auth = AuthRequired
		c.KeysFile = keys.path
		c.KeyRate = 0
		if edit != nil {
			edit(c)
		}
	})
	if err := s.LoadKeys(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuth(t *testing.T) {
	keys := writeKeys(t)
	s := authServer(t, keys, nil)
	cases := []struct {
		name   string
		path   string
		header []string
		status int
		code   string
		tenant string
	}{
		{"no key", "/v1/knowledge/ping", nil, 401, CodeUnauthenticated, ""},
		{"wrong key", "/v1/knowledge/ping", []string{"Authorization", "Bearer fz_nope_x"}, 401, CodeUnauthenticated, ""},
		{"tampered key", "/v1/knowledge/ping", []string{"Authorization", "Bearer " + keys.triage + "x"}, 401, CodeUnauthenticated, ""},
		{"basic scheme", "/v1/knowledge/ping", []string{"Authorization", "Basic " + keys.triage}, 401, CodeUnauthenticated, ""},
		{"revoked key", "/v1/knowledge/ping", []string{"Authorization", "Bearer " + keys.revoked}, 403, CodePermissionDenied, ""},
		{"out of scope", "/v1/imaging/ping", []string{"Authorization", "Bearer " + keys.triage}, 403, CodePermissionDenied, ""},
		{"out of scope v2", "/v2/ping", []string{"X-API-Key", keys.triage}, 403, CodePermissionDenied, ""},
		{"unlisted API route needs *", "/v1/other", []string{"X-API-Key", keys.triage}, 403, CodePermissionDenied, ""},
		{"admin needs *", "/admin/ping", []string{"X-API-Key", keys.triage}, 403, CodePermissionDenied, ""},
		{"bearer", "/v1/knowledge/ping", []string{"Authorization", "Bearer " + keys.triage}, 200, "", "clinic-a"},
		{"bearer lower-case scheme", "/v1/triage/ping", []string{"Authorization", "bearer " + keys.triage}, 200, "", "clinic-a"},
		{"x-api-key", "/v1/triage/ping", []string{"X-API-Key", keys.triage}, 200, "", "clinic-a"},
		{"star key anywhere", "/v1/other", []string{"X-API-Key", keys.all}, 200, "", "ops"},
		{"star key v2", "/v2/ping", []string{"Authorization", "Bearer " + keys.all}, 200, "", "ops"},
		{"real route without key", "/v1/departments", nil, 401, CodeUnauthenticated, ""},
		{"real route with key", "/v1/departments", []string{"X-API-Key", keys.triage}, 503, CodeUnavailable, ""}, // no KG in a bare server
		{"unknown API path", "/v1/nothing-here", nil, 401, CodeUnauthenticated, ""},
		{"healthz open", "/healthz", nil, 200, "", ""},
		{"v2 health open", "/v2/health/live", nil, 200, "", ""},
		{"metrics open", "/metrics", nil, 200, "", ""},
		{"console open", "/static/ping", nil, 200, "", ""},
		{"readyz open", "/readyz", nil, 503, CodeUnavailable, ""}, // not ready without models, but not 401
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := send(t, s, "GET", c.path, nil, c.header...)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if c.status == 401 {
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q", got)
				}
			}
			if c.code != "" && c.path != "/readyz" {
				if e := errEnvelope(t, rec); e.Code != c.code {
					t.Errorf("code %s, want %s (%s)", e.Code, c.code, e.Message)
				}
			}
			if c.tenant != "" {
				var got map[string]string
				json.Unmarshal(rec.Body.Bytes(), &got)
				if got["tenant"] != c.tenant || got["key_id"] == "" {
					t.Errorf("context tenant %q key %q, want %q", got["tenant"], got["key_id"], c.tenant)
				}
			}
			if strings.Contains(rec.Body.String(), keys.triage) {
				t.Error("the response echoes the key")
			}
		})
	}
	if got := testutil.ToFloat64(s.access.rejected.WithLabelValues("knowledge", CodeUnauthenticated)); got < 4 {
		t.Errorf("fenzhen_admission_rejected_total{knowledge,unauthenticated} = %v", got)
	}
}

// SIGHUP calls LoadKeys: a revoke written by `fenzhen keys revoke` takes
// effect without a restart, and a broken file keeps the old keys.
func TestKeysReload(t *testing.T) {
	keys := writeKeys(t)
	s := authServer(t, keys, nil)
	if rec := send(t, s, "GET", "/v1/triage/ping", nil, "X-API-Key", keys.triage); rec.Code != 200 {
		t.Fatalf("before revoke: %d", rec.Code)
	}
	f, err := auth.Load(keys.path)
	if err != nil {
		t.Fatal(err)
	}
	f.Revoke(keys.triageID, time.Now())
	if err := f.Save(keys.path); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	rec := send(t, s, "GET", "/v1/triage/ping", nil, "X-API-Key", keys.triage)
	if e := errEnvelope(t, rec); rec.Code != 403 || !strings.Contains(e.Message, "revoked") {
		t.Fatalf("after revoke: %d %s", rec.Code, e.Message)
	}
	if err := writeFile(keys.path, "{broken"); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadKeys(); err == nil {
		t.Fatal("a broken key file loaded")
	}
	if rec := send(t, s, "GET", "/v1/other", nil, "X-API-Key", keys.all); rec.Code != 200 {
		t.Errorf("a broken reload dropped the previous keys: %d", rec.Code)
	}
}

func TestAuthModes(t *testing.T) {
	s, logs := bareServer(t, nil)
	if rec := send(t, s, "GET", "/v1/imaging/ping", nil); rec.Code != 200 {
		t.Errorf("dev mode: %d", rec.Code)
	}
	var line struct{ Level, Msg string }
	json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &line)
	if line.Level != "WARN" || !strings.Contains(line.Msg, "authentication is OFF") {
		t.Errorf("dev mode must warn first thing; logged %s", logs)
	}

	keys := writeKeys(t)
	broken := filepath.Join(t.TempDir(), "keys.json")
	if err := writeFile(broken, "{broken"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "none.json"), "does not exist; create a key with `fenzhen keys create"},
		{"no active key", emptyKeyFile(t), "no active key; create one with `fenzhen keys create`"},
		{"broken file", broken, "invalid character"},
	} {
		s, logs := bareServer(t, func(cfg *Config) { cfg.Auth = AuthRequired; cfg.KeysFile = c.file })
		if err := s.LoadKeys(); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: %v", c.name, err)
		}
		if strings.Contains(logs.String(), "authentication is OFF") {
			t.Errorf("%s: required mode warned that auth is off", c.name)
		}
		// Without loaded keys every protected route stays shut.
		if rec := send(t, s, "GET", "/v1/other", nil, "X-API-Key", keys.all); rec.Code != 401 {
			t.Errorf("%s: %d without a key ring", c.name, rec.Code)
		}
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func emptyKeyFile(t testing.TB) string {
	path := filepath.Join(t.TempDir(), "keys.json")
	f := &auth.File{}
	_, k, _ := f.Add("gone", []string{"*"}, 0, 0, time.Now())
	f.Revoke(k.ID, time.Now())
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// BenchmarkAuth is the cost of authentication and admission. admit/* is
// the admit middleware alone around a no-op handler ("required": key
// lookup, SHA-256, constant-time compare, token bucket, in-flight slot);
// request/* is a whole request through the router and every middleware.
func BenchmarkAuth(b *testing.B) {
	keys := writeKeys(b)
	for _, mode := range []string{AuthOff, AuthRequired} {
		b.Run("admit/"+mode, func(b *testing.B) {
			s, _ := bareServer(b, func(c *Config) {
				c.Auth = mode
				c.KeysFile = keys.path
				c.KeyRate = 1e9
			})
			if err := s.LoadKeys(); err != nil {
				b.Fatal(err)
			}
			h := s.admit(func(c echo.Context) error { return nil })
			req := httptest.NewRequest("GET", "/v1/knowledge/noop", nil)
			req.Header.Set("Authorization", "Bearer "+keys.triage)
			rec := httptest.NewRecorder()
			c := s.echo.NewContext(req, rec)
			b.ReportAllocs()
			for b.Loop() {
				if err := h(c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("request/"+mode, func(b *testing.B) {
			s, _ := bareServer(b, func(c *Config) {
				c.Auth = mode
				c.KeysFile = keys.path
				c.KeyRate = 1e9
			})
			s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
			if err := s.LoadKeys(); err != nil {
				b.Fatal(err)
			}
			s.echo.GET("/v1/knowledge/noop", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/v1/knowledge/noop", nil)
			req.Header.Set("Authorization", "Bearer "+keys.triage)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
