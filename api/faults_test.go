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
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/triage"
)

// serverAt builds the full server (models in dir, the embedded KG, the triage
// engine) logging to log; it works for tests, benchmarks and fuzz targets.
func serverAt(tb testing.TB, dir string, log *slog.Logger, edit func(*Config)) *Server {
	tb.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	reg := prometheus.NewRegistry()
	repo, err := inference.OpenRepository(dir, inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(repo.Close)
	kg, idx := testKnowledge(tb)
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := triage.New(kg, x, repo, triage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return New(cfg, Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Registry: reg}, log)
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// faultModels lays out a repository beside the committed one where
// chest-xray's model.onnx is corrupt (cut to its first 4 KiB, as an
// interrupted copy leaves it), dermatology's is missing, and gather
// (../inference/testdata/faults) fails its ORT Run for an index outside [-10, 9].
func faultModels(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join("..", rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Healthy models: their own config, model.onnx linked to the committed file.
	for _, name := range []string{"cnn-test", "triage-department"} {
		write(name+"/1/config.yaml", read("models/"+name+"/1/config.yaml"))
		abs, _ := filepath.Abs(filepath.Join("..", "models", name, "1", "model.onnx"))
		if err := os.Symlink(abs, filepath.Join(dir, name, "1", "model.onnx")); err != nil {
			t.Fatal(err)
		}
	}
	write("chest-xray/1/config.yaml", read("models/chest-xray/1/config.yaml"))
	write("chest-xray/1/model.onnx", read("models/chest-xray/1/model.onnx")[:4096])
	write("dermatology/1/config.yaml", read("models/dermatology/1/config.yaml"))
	write("gather/1/config.yaml", []byte("name: gather\nmax_batch_size: 8\ninputs:\n  - {name: index, datatype: INT64, shape: [1]}\noutputs:\n  - {name: value, datatype: FP32, shape: [1]}\nbatching: {max_queue_delay: 1ms}\n"))
	write("gather/1/model.onnx", read("inference/testdata/faults/gather.onnx"))
	return dir
}

func envelope(t *testing.T, rec *httptest.ResponseRecorder) errorDetail {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("%d: not the error envelope: %s", rec.Code, rec.Body)
	}
	return e.Error
}

// A corrupt and a missing model at start-up: /readyz stays 200 but says
// "degraded" and names each broken model with its error; their routes answer
// 503 unavailable with Retry-After while the other models answer 200.
func TestBrokenModelsAtStartup(t *testing.T) {
	s := serverAt(t, faultModels(t), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)

	rec := do(t, s, "GET", "/readyz", "", nil)
	var ready readiness
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &ready) != nil || ready.Status != "degraded" {
		t.Fatalf("readyz %d %s, want 200 degraded", rec.Code, rec.Body)
	}
	byName := map[string]modelHealth{}
	for _, m := range ready.Models {
		byName[m.Name] = m
	}
	for name, why := range map[string]string{"chest-xray": "read inputs and outputs of", "dermatology": "model.onnx: missing"} {
		if m := byName[name]; m.Ready || !strings.Contains(m.Error, why) {
			t.Errorf("readyz %s: %+v, want not ready with %q", name, m, why)
		}
	}
	for _, name := range []string{"cnn-test", "triage-department", "gather"} {
		if m := byName[name]; !m.Ready || m.Error != "" {
			t.Errorf("readyz %s: %+v, want ready", name, m)
		}
	}

	png, err := os.ReadFile(filepath.Join("..", "models", "chest-xray", "testdata", "test_000_pneumonia.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, ctype string }{
		{"/v1/imaging/chest", "image/png"},
		{"/v1/dermatology", "image/png"},
		{"/v2/models/chest-xray/infer", "application/json"},
	} {
		body := png
		if c.ctype == "application/json" {
			body = inferBody("image", "FP32", []int64{1, 1, 28, 28}, make([]float32, 784))
		}
		rec := do(t, s, "POST", c.path, c.ctype, body, "X-Request-Id", "broken-model")
		e := envelope(t, rec)
		if rec.Code != 503 || e.Code != CodeUnavailable || rec.Header().Get("Retry-After") == "" || e.RequestID != "broken-model" {
			t.Errorf("%s: %d %+v Retry-After %q, want 503 unavailable with Retry-After", c.path, rec.Code, e, rec.Header().Get("Retry-After"))
		}
	}

	if code, r, raw := postTriage(t, s, `{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰","age":3}`); code != 200 || len(r.Departments) == 0 {
		t.Errorf("triage beside broken models: %d %s", code, raw)
	}
	ref := loadReference(t)
	if rec := do(t, s, "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", ref.Shape, ref.Input)); rec.Code != 200 {
		t.Errorf("cnn-test beside broken models: %d %s", rec.Code, rec.Body)
	}
}

// An ORT Run error answers 503 for that request only; the model answers the
// next request, and the other models are untouched.
func TestRunErrorAnswers503ThenServes(t *testing.T) {
	s := serverAt(t, faultModels(t), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ref := loadReference(t)
	for round := range 3 {
		rec := do(t, s, "POST", "/v2/models/gather/infer", "application/json", inferBody("index", "INT64", []int64{1, 1}, []int64{99}))
		e := envelope(t, rec)
		if rec.Code != 503 || e.Code != CodeUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(e.Message, "gather") {
			t.Fatalf("round %d: failing Run: %d %+v, want 503 unavailable naming the model", round, rec.Code, e)
		}
		rec = do(t, s, "POST", "/v2/models/gather/infer", "application/json", inferBody("index", "INT64", []int64{2, 1}, []int64{4, 7}))
		var out struct{ Outputs []struct{ Data []float32 } }
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || len(out.Outputs) != 1 || len(out.Outputs[0].Data) != 2 ||
			out.Outputs[0].Data[0] < 0.399 || out.Outputs[0].Data[0] > 0.401 || out.Outputs[0].Data[1] < 0.699 || out.Outputs[0].Data[1] > 0.701 {
			t.Fatalf("round %d: after a Run error: %d %s, want values [0.4 0.7]", round, rec.Code, rec.Body)
		}
		if rec := do(t, s, "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", ref.Shape, ref.Input)); rec.Code != 200 {
			t.Fatalf("round %d: cnn-test: %d %s", round, rec.Code, rec.Body)
		}
	}
	rec := do(t, s, "GET", "/readyz", "", nil)
	if !strings.Contains(rec.Body.String(), `{"name":"gather","version":"1","ready":true}`) {
		t.Errorf("a Run error must not mark the model down: %s", rec.Body)
	}
}

// A panic in a handler is answered 500 internal in the envelope, logged with
// the request id and route but none of the request body, and the server keeps
// serving, the same route included.
func TestPanicLoggedWithRequestIDNotBody(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := serverAt(t, filepath.Join("..", "models"), log, nil)
	panics := true
	s.echo.POST("/v1/boom", func(c echo.Context) error {
		var req triage.Request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if panics {
			var m map[string]int
			m[req.Text]++ // assignment to entry in nil map
		}
		return c.JSON(http.StatusOK, map[string]string{"ok": "yes"})
	}, limitBody(s.cfg.MaxBodyBytes))

	const secret = "患者王小明，电话13800138000，身份证11010119900307123X，胸口疼"
	body := []byte(`{"text":"` + secret + `","age":58}`)
	req := httptest.NewRequest("POST", "/v1/boom", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "panic-4f2a")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	e := envelope(t, rec)
	if rec.Code != 500 || e.Code != CodeInternal || e.RequestID != "panic-4f2a" || strings.Contains(rec.Body.String(), "nil map") {
		t.Fatalf("%d %s, want 500 internal with the request id and no panic detail", rec.Code, rec.Body)
	}

	var panicLine map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "handler panic" {
			panicLine = rec
		}
	}
	if panicLine == nil {
		t.Fatalf("no handler panic log line in:\n%s", logs.String())
	}
	if panicLine["request_id"] != "panic-4f2a" || panicLine["route"] != "/v1/boom" || !strings.Contains(panicLine["panic"].(string), "nil map") {
		t.Errorf("panic log line %v lacks the request id, route or panic", panicLine)
	}
	for _, leak := range []string{"13800138000", "11010119900307123X", "王小明", "胸口疼"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("the log holds request body text %q", leak)
		}
	}

	panics = false
	req = httptest.NewRequest("POST", "/v1/boom", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("the route after its panic: %d %s", rec.Code, rec.Body)
	}
	if code, _, raw := postTriage(t, s, `{"text":"头疼三天了"}`); code != 200 {
		t.Errorf("triage after a panic: %d %s", code, raw)
	}
}
