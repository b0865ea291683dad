package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/fenzhen/fenzhen/auth"
)

// The contract check: every request and response made through do (server_test.go)
// is validated against openapi.yaml with openapi3filter.
//
//   - The response always: its status must be listed for the route, its headers
//     (X-Request-Id, Retry-After …) and body must match.
//   - The request too, and a request the document rejects must get a 4xx:
//     tests that send deliberately bad requests need no marking, but the server
//     may never accept (2xx) what the document says is invalid.
//   - A path or method the document lacks may only answer with the error envelope.

var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error

	contractPairs    atomic.Int64 // exchanges through do whose response validated
	contractRejected atomic.Int64 // of those, requests the document rejects (all answered 4xx)
	contractUnrouted atomic.Int64 // of those, paths the document lacks (error envelope only)
	contractExcluded atomic.Int64 // exchanges not checked: CORS preflight, web console
)

func loadContract() (*openapi3.T, routers.Router, error) {
	contractOnce.Do(func() {
		for _, ct := range []string{"image/png", "image/jpeg", "application/dicom"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(OpenAPI)
		if err != nil {
			contractErr = fmt.Errorf("load openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contractErr = fmt.Errorf("openapi.yaml is not valid OpenAPI: %w", err)
			return
		}
		// Route on paths alone: the servers entry names a host the tests do not use.
		routing := *doc
		routing.Servers = nil
		r, err := gorillamux.NewRouter(&routing)
		if err != nil {
			contractErr = fmt.Errorf("router: %w", err)
			return
		}
		contractDoc, contractRouter = &routing, r
	})
	return contractDoc, contractRouter, contractErr
}

// checkContract validates one exchange made through do and fails t on a mismatch.
func checkContract(t testing.TB, method, target string, header http.Header, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	v, err := validateExchange(method, target, header, body, rec.Code, rec.Header(), rec.Body.Bytes())
	if err != nil {
		t.Errorf("openapi.yaml contract: %s %s → %d: %v", method, target, rec.Code, err)
		return
	}
	if v == requestExcluded {
		contractExcluded.Add(1)
		return
	}
	contractPairs.Add(1)
	switch v {
	case requestRejected:
		contractRejected.Add(1)
	case requestUnrouted:
		contractUnrouted.Add(1)
	}
}

type requestVerdict int

const (
	requestValid    requestVerdict = iota
	requestRejected                // the document rejects it; the server answered 4xx
	requestUnrouted                // no operation in the document; the answer was the error envelope
	requestExcluded                // outside the contract on purpose: CORS preflight, web console
)

// excludedFromContract: exchanges the document leaves out on purpose.
func excludedFromContract(method, target string, header http.Header) bool {
	if method == http.MethodOptions && header.Get("Access-Control-Request-Method") != "" {
		return true // CORS preflight, answered by the cors middleware for any path
	}
	path, _, _ := strings.Cut(target, "?")
	if method == http.MethodGet || method == http.MethodHead {
		return path == "/" || strings.HasPrefix(path, "/static/") // the web console (routeExclusions)
	}
	return false
}

// validateExchange checks one request and the server's response against openapi.yaml.
func validateExchange(method, target string, header http.Header, body []byte, status int, respHeader http.Header, respBody []byte) (requestVerdict, error) {
	doc, router, err := loadContract()
	if err != nil {
		return 0, err
	}
	if excludedFromContract(method, target, header) {
		return requestExcluded, nil
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header = header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Not a documented route (unknown path, wrong method, a test-only route):
		// only the error envelope may come back.
		if status < 400 {
			return 0, fmt.Errorf("answered %d on a path/method openapi.yaml does not describe (%v)", status, err)
		}
		if respHeader.Get(headerRequestID) == "" {
			return 0, errors.New("response has no X-Request-Id header")
		}
		var v any
		if err := json.Unmarshal(respBody, &v); err != nil {
			return 0, fmt.Errorf("error response is not JSON: %v", err)
		}
		if err := doc.Components.Schemas["Error"].Value.VisitJSON(v); err != nil {
			return 0, fmt.Errorf("error response is not the envelope: %v", err)
		}
		return requestUnrouted, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	verdict := requestValid
	if reqErr := openapi3filter.ValidateRequest(context.Background(), in); reqErr != nil {
		if status < 400 {
			return 0, fmt.Errorf("openapi.yaml rejects the request but the server answered %d: %v", status, reqErr)
		}
		verdict = requestRejected
	}
	// ValidateRequest consumed the body; the response check needs only the route.
	in.Request = httptest.NewRequest(method, target, bytes.NewReader(body))
	in.Request.Header = header.Clone()
	if err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 respHeader,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                opts,
	}); err != nil {
		return 0, fmt.Errorf("response does not match: %v", err)
	}
	return verdict, nil
}

// reportContract prints how much the contract check covered (TestMain calls it).
func reportContract() {
	if n := contractPairs.Load(); n > 0 {
		fmt.Printf("openapi.yaml: validated %d request/response pairs through do: %d requests valid, %d rejected by the document (all answered 4xx), %d on undocumented paths (error envelope)\n",
			n, n-contractRejected.Load()-contractUnrouted.Load(), contractRejected.Load(), contractUnrouted.Load())
		if x := contractExcluded.Load(); x > 0 {
			fmt.Printf("openapi.yaml: %d exchanges outside the contract on purpose (CORS preflight, web console) not checked\n", x)
		}
	}
}

func TestOpenAPIDocumentValid(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %s, want 3.0.x", doc.OpenAPI)
	}
	if doc.Info.Version != Version {
		t.Errorf("info.version %s, server version %s", doc.Info.Version, Version)
	}
	// The error code enum is exactly the server's codes.
	var enum []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		enum = append(enum, v.(string))
	}
	var codes []string
	for code := range codeStatus {
		codes = append(codes, code)
	}
	slices.Sort(enum)
	slices.Sort(codes)
	if !slices.Equal(enum, codes) {
		t.Errorf("ErrorCode enum %v, server codes %v", enum, codes)
	}
	// Each error response names the code of its status.
	for name, resp := range doc.Components.Responses {
		ex := resp.Value.Content.Get("application/json")
		if ex == nil || ex.Example == nil {
			continue
		}
		m, _ := ex.Example.(map[string]any)
		e, _ := m["error"].(map[string]any)
		if code, ok := e["code"].(string); ok {
			if _, known := codeStatus[code]; !known {
				t.Errorf("response %s: example code %q is not a server code", name, code)
			}
		}
	}
}

// routeExclusions are echo routes the document leaves out on purpose, with why.
var routeExclusions = map[string]string{
	"GET /":         "web console page (HTML), not part of the API contract",
	"GET /static/*": "web console assets",
	"HEAD /":        "web console page",
}

// Every route in echo is in the document and every operation of the document is
// a route, so a new route cannot be added without describing it.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, nil)
	served := map[string]bool{}
	for _, r := range s.echo.Routes() {
		key := r.Method + " " + r.Path
		if _, ok := routeExclusions[key]; ok {
			continue
		}
		served[key] = true
		path := echoToOpenAPIPath(r.Path)
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in openapi.yaml (as %s %s)", r.Method, r.Path, r.Method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			key := method + " " + openAPIToEchoPath(path)
			if !served[key] {
				t.Errorf("openapi.yaml describes %s %s, which the server does not route", method, path)
			}
		}
	}
	if len(served) < 20 {
		t.Errorf("only %d routes found: %v", len(served), served)
	}
}

func echoToOpenAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func openAPIToEchoPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			parts[i] = ":" + part[1:len(part)-1]
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIServed(t *testing.T) {
	s := newTestServer(t, nil)
	rec := do(t, s, "GET", "/openapi.yaml", "", nil)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") || !bytes.Equal(rec.Body.Bytes(), OpenAPI) {
		t.Fatalf("%d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if _, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil || !bytes.Equal(raw, OpenAPI) {
		t.Errorf("embedded document differs from openapi.yaml: %v", err)
	}
}

// The contract check itself fails on what it should catch.
func TestContractCheckCatchesMismatches(t *testing.T) {
	id := http.Header{"X-Request-Id": {"req-1"}}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	okHealth := []byte(`{"status":"ok"}`)
	triage := []byte(`{"text":"头疼"}`)
	goodTriage := []byte(`{"request_id":"r","symptoms":[],"departments":[],"urgency":{"level":"routine","label":"门诊就诊","red_flags":[],"reasons":[]},"diseases":[],"next_question":null,"models":[],"disclaimer":"d"}`)
	withCT := func(h http.Header) http.Header {
		h = h.Clone()
		h.Set("Content-Type", "application/json; charset=UTF-8")
		return h
	}
	for _, c := range []struct {
		name           string
		method, target string
		reqHeader      http.Header
		body           []byte
		status         int
		respHeader     http.Header
		respBody       []byte
		wantErr        string
	}{
		{"valid health", "GET", "/healthz", nil, nil, 200, withCT(id), okHealth, ""},
		{"valid triage", "POST", "/v1/triage", jsonHeader, triage, 200, withCT(id), goodTriage, ""},
		{"valid rejection", "POST", "/v1/triage", jsonHeader, []byte(`{"text":""}`), 400, withCT(id), []byte(`{"error":{"code":"invalid_argument","message":"m","request_id":"req-1"}}`), ""},
		{"no request id", "GET", "/healthz", nil, nil, 200, withCT(http.Header{}), okHealth, "X-Request-Id"},
		{"missing field", "POST", "/v1/triage", jsonHeader, triage, 200, withCT(id), bytes.Replace(goodTriage, []byte(`,"disclaimer":"d"`), nil, 1), "disclaimer"},
		{"bad level", "POST", "/v1/triage", jsonHeader, triage, 200, withCT(id), bytes.Replace(goodTriage, []byte(`"routine"`), []byte(`"later"`), 1), "level"},
		{"undocumented status", "GET", "/v1/departments", nil, nil, 418, withCT(id), []byte(`{}`), "status is not supported"},
		{"accepted invalid request", "POST", "/v1/triage", jsonHeader, []byte(`{"text":"头疼","top_k":99}`), 200, withCT(id), goodTriage, "rejects the request"},
		{"503 without Retry-After", "POST", "/v1/triage", jsonHeader, triage, 503, withCT(id), []byte(`{"error":{"code":"unavailable","message":"m","request_id":"req-1"}}`), "Retry-After"},
		{"bad error code", "POST", "/v1/triage", jsonHeader, []byte(`{"text":""}`), 400, withCT(id), []byte(`{"error":{"code":"bad","message":"m","request_id":"req-1"}}`), "code"},
		{"undocumented route answers 200", "GET", "/v9/secret", nil, nil, 200, withCT(id), okHealth, "does not describe"},
		{"undocumented route, envelope", "GET", "/v9/secret", nil, nil, 404, withCT(id), []byte(`{"error":{"code":"not_found","message":"m","request_id":"req-1"}}`), ""},
		{"undocumented method", "DELETE", "/v1/departments", nil, nil, 200, withCT(id), []byte(`{}`), "does not describe"},
		{"CORS preflight", "OPTIONS", "/v1/triage", http.Header{"Origin": {"https://his.example"}, "Access-Control-Request-Method": {"POST"}}, nil, 204, id, nil, ""},
		{"OPTIONS without preflight", "OPTIONS", "/v1/triage", nil, nil, 204, id, nil, "does not describe"},
		{"bad X-Request-Timeout", "GET", "/healthz", http.Header{"X-Request-Timeout": {"soon"}}, nil, 400, withCT(id), []byte(`{"error":{"code":"invalid_argument","message":"m","request_id":"req-1"}}`), ""},
		{"401 with the envelope", "GET", "/v1/departments", nil, nil, 401, withCT(id), []byte(`{"error":{"code":"unauthenticated","message":"m","request_id":"req-1"}}`), ""},
		{"401 on an open route", "GET", "/healthz", nil, nil, 401, withCT(id), []byte(`{"error":{"code":"unauthenticated","message":"m","request_id":"req-1"}}`), "status is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.reqHeader == nil {
				c.reqHeader = http.Header{}
			}
			_, err := validateExchange(c.method, c.target, c.reqHeader, c.body, c.status, c.respHeader, c.respBody)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("got %v, want an error mentioning %q", err, c.wantErr)
			}
		})
	}
}

// The answers of auth, rate limiting and deadlines match the document too:
// these go through do, so each is validated (401 with WWW-Authenticate, 403,
// 429 with Retry-After, 400 for a bad X-Request-Timeout, 504).
func TestOpenAPIAuthLimitsDeadlines(t *testing.T) {
	f := &auth.File{}
	now := time.Now()
	knowledgeKey, _, err := f.Add("clinic-a", []string{auth.ScopeKnowledge}, 0.01, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	inferKey, _, err := f.Add("lab", []string{auth.ScopeInference}, 0, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, func(c *Config) { c.Auth, c.KeysFile, c.KeyRate = AuthRequired, path, 0 })
	if err := s.LoadKeys(); err != nil {
		t.Fatal(err)
	}
	ref := loadReference(t)
	infer := inferBody("input", "FP32", ref.Shape, ref.Input)
	for _, c := range []struct {
		name, method, path string
		body               []byte
		header             []string
		status             int
	}{
		{"open route without a key", "GET", "/healthz", nil, nil, 200},
		{"readiness without a key", "GET", "/readyz", nil, nil, 200},
		{"document without a key", "GET", "/openapi.yaml", nil, nil, 200},
		{"no key", "GET", "/v1/departments", nil, nil, 401},
		{"unknown key", "GET", "/v1/departments", nil, []string{"Authorization", "Bearer nope"}, 401},
		{"wrong scope", "POST", "/v2/models/cnn-test/infer", infer, []string{"X-API-Key", knowledgeKey}, 403},
		{"bearer key", "GET", "/v1/departments", nil, []string{"Authorization", "Bearer " + knowledgeKey}, 200},
		{"over the key's rate", "GET", "/v1/departments", nil, []string{"X-API-Key", knowledgeKey}, 429},
		{"bad X-Request-Timeout", "GET", "/healthz", nil, []string{"X-Request-Timeout", "soon"}, 400},
		{"inference key", "POST", "/v2/models/cnn-test/infer", infer, []string{"X-API-Key", inferKey}, 200},
		{"deadline passed", "POST", "/v2/models/cnn-test/infer", infer, []string{"X-API-Key", inferKey, "X-Request-Timeout", "1ns"}, 504},
	} {
		rec := do(t, s, c.method, c.path, "application/json", c.body, c.header...)
		if rec.Code != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, rec.Code, c.status, rec.Body)
		}
	}
}
