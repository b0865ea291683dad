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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

func TestMain(m *testing.M) {
	if err := inference.InitRuntime(""); err != nil {
		fmt.Println("api tests need ONNX Runtime (run `make setup`):", err)
		os.Exit(1)
	}
	code := m.Run()
	reportContract()
	os.Exit(code)
}

// newTestServer serves the committed model repository.
func newTestServer(t *testing.T, edit func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	reg := prometheus.NewRegistry()
	repo, err := inference.OpenRepository(filepath.Join("..", "models"), inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	kg, idx := testKnowledge(t)
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := triage.New(kg, x, repo, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg, Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Registry: reg}, log)
}

var (
	knowledgeOnce sync.Once
	testKG        *knowledge.KG
	testIndex     *knowledge.Index
	knowledgeErr  error
)

// testKnowledge loads the embedded KG and its index once for all tests.
func testKnowledge(t testing.TB) (*knowledge.KG, *knowledge.Index) {
	knowledgeOnce.Do(func() {
		testKG, knowledgeErr = knowledge.LoadDefault()
		if knowledgeErr == nil {
			var seg *segment.Segmenter
			if seg, knowledgeErr = segment.New(testKG.Terms()); knowledgeErr == nil {
				testIndex, knowledgeErr = knowledge.NewIndexWith(testKG, seg)
			}
		}
	})
	if knowledgeErr != nil {
		t.Fatal(knowledgeErr)
	}
	return testKG, testIndex
}

func do(t *testing.T, s *Server, method, path, contentType string, body []byte, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	sent := req.Header.Clone()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	checkContract(t, method, path, sent, body, rec) // openapi_test.go
	return rec
}

type reference struct {
	Shape []int64   `json:"shape"`
	Input []float32 `json:"input"`
	Probs []float32 `json:"probs"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	raw, err := os.ReadFile("../models/cnn-test/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func inferBody(name, dtype string, shape []int64, data any) []byte {
	b, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": name, "datatype": dtype, "shape": shape, "data": data}}})
	return b
}

// A v2 infer call returns the numbers torch computed at export time.
func TestV2InferMatchesPython(t *testing.T) {
	s := newTestServer(t, nil)
	ref := loadReference(t)
	rec := do(t, s, "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", ref.Shape, ref.Input))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp struct {
		ModelName, ModelVersion string `json:"-"`
		Name                    string `json:"model_name"`
		Version                 string `json:"model_version"`
		Outputs                 []struct {
			Name     string
			Datatype string
			Shape    []int64
			Data     []float32
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Name != "cnn-test" || resp.Version != "1" || len(resp.Outputs) != 1 || resp.Outputs[0].Datatype != "FP32" {
		t.Fatalf("response %s", rec.Body)
	}
	for i, v := range resp.Outputs[0].Data {
		if d := v - ref.Probs[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("probs[%d] = %v, torch gave %v", i, v, ref.Probs[i])
		}
	}
	// Nested data is accepted as well as flat data.
	nested := make([][]float32, 0)
	for i := 0; i < len(ref.Input); i += 28 {
		nested = append(nested, ref.Input[i:i+28])
	}
	rec = do(t, s, "POST", "/v2/models/cnn-test/versions/1/infer", "application/json", inferBody("input", "FP32", ref.Shape, nested))
	if rec.Code != 200 {
		t.Fatalf("nested data: status %d: %s", rec.Code, rec.Body)
	}
}

func TestErrors(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 16 << 10 })
	ok := make([]float32, 784)
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		code, message             string
	}{
		{"unknown model", "POST", "/v2/models/nope/infer", "application/json", inferBody("input", "FP32", []int64{1, 1, 28, 28}, ok), 404, CodeNotFound, `"nope"`},
		{"unknown version", "GET", "/v2/models/cnn-test/versions/9", "", nil, 404, CodeNotFound, `version "9"`},
		{"wrong dtype", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "INT64", []int64{1, 1, 28, 28}, make([]int64, 784)), 400, CodeInvalidArgument, `input "input": datatype INT64, expected FP32`},
		{"unknown dtype", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FLOAT", []int64{1, 1, 28, 28}, ok), 400, CodeInvalidArgument, `input "input": datatype "FLOAT"`},
		{"wrong shape", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", []int64{1, 784}, ok), 400, CodeInvalidArgument, `input "input": shape [1 784]`},
		{"element count", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", []int64{1, 1, 28, 28}, ok[:100]), 400, CodeInvalidArgument, `input "input": shape [1 1 28 28] needs 784 elements, got 100`},
		{"wrong input name", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("pixels", "FP32", []int64{1, 1, 28, 28}, ok), 400, CodeInvalidArgument, `input "input" is missing`},
		{"bad data", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", []int64{1}, []string{"x"}), 400, CodeInvalidArgument, `input "input": data is not an array of FP32`},
		{"malformed json", "POST", "/v2/models/cnn-test/infer", "application/json", []byte(`{"inputs": [`), 400, CodeInvalidArgument, "malformed JSON"},
		{"empty body", "POST", "/v2/models/cnn-test/infer", "application/json", nil, 400, CodeInvalidArgument, "empty"},
		// A pasted placeholder: the message names the character, not its first byte ('â').
		{"ellipsis in v2 data", "POST", "/v2/models/cnn-test/infer", "application/json", []byte(`{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[0, …784 values…]}]}`), 400, CodeInvalidArgument, "malformed JSON at byte 76: unexpected '…' (U+2026)"},
		{"ellipsis in triage", "POST", "/v1/triage", "application/json", []byte(`{"text":…}`), 400, CodeInvalidArgument, "malformed JSON at byte 9: invalid character '…' (U+2026) looking for beginning of value"},
		{"v2 bad byte", "POST", "/v2/models/cnn-test/infer", "application/json", []byte("{\"inputs\":\xff}"), 400, CodeInvalidArgument, "got byte 0xFF (not UTF-8)"},
		{"no inputs", "POST", "/v2/models/cnn-test/infer", "application/json", []byte(`{"inputs": []}`), 400, CodeInvalidArgument, "at least one input"},
		{"too large", "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", []int64{20, 1, 28, 28}, make([]float32, 20*784)), 413, CodePayloadTooLarge, "exceeds"},
		{"wrong media type", "POST", "/v2/models/cnn-test/infer", "image/png", []byte("{}"), 415, CodeUnsupportedMediaType, "application/json"},
		{"no route", "GET", "/v9/nothing", "", nil, 404, CodeNotFound, ""},
		{"text as png", "POST", "/v1/imaging/chest", "image/png", []byte("this is not an image at all"), 415, CodeUnsupportedMediaType, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := do(t, s, c.method, c.path, c.ctype, c.body, "X-Request-Id", "req-"+strings.ReplaceAll(c.name, " ", "-"))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("not the error envelope: %s", rec.Body)
			}
			want := "req-" + strings.ReplaceAll(c.name, " ", "-")
			if body.Error.Code != c.code || !strings.Contains(body.Error.Message, c.message) || body.Error.RequestID != want || rec.Header().Get("X-Request-Id") != want {
				t.Errorf("got %+v (header id %q), want code %s with %q", body.Error, rec.Header().Get("X-Request-Id"), c.code, c.message)
			}
			if c.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestHealthMetadataMetrics(t *testing.T) {
	s := newTestServer(t, nil)
	for _, path := range []string{"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/cnn-test", "/v2/models/cnn-test/ready", "/v2/models/cnn-test/versions/1/ready"} {
		if rec := do(t, s, "GET", path, "", nil); rec.Code != 200 {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	rec := do(t, s, "GET", "/v2/models/cnn-test", "", nil)
	var md v2ModelMetadata
	json.Unmarshal(rec.Body.Bytes(), &md)
	if md.Inputs[0].Name != "input" || fmt.Sprint(md.Inputs[0].Shape) != "[-1 1 28 28]" || md.Outputs[0].Name != "probs" {
		t.Errorf("metadata %s", rec.Body)
	}
	if rec := do(t, s, "GET", "/v2/models/nope/ready", "", nil); rec.Code != 404 {
		t.Errorf("unknown model ready: %d", rec.Code)
	}
	ref := loadReference(t)
	do(t, s, "POST", "/v2/models/cnn-test/infer", "application/json", inferBody("input", "FP32", ref.Shape, ref.Input))
	rec = do(t, s, "GET", "/metrics", "", nil)
	for _, series := range []string{
		`fenzhen_http_requests_total{code="200",method="POST",route="/v2/models/:name/infer"} 1`,
		`fenzhen_http_request_duration_seconds_bucket{method="POST",route="/v2/models/:name/infer"`,
		`fenzhen_http_in_flight_requests`,
		`fenzhen_inference_batch_size_bucket{model="cnn-test"`,
		`fenzhen_inference_queue_depth{model="cnn-test"} 0`,
		`fenzhen_inference_duration_seconds_count{model="cnn-test"} 1`,
		`fenzhen_inference_requests_total{model="cnn-test",outcome="ok"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// A panicking handler answers 500 in the envelope and the server lives on.
func TestPanicRecovered(t *testing.T) {
	s := newTestServer(t, nil)
	s.echo.GET("/boom", func(c echo.Context) error { panic("boom") })
	rec := do(t, s, "GET", "/boom", "", nil)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s, "GET", "/healthz", "", nil); rec.Code != 200 {
		t.Fatal("server unhealthy after a panic")
	}
}

// On shutdown (SIGTERM) under load, every request the server accepted is
// answered in full: the handler count equals the 200s clients received, and
// clients see only connection-level refusals, never a 5xx or a cut response.
func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	// No in-flight limit: this test is about shutdown, and on a busy CI
	// machine admission control would (rightly) shed some of its 32 clients.
	s := newTestServer(t, func(c *Config) { c.MaxInFlight = nil })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String() + "/v2/models/cnn-test/infer"
	ref := loadReference(t)
	body := inferBody("input", "FP32", ref.Shape, ref.Input)
	var ok, refused atomic.Int64
	var bad []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					// A connection the server closed while the client was
					// still writing was never accepted: refused, not lost
					// (the count of 200s below checks nothing accepted is).
					if errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") || errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "server closed idle connection") {
						refused.Add(1)
						return
					}
					mu.Lock()
					bad = append(bad, err.Error())
					mu.Unlock()
					return
				}
				data, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				var out v2InferResponse
				if rerr != nil || resp.StatusCode != 200 || json.Unmarshal(data, &out) != nil || len(out.Outputs) != 1 {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("status %d body %.80s err %v", resp.StatusCode, data, rerr))
					mu.Unlock()
					return
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	cancel() // what SIGTERM does in `fenzhen serve`
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d bad responses, e.g. %s", len(bad), bad[0])
	}
	handled := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/v2/models/:name/infer", "POST", "200"))
	if ok.Load() == 0 || float64(ok.Load()) != handled {
		t.Errorf("server answered %v requests with 200, clients received %d", handled, ok.Load())
	}
	t.Logf("%d answered before shutdown, %d clients refused after", ok.Load(), refused.Load())
}

// The binary data extension carries the same tensors as JSON and returns the same numbers.
func TestV2BinaryData(t *testing.T) {
	s := newTestServer(t, nil)
	ref := loadReference(t)
	header := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[4,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":%d}}],"outputs":[{"name":"probs","parameters":{"binary_data":true}}]}`, 4*len(ref.Input))
	body := appendLittleEndian([]byte(header), ref.Input)
	rec := do(t, s, "POST", "/v2/models/cnn-test/infer", "application/octet-stream", body, headerInferenceLength, fmt.Sprint(len(header)))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	n, _ := strconv.Atoi(rec.Header().Get(headerInferenceLength))
	raw := rec.Body.Bytes()
	var resp v2InferResponse
	if err := json.Unmarshal(raw[:n], &resp); err != nil || len(resp.Outputs) != 1 || resp.Outputs[0].Data != nil {
		t.Fatalf("header %s: %v", raw[:n], err)
	}
	got, err := fromLittleEndian("FP32", raw[n:])
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.([]float32) {
		if d := v - ref.Probs[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("probs[%d] = %v, torch gave %v", i, v, ref.Probs[i])
		}
	}
	for _, c := range []struct {
		name   string
		body   []byte
		hlen   string
		status int
	}{
		{"short binary", body[:len(body)-4], fmt.Sprint(len(header)), 400},
		{"extra bytes", append(append([]byte{}, body...), 0, 0, 0, 0), fmt.Sprint(len(header)), 400},
		{"header past the body", body, fmt.Sprint(len(body) + 1), 400},
		{"bad header length", body, "abc", 400},
	} {
		if rec := do(t, s, "POST", "/v2/models/cnn-test/infer", "application/octet-stream", c.body, headerInferenceLength, c.hlen); rec.Code != c.status {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
	}
}
