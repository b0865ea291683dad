package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Identifiers the soak puts in request texts and then looks for, in plain
// text, in everything the server wrote: a test mobile number and a test
// 身份证号 (checksum-valid, of no real person).
var (
	SoakPhone    = "13800138000"
	SoakIDNumber = "11010119900307123X"
)

// SoakOptions configure a soak run against a server at BaseURL.
type SoakOptions struct {
	BaseURL     string        // http://127.0.0.1:port of the server under test
	Requests    int           // measured requests (the warm-up comes on top)
	WarmUp      int           // requests before the first memory sample; 0 is Requests/10 (at most 5000)
	Concurrency int           // client goroutines
	Timeout     time.Duration // per request; a request still open after it counts as a hang
	Header      http.Header   // sent with every request (an API key)
	ChestPNG    []byte        // a small chest X-ray PNG for the imaging cases
	MaxBody     int64         // the server's JSON body limit, for the oversized case
	Seed        uint64
	// Memory samples the server's memory; nil when the server runs in
	// another process (then growth is not measured).
	Memory func() MemSample
	// Logs returns what the server has logged so far; nil skips that check.
	Logs func() []byte
	// Files are more outputs to search for the identifiers (the audit
	// database and its -wal/-shm); missing ones are reported as absent.
	Files []string
	// Drain, when set, runs after the last request and before the outputs
	// are searched: it stops the server so buffered log and audit writes land.
	Drain func()
	// Progress, when set, is told how far the run is.
	Progress func(done, total int)
}

// MemSample is the process's resident set and the Go heap after a GC.
type MemSample struct {
	RSS  uint64 // bytes, VmRSS of /proc/self/status
	Heap uint64 // bytes, live heap after runtime.GC
}

// SelfMemory collects garbage, returns freed memory to the OS and samples
// this process: what an in-process server holds once warm.
func SelfMemory() MemSample {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return MemSample{RSS: vmRSS(), Heap: ms.HeapAlloc}
}

func vmRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// SoakCase is one kind of request with the answer API.md documents for it.
type SoakCase struct {
	Name        string
	Valid       bool // a request a well-behaved client sends; else a malformed one
	Weight      int  // share of the mix
	Method      string
	Path        string
	ContentType string
	Body        []byte
	Chunked     bool   // send without Content-Length
	Status      []int  // documented statuses (more than one where API.md allows either)
	Code        string // the envelope's code for an error status
}

// SoakCases is the mix: 60 % valid requests over every route family, 40 %
// malformed ones, each with its documented status. diseaseID is a disease of
// the knowledge graph; maxBody is the JSON body limit.
func SoakCases(chestPNG []byte, diseaseID string, maxBody int64) []SoakCase {
	jsonBody := func(v any) []byte { b, _ := json.Marshal(v); return b }
	triageReq := func(text string, extra ...any) []byte {
		m := map[string]any{"text": text}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return jsonBody(m)
	}
	q := url.QueryEscape
	infer := func(model, name string, shape []int64, n int) []byte {
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i%7) / 7
		}
		return jsonBody(map[string]any{"inputs": []map[string]any{{"name": name, "datatype": "FP32", "shape": shape, "data": data}}})
	}
	corruptPNG := append(slices.Clone(chestPNG[:min(len(chestPNG), 60)]), bytes.Repeat([]byte{0xA5}, 200)...)
	const J, PNG = "application/json", "image/png"
	ok := []int{200}
	bad := func(status int, code string) ([]int, string) { return []int{status}, code }
	var cases []SoakCase
	add := func(name string, valid bool, weight int, method, path, ctype string, body []byte, status []int, code string) {
		cases = append(cases, SoakCase{Name: name, Valid: valid, Weight: weight, Method: method, Path: path, ContentType: ctype, Body: body, Status: status, Code: code})
	}
	// Valid: 60.
	add("triage: child fever", true, 8, "POST", "/v1/triage", J, triageReq("三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", "age", 3, "sex", "male"), ok, "")
	add("triage: chest pain", true, 5, "POST", "/v1/triage", J, triageReq("胸口疼得厉害，出了一身冷汗", "age", 58, "sex", "male"), ok, "")
	add("triage: evidence answers", true, 4, "POST", "/v1/triage", J, triageReq("头疼三天了，有点恶心", "age", 42, "evidence", []map[string]string{{"id": "fever", "state": "absent"}, {"id": "vomiting", "state": "unknown"}}, "top_k", 10), ok, "")
	add("triage: with phone and 身份证号", true, 4, "POST", "/v1/triage", J, triageReq("我叫李梅，电话"+SoakPhone+"，身份证号"+SoakIDNumber+"，肚子疼一天了，拉了三次稀水样便", "age", 34, "sex", "female"), ok, "")
	add("triage: no symptom", true, 2, "POST", "/v1/triage", J, triageReq("你好，请问在吗"), ok, "")
	add("record: child fever", true, 5, "POST", "/v1/record", J, triageReq("三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", "age", 3), ok, "")
	add("record: with phone and 身份证号", true, 3, "POST", "/v1/record", J, triageReq("联系电话"+SoakPhone+"，身份证"+SoakIDNumber+"。尿频尿急，小便的时候疼，没有发烧", "age", 45, "sex", "female"), ok, "")
	add("medication check", true, 3, "POST", "/v1/medication/check", J, jsonBody(map[string]any{"drugs": []string{"阿司匹林", "布洛芬"}, "conditions": []string{"消化性溃疡"}, "age": 8}), ok, "")
	add("knowledge search", true, 5, "GET", "/v1/knowledge/search?q="+q("胸痛")+"&limit=10", "", nil, ok, "")
	add("knowledge disease", true, 3, "GET", "/v1/knowledge/diseases/"+url.PathEscape(diseaseID), "", nil, ok, "")
	add("departments", true, 2, "GET", "/v1/departments", "", nil, ok, "")
	add("v2 infer cnn-test", true, 6, "POST", "/v2/models/cnn-test/infer", J, infer("cnn-test", "input", []int64{1, 1, 28, 28}, 784), ok, "")
	add("chest X-ray PNG", true, 6, "POST", "/v1/imaging/chest", PNG, chestPNG, ok, "")
	add("v2 model ready", true, 2, "GET", "/v2/models/cnn-test/ready", "", nil, ok, "")
	add("healthz", true, 2, "GET", "/healthz", "", nil, ok, "")
	// Malformed: 40.
	s, c := bad(400, "invalid_argument")
	add("empty text", false, 3, "POST", "/v1/triage", J, triageReq(""), s, c)
	add("over-long text", false, 3, "POST", "/v1/triage", J, triageReq(strings.Repeat("头疼", 1001)), s, c)
	add("bad JSON", false, 3, "POST", "/v1/record", J, []byte(`{"text":"发烧两天",`), s, c)
	add("deep JSON", false, 2, "POST", "/v1/triage", J, []byte(`{"text":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`), s, c)
	add("text not a string", false, 2, "POST", "/v1/triage", J, []byte(`{"text":123}`), s, c)
	add("age 121", false, 3, "POST", "/v1/triage", J, triageReq("头疼", "age", 121), s, c)
	add("age negative", false, 1, "POST", "/v1/record", J, triageReq("头疼", "age", -1), s, c)
	add("bad sex", false, 2, "POST", "/v1/triage", J, triageReq("头疼", "sex", "男"), s, c)
	add("top_k 21", false, 1, "POST", "/v1/triage", J, triageReq("头疼", "top_k", 21), s, c)
	add("search without q", false, 2, "GET", "/v1/knowledge/search?q=", "", nil, s, c)
	add("v2 wrong shape", false, 2, "POST", "/v2/models/cnn-test/infer", J, infer("cnn-test", "input", []int64{1, 784}, 784), s, c)
	add("medication without drugs", false, 1, "POST", "/v1/medication/check", J, []byte(`{"drugs":[]}`), s, c)
	s, c = bad(422, "unprocessable")
	add("unknown evidence id", false, 3, "POST", "/v1/triage", J, triageReq("头疼", "evidence", []map[string]string{{"id": "no_such_symptom", "state": "present"}}), s, c)
	add("bad evidence state", false, 1, "POST", "/v1/record", J, triageReq("头疼", "evidence", []map[string]string{{"id": "fever", "state": "maybe"}}), s, c)
	add("corrupt PNG", false, 2, "POST", "/v1/imaging/chest", PNG, corruptPNG, []int{422, 415}, "")
	s, c = bad(415, "unsupported_media_type")
	add("wrong content type (XML)", false, 1, "POST", "/v1/triage", "application/xml", []byte(`<text>头疼</text>`), s, c)
	add("wrong content type (PNG to triage)", false, 1, "POST", "/v1/record", PNG, chestPNG, s, c)
	add("text sent as PNG", false, 1, "POST", "/v1/imaging/chest", PNG, []byte("this is not an image at all"), s, c)
	s, c = bad(413, "payload_too_large")
	oversized := triageReq(strings.Repeat("咳", int(maxBody/3)+1))
	add("oversized body", false, 1, "POST", "/v1/triage", J, oversized, s, c)
	add("oversized body, chunked", false, 1, "POST", "/v1/record", J, oversized, s, c)
	cases[len(cases)-1].Chunked = true
	s, c = bad(404, "not_found")
	add("unknown model", false, 2, "POST", "/v2/models/no-such-model/infer", J, infer("x", "input", []int64{1, 1, 28, 28}, 784), s, c)
	add("unknown disease", false, 1, "GET", "/v1/knowledge/diseases/no_such_disease", "", nil, s, c)
	add("unknown route", false, 1, "GET", "/v1/nothing-here", "", nil, s, c)
	return cases
}

// CaseResult is what one case got.
type CaseResult struct {
	Case     SoakCase
	Count    int
	Statuses map[int]int
	Wrong    int    // answered with an undocumented status or code
	Example  string // the first wrong answer
	P99      time.Duration
	lat      []time.Duration
}

// LeakCheck says whether an identifier turned up in one of the server's outputs.
type LeakCheck struct {
	Where, What string
	Found       bool
	Absent      bool // the output does not exist (e.g. audit off)
}

// SoakReport is the outcome of a soak run.
type SoakReport struct {
	Options          SoakOptions
	Duration         time.Duration
	Total            int
	Cases            []*CaseResult
	Server5xx        int // 500s (and any 5xx other than a shed 503)
	Shed             int // 429/503 with Retry-After: admission control, not a failure
	Hangs            int // requests that outlived Options.Timeout
	TransportErrors  int
	FirstTransport   string
	P50, P99, Max    time.Duration
	Before, After    MemSample
	MemoryMeasured   bool
	Leaks            []LeakCheck
	Failures         []string
	Throughput       float64
	ValidShare       float64
	measuredRequests int
}

// RSSGrowth is (after − before) / before.
func (r *SoakReport) RSSGrowth() float64 {
	if r.Before.RSS == 0 {
		return 0
	}
	return float64(int64(r.After.RSS)-int64(r.Before.RSS)) / float64(r.Before.RSS)
}

// OK reports whether every acceptance check passed.
func (r *SoakReport) OK() bool { return len(r.Failures) == 0 }

// Soak warms the server up, samples its memory, sends Requests requests of the
// mix from Concurrency clients, samples memory again and checks every answer,
// the latency tail and the server's outputs for the test identifiers.
func Soak(ctx context.Context, o SoakOptions) (*SoakReport, error) {
	if o.Requests < 1 || o.Concurrency < 1 {
		return nil, errors.New("soak: requests and concurrency must be positive")
	}
	if err := CheckLoopback(o.BaseURL); err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.WarmUp == 0 {
		o.WarmUp = min(o.Requests/10, 5000)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if len(o.ChestPNG) < 60 {
		return nil, errors.New("soak: a chest X-ray PNG is needed for the imaging cases")
	}
	client := &http.Client{
		Timeout:   o.Timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency * 2, DisableCompression: true},
	}
	defer client.CloseIdleConnections()
	diseaseID, err := findDisease(ctx, client, o)
	if err != nil {
		return nil, err
	}
	cases := SoakCases(o.ChestPNG, diseaseID, o.MaxBody)
	rep := &SoakReport{Options: o}
	for _, c := range cases {
		rep.Cases = append(rep.Cases, &CaseResult{Case: c, Statuses: map[int]int{}})
	}
	// A shuffled schedule of case indices in proportion to their weights.
	var schedule []int
	valid := 0
	for i, c := range cases {
		for range c.Weight {
			schedule = append(schedule, i)
			if c.Valid {
				valid++
			}
		}
	}
	rep.ValidShare = float64(valid) / float64(len(schedule))
	rng := rand.New(rand.NewPCG(o.Seed, 0x50a4))

	var mu sync.Mutex
	var all []time.Duration
	run := func(n int, record bool) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					cr := rep.Cases[schedule[i%len(schedule)]]
					status, el, problem, transport := send(ctx, client, o, &cr.Case)
					if !record {
						continue
					}
					mu.Lock()
					cr.Count++
					rep.Total++
					switch {
					case transport != "":
						if strings.Contains(transport, "Client.Timeout") || strings.Contains(transport, "deadline exceeded") {
							rep.Hangs++
						} else {
							rep.TransportErrors++
						}
						if rep.FirstTransport == "" {
							rep.FirstTransport = cr.Case.Name + ": " + transport
						}
					default:
						cr.Statuses[status]++
						cr.lat = append(cr.lat, el)
						all = append(all, el)
						switch {
						case (status == 429 || status == 503) && problem == "" && !slices.Contains(cr.Case.Status, status):
							rep.Shed++
						case status >= 500 && !slices.Contains(cr.Case.Status, status):
							rep.Server5xx++
							cr.Wrong++
							cr.Example = cmpOr(cr.Example, problem)
						case problem != "":
							cr.Wrong++
							cr.Example = cmpOr(cr.Example, problem)
						}
					}
					done := rep.Total
					mu.Unlock()
					if o.Progress != nil && done%max(1, n/20) == 0 {
						o.Progress(done, n)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	rng.Shuffle(len(schedule), func(i, j int) { schedule[i], schedule[j] = schedule[j], schedule[i] })
	run(o.WarmUp, false)
	if o.Memory != nil {
		rep.Before = o.Memory()
	}
	rep.Duration = run(o.Requests, true)
	if o.Memory != nil {
		rep.After = o.Memory()
		rep.MemoryMeasured = true
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.Throughput = float64(rep.Total) / rep.Duration.Seconds()
	rep.P50, rep.P99, rep.Max = percentile(all, 0.50), percentile(all, 0.99), percentile(all, 1)
	for _, cr := range rep.Cases {
		cr.P99 = percentile(cr.lat, 0.99)
		cr.lat = nil
	}
	if o.Drain != nil {
		o.Drain()
	}
	rep.checkLeaks()
	rep.judge()
	return rep, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func percentile(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[min(len(lat)-1, int(p*float64(len(lat))))]
}

// send makes one request and checks the answer against the case: problem
// describes a wrong answer, transport a request that got none.
func send(ctx context.Context, client *http.Client, o SoakOptions, c *SoakCase) (status int, el time.Duration, problem, transport string) {
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
		if c.Chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, o.BaseURL+c.Path, body)
	if err != nil {
		return 0, 0, "", err.Error()
	}
	for k, vs := range o.Header {
		req.Header[k] = vs
	}
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, time.Since(start), "", err.Error()
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el = time.Since(start)
	if err != nil {
		return 0, el, "", "reading the answer: " + err.Error()
	}
	status = resp.StatusCode
	return status, el, judgeAnswer(c, resp, raw), ""
}

// judgeAnswer returns "" when the answer is what API.md documents for the case.
func judgeAnswer(c *SoakCase, resp *http.Response, raw []byte) string {
	status := resp.StatusCode
	short := string(raw[:min(len(raw), 160)])
	if resp.Header.Get("X-Request-Id") == "" {
		return fmt.Sprintf("%d without X-Request-Id", status)
	}
	if status == 200 {
		if !slices.Contains(c.Status, 200) {
			return fmt.Sprintf("200, want %v: %s", c.Status, short)
		}
		if !json.Valid(raw) {
			return "200 with a body that is not JSON: " + short
		}
		return ""
	}
	var env struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Error.Code == "" || env.Error.RequestID == "" {
		return fmt.Sprintf("%d without the error envelope: %s", status, short)
	}
	if want, ok := envelopeStatus[env.Error.Code]; !ok || want != status {
		return fmt.Sprintf("%d with code %q (undocumented or for another status)", status, env.Error.Code)
	}
	if (status == 429 || status == 503) && resp.Header.Get("Retry-After") == "" {
		return fmt.Sprintf("%d without Retry-After", status)
	}
	if status == 429 || status == 503 {
		return "" // shed by admission control; counted apart
	}
	if !slices.Contains(c.Status, status) || (c.Code != "" && env.Error.Code != c.Code) {
		return fmt.Sprintf("%d %s, want %v %s: %s", status, env.Error.Code, c.Status, c.Code, env.Error.Message)
	}
	return ""
}

// envelopeStatus is API.md's code → status table.
var envelopeStatus = map[string]int{
	"invalid_argument": 400, "unauthenticated": 401, "permission_denied": 403, "not_found": 404,
	"payload_too_large": 413, "unsupported_media_type": 415, "unprocessable": 422,
	"rate_limited": 429, "unavailable": 503, "deadline_exceeded": 504, "internal": 500,
}

func findDisease(ctx context.Context, client *http.Client, o SoakOptions) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", o.BaseURL+"/v1/knowledge/search?type=disease&limit=1&q="+url.QueryEscape("肺炎"), nil)
	for k, vs := range o.Header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("soak: the server does not answer: %w", err)
	}
	defer resp.Body.Close()
	var out struct{ Hits []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Hits) == 0 {
		return "", fmt.Errorf("soak: knowledge search for a disease id: status %d, %v", resp.StatusCode, err)
	}
	return out.Hits[0].ID, nil
}

// CheckLoopback refuses a base URL whose host is not a loopback address: the
// soak sends malformed and oversized requests and must not aim at a server
// someone relies on.
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("target %q: want http://127.0.0.1:PORT", base)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q is not a loopback address; the soak only runs against 127.0.0.1 or ::1", base)
	}
	return nil
}

// checkLeaks looks for the test identifiers in the server's log and files.
func (r *SoakReport) checkLeaks() {
	ids := []string{SoakPhone, SoakIDNumber}
	if r.Options.Logs != nil {
		logs := r.Options.Logs()
		for _, id := range ids {
			r.Leaks = append(r.Leaks, LeakCheck{Where: fmt.Sprintf("server log (%d bytes)", len(logs)), What: id, Found: bytes.Contains(logs, []byte(id))})
		}
	}
	for _, f := range r.Options.Files {
		raw, err := os.ReadFile(f)
		for _, id := range ids {
			lc := LeakCheck{Where: f, What: id, Absent: err != nil}
			if err == nil {
				lc.Where = fmt.Sprintf("%s (%d bytes)", f, len(raw))
				lc.Found = bytes.Contains(raw, []byte(id))
			}
			r.Leaks = append(r.Leaks, lc)
		}
	}
}

// judge lists every failed acceptance check.
func (r *SoakReport) judge() {
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if r.Server5xx > 0 {
		fail("%d answers were 5xx (other than a shed 503)", r.Server5xx)
	}
	if r.Hangs > 0 {
		fail("%d requests got no answer within %s", r.Hangs, r.Options.Timeout)
	}
	if r.TransportErrors > 0 {
		fail("%d requests failed without an answer, e.g. %s", r.TransportErrors, r.FirstTransport)
	}
	for _, cr := range r.Cases {
		if cr.Wrong > 0 {
			fail("%s: %d of %d answers were not the documented %v %s, e.g. %s", cr.Case.Name, cr.Wrong, cr.Count, cr.Case.Status, cr.Case.Code, cr.Example)
		}
		if cr.Count == 0 {
			fail("%s: never sent (too few requests for the mix)", cr.Case.Name)
		}
	}
	if r.MemoryMeasured && r.RSSGrowth() >= 0.10 {
		fail("RSS grew %.1f%% (%s → %s) after warm-up", 100*r.RSSGrowth(), mib(r.Before.RSS), mib(r.After.RSS))
	}
	for _, l := range r.Leaks {
		if l.Found {
			fail("%s found in plain text in %s", l.What, l.Where)
		}
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Markdown renders the report for bench/RESULTS.md and stdout.
func (r *SoakReport) Markdown(command, machine string) string {
	var b strings.Builder
	o := r.Options
	verdict := "**PASS**"
	if !r.OK() {
		verdict = "**FAIL**"
	}
	fmt.Fprintf(&b, "## Soak: %d requests of a valid/malformed mix (%s) — %s\n\n", r.Total, time.Now().UTC().Format("2006-01-02"), verdict)
	fmt.Fprintf(&b, "- Command: `%s`\n- Machine: %s; 1-minute load average %s at the end\n", command, machine, LoadAvg())
	fmt.Fprintf(&b, "- %d clients, closed loop, %.0f%% valid requests; %d warm-up requests before the first memory sample; per-request client timeout %s.\n\n", o.Concurrency, 100*r.ValidShare, o.WarmUp, o.Timeout)
	fmt.Fprintf(&b, "| measure | value |\n|---|---:|\n")
	fmt.Fprintf(&b, "| requests answered | %d in %s (%.0f req/s) |\n", r.Total-r.Hangs-r.TransportErrors, r.Duration.Round(time.Millisecond), r.Throughput)
	fmt.Fprintf(&b, "| latency p50 / p99 / max | %s / %s / %s |\n", round(r.P50), round(r.P99), round(r.Max))
	fmt.Fprintf(&b, "| 5xx (not shed) | %d |\n| shed (429/503 with Retry-After) | %d |\n| hangs (no answer in %s) | %d |\n| transport errors | %d |\n", r.Server5xx, r.Shed, o.Timeout, r.Hangs, r.TransportErrors)
	wrong := 0
	for _, cr := range r.Cases {
		wrong += cr.Wrong
	}
	fmt.Fprintf(&b, "| answers not as documented | %d |\n", wrong)
	if r.MemoryMeasured {
		fmt.Fprintf(&b, "| RSS after warm-up → end | %s → %s (%+.1f%%) |\n", mib(r.Before.RSS), mib(r.After.RSS), 100*r.RSSGrowth())
		fmt.Fprintf(&b, "| Go heap after GC, after warm-up → end | %s → %s |\n", mib(r.Before.Heap), mib(r.After.Heap))
	}
	absent := map[string]bool{}
	for _, l := range r.Leaks {
		state := "not found"
		switch {
		case l.Absent && absent[l.Where]:
			continue
		case l.Absent:
			absent[l.Where] = true
			fmt.Fprintf(&b, "| %s | absent |\n", l.Where)
			continue
		case l.Found:
			state = "**FOUND**"
		}
		fmt.Fprintf(&b, "| `%s` in %s | %s |\n", l.What, l.Where, state)
	}
	b.WriteString("\n| case | documented | sent | statuses | p99 | wrong |\n|---|---|---:|---|---:|---:|\n")
	for _, cr := range r.Cases {
		want := fmt.Sprint(cr.Case.Status)
		if cr.Case.Code != "" {
			want += " " + cr.Case.Code
		}
		var st []string
		for _, code := range slices.Sorted(maps.Keys(cr.Statuses)) {
			st = append(st, fmt.Sprintf("%d×%d", code, cr.Statuses[code]))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d |\n", cr.Case.Name, want, cr.Count, strings.Join(st, " "), round(cr.P99), cr.Wrong)
	}
	if len(r.Failures) > 0 {
		b.WriteString("\nFailed checks:\n\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}
