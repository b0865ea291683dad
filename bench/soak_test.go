package bench

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// soakServer serves the committed models and the embedded KG on 127.0.0.1,
// logging at debug level (every request line) into logs.
func soakServer(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	if err := inference.InitRuntime(""); err != nil {
		t.Skip("needs ONNX Runtime (make setup):", err)
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	repo, err := inference.OpenRepository(filepath.Join("..", "models"), inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	kg, err := knowledge.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	seg, err := segment.New(kg.Terms())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := triage.New(kg, x, repo, triage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.DefaultConfig(), api.Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Registry: reg}, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

func chestPNG(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "models", "chest-xray", "testdata", "test_000_pneumonia.png"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// 2,000 requests of the soak mix against the real server: no 5xx, no hang,
// every malformed case answered with its documented status and code, and the
// test identifiers nowhere in the server's debug log.
func TestSoakSmall(t *testing.T) {
	var logs syncBuffer
	base := soakServer(t, &logs)
	rep, err := Soak(context.Background(), SoakOptions{
		BaseURL: base, Requests: 2000, WarmUp: 200, Concurrency: 8, Timeout: 20 * time.Second,
		ChestPNG: chestPNG(t), Seed: 1, Logs: logs.Bytes, Files: []string{filepath.Join(t.TempDir(), "audit.db")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.Markdown("go test", "test"))
	if rep.Total != 2000 || rep.Server5xx != 0 || rep.Hangs != 0 || rep.TransportErrors != 0 {
		t.Errorf("total %d, 5xx %d, hangs %d, transport errors %d (%s)", rep.Total, rep.Server5xx, rep.Hangs, rep.TransportErrors, rep.FirstTransport)
	}
	if rep.ValidShare < 0.55 || rep.ValidShare > 0.65 {
		t.Errorf("valid share %.2f, want about 0.6", rep.ValidShare)
	}
	invalid := 0
	for _, cr := range rep.Cases {
		if cr.Count == 0 || cr.Wrong != 0 {
			t.Errorf("%s: sent %d, %d wrong (%s)", cr.Case.Name, cr.Count, cr.Wrong, cr.Example)
		}
		for status, n := range cr.Statuses {
			if !slices.Contains(cr.Case.Status, status) {
				t.Errorf("%s: %d×%d, documented %v", cr.Case.Name, n, status, cr.Case.Status)
			}
		}
		if !cr.Case.Valid {
			invalid++
		}
	}
	if invalid < 20 {
		t.Errorf("only %d malformed cases in the mix", invalid)
	}
	if len(rep.Leaks) != 4 {
		t.Fatalf("leak checks %+v, want the log and the audit file for 2 identifiers", rep.Leaks)
	}
	for _, l := range rep.Leaks {
		if l.Found {
			t.Errorf("%s found in %s", l.What, l.Where)
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte(`"route":"/v1/triage"`)) {
		t.Error("the debug log has no request lines, so the leak check looked at nothing")
	}
	if !rep.OK() {
		t.Errorf("failures: %v", rep.Failures)
	}
}

// The checks can fail: a logged identifier, a 500, a wrong code, RSS growth.
func TestSoakJudgeFails(t *testing.T) {
	c := &SoakCase{Name: "empty text", Status: []int{400}, Code: "invalid_argument"}
	answer := func(status int, body string, hdr ...string) string {
		h := http.Header{"X-Request-Id": {"x"}}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return judgeAnswer(c, &http.Response{StatusCode: status, Header: h}, []byte(body))
	}
	env := func(code string) string { return `{"error":{"code":"` + code + `","message":"m","request_id":"x"}}` }
	for name, got := range map[string]string{
		"wrong status":        answer(422, env("unprocessable")),
		"code for another":    answer(400, env("not_found")),
		"no envelope":         answer(400, `bad request`),
		"undocumented code":   answer(400, env("bad_request")),
		"200 for malformed":   answer(200, `{}`),
		"503 no Retry-After":  answer(503, env("unavailable")),
		"500":                 answer(500, env("internal")),
		"no request id":       judgeAnswer(c, &http.Response{StatusCode: 400, Header: http.Header{}}, []byte(env("invalid_argument"))),
		"right answer passes": "",
	} {
		if (got == "") != (name == "right answer passes") {
			t.Errorf("%s: judged %q", name, got)
		}
	}
	if got := answer(400, env("invalid_argument")); got != "" {
		t.Errorf("documented answer judged wrong: %s", got)
	}
	if got := answer(429, env("rate_limited"), "Retry-After", "1"); got != "" {
		t.Errorf("a shed answer is not a wrong one: %s", got)
	}

	r := &SoakReport{Options: SoakOptions{Logs: func() []byte { return []byte(`{"msg":"x","text":"电话` + SoakPhone + `"}`) }}, MemoryMeasured: true,
		Before: MemSample{RSS: 100 << 20}, After: MemSample{RSS: 111 << 20}, Server5xx: 1,
		Cases: []*CaseResult{{Case: *c, Count: 3}}}
	r.checkLeaks()
	r.judge()
	joined := strings.Join(r.Failures, "\n")
	for _, want := range []string{"5xx", "RSS grew 11.0%", SoakPhone + " found in plain text"} {
		if !strings.Contains(joined, want) {
			t.Errorf("failures lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, SoakIDNumber) {
		t.Errorf("the ID number was not in the log: %s", joined)
	}
}

func TestCheckLoopback(t *testing.T) {
	for base, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://[::1]:9000": true, "http://localhost:1": true, "http://127.8.9.10:80": true,
		"http://10.0.0.5:8080": false, "http://example.com": false, "https://127.0.0.1:8080": false, "127.0.0.1:8080": false, "http://0.0.0.0:8080": false,
	} {
		if err := CheckLoopback(base); (err == nil) != ok {
			t.Errorf("%s: %v", base, err)
		}
	}
}
