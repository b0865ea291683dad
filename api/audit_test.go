package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/audit"
)

// newAuditServer is newTestServer with an audit log in a temporary directory.
func newAuditServer(t *testing.T, edit func(*Config), opt audit.WriterOptions) (*Server, *audit.Store, *audit.Writer) {
	t.Helper()
	s := newTestServer(t, edit)
	st, w := openAudit(t, s, opt)
	return s, st, w
}

func openAudit(t testing.TB, s *Server, opt audit.WriterOptions) (*audit.Store, *audit.Writer) {
	st, err := audit.Open(filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opt.Registerer = s.registry
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	w := audit.NewWriter(st, opt)
	t.Cleanup(func() { w.Close() })
	s.deps.Audit = w
	return st, w
}

func auditEntries(t *testing.T, st *audit.Store) map[string]audit.Entry {
	t.Helper()
	got := map[string]audit.Entry{}
	if err := st.Query(context.Background(), time.Time{}, time.Time{}, func(e audit.Entry) error {
		if _, dup := got[e.RequestID]; dup {
			t.Errorf("request %s recorded twice", e.RequestID)
		}
		got[e.RequestID] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// Every answered inference request is in the audit log with what was
// answered; look-ups, health and metrics are not.
func TestAuditRecordsRequests(t *testing.T) {
	s, st, w := newAuditServer(t, nil, audit.WriterOptions{})
	// The auth middleware leaves the key's tenant in the context; stand in for it.
	s.echo.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if tn := c.Request().Header.Get("X-Test-Tenant"); tn != "" {
				c.Set(ContextTenant, tn)
				c.Set(ContextKeyID, "key-of-"+tn)
			}
			return next(c)
		}
	})
	texts := []string{
		"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子",
		"胸口压榨样疼痛半小时，出冷汗",
		"牙疼三天，右边脸肿了",
		"皮肤上起了很多红疹子，很痒",
		"头晕，血压160/100",
		"肚子疼，拉肚子一天五六次",
		"眼睛红，有分泌物",
		"最近总是失眠，心情低落",
	}
	type sent struct {
		route  string
		status int
		body   triageResp
	}
	sentByID := map[string]sent{}
	for i, text := range texts {
		body, _ := json.Marshal(map[string]any{"text": text, "age": 30 + i})
		rec := do(t, s, "POST", "/v1/triage", "application/json", body, "X-Test-Tenant", "clinic-a")
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", text, rec.Code, rec.Body)
		}
		var r triageResp
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		sentByID[rec.Header().Get(headerRequestID)] = sent{"/v1/triage", 200, r}
	}
	others := []struct {
		method, path, body string
		status             int
		audited            bool
	}{
		{"POST", "/v1/record", `{"text":"发烧两天，咳嗽"}`, 200, true},
		{"POST", "/v1/medication/check", `{"drugs":["阿司匹林","布洛芬"],"conditions":["消化性溃疡"]}`, 200, true},
		{"POST", "/v1/triage", `{"text":""}`, 400, true}, // refused requests are audited too
		{"POST", "/v2/models/cnn-test/infer", `{"inputs":[]}`, 400, true},
		{"POST", "/v1/nope", `{}`, 404, false},        // no such route
		{"POST", "/v1/departments", `{}`, 404, false}, // a GET route (echo answers 405, rendered as not_found)
		{"GET", "/v1/knowledge/search?q=胸痛", "", 200, false},
		{"GET", "/v1/departments", "", 200, false},
		{"GET", "/healthz", "", 200, false},
		{"GET", "/metrics", "", 200, false},
	}
	otherIDs := map[string]bool{}
	// An image: its findings and the model, never its pixels.
	derm := filepath.Join("..", "models", "dermatology", "testdata")
	imgs, _ := filepath.Glob(filepath.Join(derm, "*.png"))
	if len(imgs) == 0 {
		t.Fatal("no dermatology test image")
	}
	img, err := os.ReadFile(imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, s, "POST", "/v1/dermatology", "image/png", img)
	if rec.Code != 200 {
		t.Fatalf("dermatology: %d %s", rec.Code, rec.Body)
	}
	dermID := rec.Header().Get(headerRequestID)
	otherIDs[dermID] = true
	for _, o := range others {
		var body []byte
		ct := ""
		if o.body != "" {
			body, ct = []byte(o.body), "application/json"
		}
		rec := do(t, s, o.method, o.path, ct, body)
		if rec.Code != o.status {
			t.Fatalf("%s %s: %d %s", o.method, o.path, rec.Code, rec.Body)
		}
		otherIDs[rec.Header().Get(headerRequestID)] = o.audited
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := auditEntries(t, st)
	if want := len(texts) + 5; len(got) != want {
		t.Errorf("%d entries, want %d", len(got), want)
	}
	for id, snt := range sentByID {
		e, ok := got[id]
		if !ok {
			t.Errorf("request %s answered 200 but not audited", id)
			continue
		}
		var deps, flags []string
		for i, d := range snt.body.Departments {
			if i < 3 {
				deps = append(deps, d.Code)
			}
		}
		for _, f := range snt.body.Urgency.RedFlags {
			flags = append(flags, f.ID)
		}
		var models []audit.Model
		for _, m := range snt.body.Models {
			models = append(models, audit.Model{Name: m.Name, Version: m.Version})
		}
		if e.Route != snt.route || e.Method != "POST" || e.Status != 200 || e.Tenant != "clinic-a" || e.KeyID != "key-of-clinic-a" ||
			e.Urgency != snt.body.Urgency.Level || e.Urgency == "" || !slices.Equal(e.Departments, deps) ||
			!slices.Equal(e.RedFlags, flags) || !slices.Equal(e.Models, models) || len(models) == 0 {
			t.Errorf("entry %+v\ndoes not match the response %+v", e, snt.body)
		}
		if len(snt.body.Diseases) > 0 && (len(e.Top) == 0 || e.Top[0].P <= 0) {
			t.Errorf("entry %s has no disease scores: %+v", id, e.Top)
		}
		if e.Text != "" {
			t.Errorf("text stored with AuditStoreText off: %q", e.Text)
		}
		if e.LatencyMS <= 0 || time.Since(e.Time) > time.Hour || e.Time.Location() != time.UTC {
			t.Errorf("entry %s: latency %v time %v", id, e.LatencyMS, e.Time)
		}
	}
	for id, want := range otherIDs {
		if _, ok := got[id]; ok != want {
			t.Errorf("request %s audited=%v, want %v", id, ok, want)
		}
	}
	if e := got[dermID]; len(e.Top) != audit.MaxTop || e.Top[0].P <= 0 || len(e.Models) != 1 || e.Models[0].Name != "dermatology" ||
		!slices.Equal(e.Departments, []string{"13"}) || e.Urgency == "" {
		t.Errorf("dermatology entry %+v", e)
	}
	for _, e := range got {
		switch e.Route {
		case "/v1/medication/check":
			if len(e.Top) == 0 || !strings.Contains(e.Top[0].ID, "阿司匹林") {
				t.Errorf("medication entry %+v", e)
			}
		case "/v2/models/:name/infer":
			if e.Status != 400 || len(e.Models) != 1 || e.Models[0].Name != "cnn-test" {
				t.Errorf("v2 entry %+v", e)
			}
		case "/v1/record":
			if len(e.Top) == 0 || e.Tenant != "" {
				t.Errorf("record entry %+v", e)
			}
		}
	}
	if n := metricValue(t, s, "fenzhen_audit_written_total"); n != float64(len(got)) {
		t.Errorf("fenzhen_audit_written_total %v, want %d", n, len(got))
	}
}

// metricValue reads a series without labels from the server's registry.
func metricValue(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	mfs, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// With text storage on, the identifiers in a request never reach the disk:
// not the database, not its write-ahead log.
func TestAuditStoresTextRedacted(t *testing.T) {
	s, st, w := newAuditServer(t, func(c *Config) { c.AuditStoreText = true }, audit.WriterOptions{})
	secrets := []string{"张三", "13812345678", "110101199003071234", "1234-5678"}
	text := "我叫张三，电话13812345678，身份证110101199003071234，发烧两天，最高39度，咳嗽。家里电话010-1234-5678"
	for _, path := range []string{"/v1/triage", "/v1/record"} {
		body, _ := json.Marshal(map[string]any{"text": text})
		if rec := do(t, s, "POST", path, "application/json", body); rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := auditEntries(t, st)
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}
	for _, e := range got {
		if !strings.Contains(e.Text, "我叫[姓名]") || !strings.Contains(e.Text, "[电话]") || !strings.Contains(e.Text, "[身份证]") || !strings.Contains(e.Text, "最高39度") {
			t.Errorf("stored text %q", e.Text)
		}
	}
	grep := func(when string) {
		files, _ := filepath.Glob(st.Path() + "*")
		if when == "open" && !slices.Contains(files, st.Path()+"-wal") {
			t.Errorf("no write-ahead log among %v: is WAL on?", files)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range secrets {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("%s (store %s) holds %q in plain text", filepath.Base(f), when, secret)
				}
			}
			if strings.HasSuffix(f, "-wal") && !bytes.Contains(raw, []byte("[姓名]")) && when == "open" {
				t.Errorf("the write-ahead log does not hold the entries; the grep proves nothing")
			}
		}
	}
	grep("open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	grep("closed")
}

// On shutdown under load, every request answered 200 is in the audit log
// once Serve has returned and the writer is closed (what `fenzhen serve`
// does on SIGTERM). A tiny queue makes requests wait on the writer.
func TestAuditShutdownUnderLoad(t *testing.T) {
	// No in-flight limit: shedding under a busy CI machine is not what this tests.
	s, st, w := newAuditServer(t, func(c *Config) { c.MaxInFlight = nil }, audit.WriterOptions{QueueSize: 2, BatchSize: 4})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/v1/triage"
	body := []byte(`{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3}`)
	var mu sync.Mutex
	var answered, bad []string
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				id := fmt.Sprintf("load-%d-%d", g, i)
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(headerRequestID, id)
				resp, err := client.Do(req)
				if err != nil {
					if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) &&
						!strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "server closed idle connection") {
						mu.Lock()
						bad = append(bad, err.Error())
						mu.Unlock()
					}
					return
				}
				_, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				if rerr == nil && resp.StatusCode == 200 {
					answered = append(answered, id)
				} else {
					bad = append(bad, fmt.Sprintf("%s: status %d, %v", id, resp.StatusCode, rerr))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cancel() // SIGTERM
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d bad responses, e.g. %s", len(bad), bad[0])
	}
	path := st.Path()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = audit.Open(path) // what `fenzhen audit export` reads afterwards
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := auditEntries(t, st)
	if len(answered) == 0 {
		t.Fatal("no request answered before shutdown")
	}
	for _, id := range answered {
		if e, ok := got[id]; !ok || e.Status != 200 || e.Urgency == "" {
			t.Fatalf("request %s answered 200 before shutdown, audit has %+v (present %v)", id, e, ok)
		}
	}
	t.Logf("%d requests answered and audited", len(answered))
}

// BenchmarkAuditMiddleware is what the audit log adds to a request: a
// no-op audited route with the audit log off and on.
func BenchmarkAuditMiddleware(b *testing.B) {
	s := New(DefaultConfig(), Deps{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, w := openAudit(b, s, audit.WriterOptions{})
	s.echo.POST("/v1/noop", func(c echo.Context) error {
		s.setAudit(c, nil, "")
		return c.NoContent(http.StatusNoContent)
	})
	run := func(b *testing.B) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/noop", nil))
			if rec.Code != http.StatusNoContent {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	}
	b.Run("off", func(b *testing.B) {
		s.deps.Audit = nil
		run(b)
	})
	b.Run("on", func(b *testing.B) {
		s.deps.Audit = w
		run(b)
	})
}

// With auth on, an entry names the key's tenant and id; refused requests are
// recorded too, without a tenant.
func TestAuditRecordsTenantOfKey(t *testing.T) {
	keys := writeKeys(t)
	s, st, w := newAuditServer(t, func(c *Config) { c.Auth, c.KeysFile = AuthRequired, keys.path }, audit.WriterOptions{})
	if err := s.LoadKeys(); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"text":"头疼两天"}`)
	ok := do(t, s, "POST", "/v1/triage", "application/json", body, "Authorization", "Bearer "+keys.triage)
	denied := do(t, s, "POST", "/v1/triage", "application/json", body, "Authorization", "Bearer "+keys.revoked)
	anon := do(t, s, "POST", "/v1/triage", "application/json", body)
	if ok.Code != 200 || denied.Code != 403 || anon.Code != 401 {
		t.Fatalf("statuses %d %d %d", ok.Code, denied.Code, anon.Code)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := auditEntries(t, st)
	if e := got[ok.Header().Get(headerRequestID)]; e.Tenant != "clinic-a" || e.KeyID != keys.triageID || e.Urgency == "" {
		t.Errorf("authenticated entry %+v", e)
	}
	if e, found := got[denied.Header().Get(headerRequestID)]; !found || e.Status != 403 {
		t.Errorf("revoked key's request: %+v (found %v)", e, found)
	}
	if e, found := got[anon.Header().Get(headerRequestID)]; !found || e.Status != 401 || e.Tenant != "" {
		t.Errorf("anonymous request: %+v (found %v)", e, found)
	}
}
