package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// fuzzContentTypes are what clients send; the fuzzer picks one by index.
var fuzzContentTypes = []string{"application/json", "application/json; charset=utf-8", "", "text/plain", "application/x-www-form-urlencoded", "APPLICATION/JSON"}

// FuzzTriageRequest sends arbitrary bodies through the whole echo stack of
// /v1/triage and /v1/record (middleware, body limit, decoding, validation,
// extraction, the department model, the record writer). It must never panic
// or answer 500; every answer is JSON: a 200 with request_id and disclaimer
// (triage symptom offsets inside the text) or the error envelope with a
// documented code whose status matches it and the request's id.
func FuzzTriageRequest(f *testing.F) {
	for _, seed := range []string{
		`{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3,"sex":"male"}`,
		`{"text":"胸口疼得厉害，出了一身冷汗","age":58,"sex":"male","top_k":20}`,
		`{"text":"头疼","evidence":[{"id":"fever","state":"absent"},{"id":"no_such","state":"present"}]}`,
		`{"text":"","age":-1}`, `{"text":"发烧","age":1e309}`, `{"text":"x","sex":"other","top_k":0}`,
		`[[[[[[[[[[]]]]]]]]]]`, `{"text":"\ud800咳嗽\u0000"}`, `{"text":"腹痛"} {"text":"again"}`, `null`, ``,
	} {
		f.Add(false, uint8(0), []byte(seed))
		f.Add(true, uint8(0), []byte(seed))
	}
	f.Add(false, uint8(3), []byte(`{"text":"头疼"}`))
	f.Add(true, uint8(1), []byte("{\"text\":\"\xff\xfe发烧\"}"))

	// One server for every input: the fuzz engine calls the function many
	// times per worker. A 4 KiB body limit lets small inputs reach 413 too.
	s := serverAt(f, filepath.Join("..", "models"), slog.New(slog.NewTextHandler(io.Discard, nil)), func(c *Config) { c.MaxBodyBytes = 4 << 10 })
	f.Fuzz(func(t *testing.T, record bool, ctype uint8, body []byte) {
		path := "/v1/triage"
		if record {
			path = "/v1/record"
		}
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("X-Request-Id", "fuzz-1")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)

		if rec.Code == 500 {
			t.Fatalf("500 for %q: %s", body, rec.Body)
		}
		if rec.Header().Get("X-Request-Id") != "fuzz-1" {
			t.Fatalf("X-Request-Id %q", rec.Header().Get("X-Request-Id"))
		}
		if rec.Code != 200 {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("%d is not JSON: %q", rec.Code, rec.Body)
			}
			want, ok := codeStatus[e.Error.Code]
			if !ok || want != rec.Code || e.Error.RequestID != "fuzz-1" || e.Error.Message == "" {
				t.Fatalf("%d with envelope %+v: undocumented code, wrong status or missing id", rec.Code, e.Error)
			}
			if (rec.Code == 503 || rec.Code == 429) && rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%d without Retry-After", rec.Code)
			}
			return
		}
		var out struct {
			RequestID  string `json:"request_id"`
			Disclaimer string
			Symptoms   []struct{ Start, End int }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.RequestID != "fuzz-1" || out.Disclaimer == "" {
			t.Fatalf("200 without request_id or disclaimer (%v): %s", err, rec.Body)
		}
		var in struct{ Text string }
		if json.Unmarshal(body, &in) != nil {
			return // 200 for a body Unmarshal refuses: a first value followed by space is fine
		}
		n := utf8.RuneCountInString(in.Text)
		for _, m := range out.Symptoms {
			if m.Start < 0 || m.Start >= m.End || m.End > n {
				t.Fatalf("symptom offsets [%d,%d) outside a %d-rune text", m.Start, m.End, n)
			}
		}
	})
}
