package main

// The web console driven in headless Chromium against the real server: real
// models, the embedded knowledge graph, real triage and chest X-ray inference.
// This file sorts after serve_test.go on purpose: its runtime-failure cases
// must run before any test loads ONNX Runtime into the process.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fenzhen/fenzhen/api"
)

// consoleChromium finds a Chromium or Chrome binary: $FENZHEN_CHROMIUM, then
// Debian's /usr/bin/chromium, then the usual names on $PATH.
func consoleChromium() string {
	if p := os.Getenv("FENZHEN_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// apiCall is one /v1 request the page made, with the server's answer.
type apiCall struct {
	Path     string
	Auth     string // the Authorization header
	Body     []byte
	Status   int
	Response []byte
}

// apiRecorder passes every request to the real server and keeps the /v1 ones.
type apiRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []apiCall
}

type teeWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1/") || r.Method != http.MethodPost {
		a.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	tw := &teeWriter{ResponseWriter: w, status: http.StatusOK}
	a.next.ServeHTTP(tw, r)
	a.mu.Lock()
	a.calls = append(a.calls, apiCall{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body, Status: tw.status, Response: tw.buf.Bytes()})
	a.mu.Unlock()
}

func (a *apiRecorder) to(path string) []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apiCall
	for _, c := range a.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// consoleLog collects what the page wrote to the console.
type consoleLog struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func (l *consoleLog) take() []chromedp.ConsoleMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.messages
	l.messages = nil
	return m
}

// problems are the messages that fail the test: errors, warnings and
// exceptions, which include CSP violations and failed loads.
func problems(ms []chromedp.ConsoleMessage) []string {
	var out []string
	for _, m := range ms {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			out = append(out, m.String()+" ("+m.Source+" "+m.URL+")")
		}
	}
	return out
}

// cjkRenders checks, in the page's own font, that Chinese characters have
// glyphs. Without a CJK font each is drawn as the same missing-glyph box,
// and the screenshots show boxes where the text should be. Widths cannot
// tell (Noto CJK's missing-glyph box is 1 em wide, like its characters), so
// the check compares what is drawn: 分 must differ from 诊 and from a
// character no font has (U+10FFFD, private use).
const cjkRenders = `(() => {
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const g = canvas.getContext("2d", {willReadFrequently: true});
  g.font = "32px " + getComputedStyle(document.body).fontFamily;
  const draw = (s) => { g.clearRect(0, 0, 48, 48); g.fillText(s, 4, 38); return g.getImageData(0, 0, 48, 48).data.join(","); };
  const fen = draw("分"), zhen = draw("诊"), box = draw("\u{10FFFD}");
  if (fen === zhen) return "分 and 诊 are drawn alike, as missing-glyph boxes";
  if (fen === box) return "分 is drawn as the missing-glyph box";
  return "ok";
})()`

func TestWebConsoleInBrowser(t *testing.T) {
	chrome := consoleChromium()
	if chrome == "" {
		t.Skip("no Chromium found ($FENZHEN_CHROMIUM, /usr/bin/chromium, chromium-browser, google-chrome): install with make setup-browser")
	}
	if testing.Short() {
		t.Skip("starts the server and a browser; skipped with -short")
	}
	artifacts := os.Getenv("FENZHEN_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(os.TempDir(), "fenzhen-artifacts")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	chestPNG, _ := filepath.Abs("../../models/chest-xray/testdata/test_000_pneumonia.png")
	dermPNG, _ := filepath.Abs("../../models/dermatology/testdata/test_0005_mel.png")

	// The real server, as `fenzhen serve` builds it.
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil {
		t.Fatal(err)
	}
	cfg.ModelsDir = "../../models"
	srv, cleanup, err := buildServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	rec := &apiRecorder{next: srv.Handler()}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "zh-CN"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser) // runs before cancelAlloc: closes the browser, then its process
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancel)

	logs := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			logs.mu.Lock()
			logs.messages = append(logs.messages, m)
			logs.mu.Unlock()
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot(t, ctx, artifacts, "console-failed.png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	waitFor := func(what, predicate string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			shot(t, ctx, artifacts, "console-failed.png")
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	do("open the console", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#symptoms")))
	waitFor("the page's script", `document.readyState === "complete"`)
	if msg := eval(cjkRenders); msg != "ok" {
		shot(t, ctx, artifacts, "console-no-cjk-font.png")
		t.Fatalf("the page's Chinese text does not render (%s): install a CJK font, e.g. Debian's fonts-noto-cjk (make setup-browser)", msg)
	}

	// The console listener sees page errors, and the page runs under a CSP
	// that refuses inline script: both checks below rest on this.
	eval(`(() => { console.error("fenzhen-probe"); const s = document.createElement("script"); s.textContent = "window.inlineRan = true"; document.head.append(s); return String(window.inlineRan === true); })()`)
	var sawProbe, sawCSP bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !(sawProbe && sawCSP); time.Sleep(50 * time.Millisecond) {
		logs.mu.Lock()
		for _, m := range logs.messages {
			sawProbe = sawProbe || strings.Contains(m.Text, "fenzhen-probe")
			sawCSP = sawCSP || strings.Contains(m.Text, "Content Security Policy")
		}
		logs.mu.Unlock()
	}
	if !sawProbe || !sawCSP {
		t.Fatalf("console listener: probe seen %v, CSP violation seen %v: %v", sawProbe, sawCSP, logs.take())
	}
	if ran := eval(`String(window.inlineRan === true)`); ran != "false" {
		t.Fatal("an inline script ran: the page has no CSP")
	}
	logs.take()

	// Basic accessibility: every control has a label, every button a name,
	// every image an alt, the page a language, results a live region.
	if bad := eval(`(() => {
		const bad = [];
		for (const n of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
			if (!(n.labels && n.labels.length) && !n.getAttribute("aria-label") && !n.getAttribute("aria-labelledby")) bad.push("unlabelled " + (n.id || n.name || n.type));
		}
		for (const b of document.querySelectorAll("button, summary")) {
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) bad.push("nameless button " + b.outerHTML.slice(0, 60));
		}
		for (const i of document.querySelectorAll("img")) if (!i.hasAttribute("alt")) bad.push("img without alt " + i.id);
		if (!document.documentElement.lang.startsWith("zh")) bad.push("html lang");
		if (!document.querySelector("[aria-live], [role=status], [role=alert]")) bad.push("no live region");
		return bad.join("; ");
	})()`); bad != "" {
		t.Errorf("accessibility: %s", bad)
	}

	// Triage: type the complaint, age 5, press 分诊.
	do("fill the form",
		chromedp.SendKeys(chromedp.CSS("#symptoms"), "孩子发烧两天，咳嗽有痰"),
		chromedp.SendKeys(chromedp.CSS("#age"), "5"),
		chromedp.Click(chromedp.CSS("#triage-btn")),
	)
	waitFor("the triage result", `!document.querySelector("#results-body").hidden && document.querySelector("#triage-results").getAttribute("aria-busy") === "false"`)
	if dept := text("#dept-primary"); !strings.Contains(dept, "儿科") {
		t.Errorf("primary department %q, want 儿科", dept)
	}
	level := eval(`document.querySelector("#urgency-badge").dataset.level || ""`)
	if !slices.Contains([]string{"emergency", "urgent", "routine", "self_care"}, level) || text("#urgency-badge") == "" {
		t.Errorf("urgency badge: level %q text %q", level, text("#urgency-badge"))
	}
	if cls := eval(`document.querySelector("#urgency-badge").className`); !strings.Contains(cls, "badge--") {
		t.Errorf("urgency badge has no colour class: %q", cls)
	}
	if s := text("#symptom-list"); !strings.Contains(s, "发热") {
		t.Errorf("recognised symptoms %q, want 发热", s)
	}
	calls := rec.to("/v1/triage")
	if len(calls) != 1 || calls[0].Status != 200 {
		t.Fatalf("after 分诊: %d /v1/triage calls %+v", len(calls), calls)
	}
	var first struct {
		NextQuestion *struct {
			SymptomID string `json:"symptom_id"`
			Name      string
			Text      string
		} `json:"next_question"`
	}
	var firstBody struct {
		Text string
		Age  float64
	}
	json.Unmarshal(calls[0].Response, &first)
	json.Unmarshal(calls[0].Body, &firstBody)
	if firstBody.Text != "孩子发烧两天，咳嗽有痰" || firstBody.Age != 5 {
		t.Errorf("first triage body %s", calls[0].Body)
	}
	if first.NextQuestion == nil {
		t.Fatalf("the server asked no question: %s", calls[0].Response)
	}
	q1 := text("#question-text")
	if q1 != first.NextQuestion.Text {
		t.Errorf("question shown %q, server asked %q", q1, first.NextQuestion.Text)
	}
	shot(t, ctx, artifacts, "console-triage.png")

	// Answer 没有: a second /v1/triage carries the answer, a chip shows it.
	do("answer the question", chromedp.Click(chromedp.CSS(`#question .btn--answer[data-state="absent"]`)))
	waitFor("the second triage", `document.querySelector("#answers .chip") && document.querySelector("#triage-results").getAttribute("aria-busy") === "false" && !document.querySelector("#triage-btn").disabled`)
	calls = rec.to("/v1/triage")
	if len(calls) != 2 {
		t.Fatalf("after answering: %d /v1/triage calls, want 2", len(calls))
	}
	var second struct {
		Evidence []struct{ ID, State string }
	}
	json.Unmarshal(calls[1].Body, &second)
	if len(second.Evidence) != 1 || second.Evidence[0].ID != first.NextQuestion.SymptomID || second.Evidence[0].State != "absent" {
		t.Errorf("second triage evidence %+v, want [{%s absent}]", second.Evidence, first.NextQuestion.SymptomID)
	}
	if chip := text("#answers"); !strings.Contains(chip, first.NextQuestion.Name) || !strings.Contains(chip, "没有") {
		t.Errorf("answer chip %q", chip)
	}
	if q2 := eval(`document.querySelector("#question").hidden ? "" : document.querySelector("#question-text").textContent`); q2 == q1 {
		t.Errorf("the same question was asked again: %q", q2)
	}

	// The pre-consultation record, from the same body as the last triage.
	do("generate the record", chromedp.Click(chromedp.CSS("#record-btn")))
	waitFor("the record", `!document.querySelector("#record").hidden`)
	record := text("#record-fields")
	if !strings.Contains(record, "主诉") || !strings.Contains(record, "发热") {
		t.Errorf("record %q, want 主诉 and 发热", record)
	}
	if rc := rec.to("/v1/record"); len(rc) != 1 || !bytes.Equal(rc[0].Body, calls[1].Body) {
		t.Errorf("record request %+v, want the last triage body %s", rc, calls[1].Body)
	}
	// By section, each statement showing on hover the words it rests on;
	// the interview answer is there too.
	for _, w := range []string{"患者", "现病史", "既往史", "过敏史", "用药史", "问诊补充"} {
		if !strings.Contains(record, w) {
			t.Errorf("record %q, want the section %s", record, w)
		}
	}
	if hover := eval(`[...document.querySelectorAll("#record-fields .record__stmt")].map(s => s.title).join("|")`); !strings.Contains(hover, "原文：「发烧") || !strings.Contains(hover, "问诊回答") {
		t.Errorf("statement sources %q, want the words 发烧… and an answer", hover)
	}
	do("copy the record", chromedp.Click(chromedp.CSS("#copy-btn")))
	waitFor("the copy status", `document.querySelector("#copy-status").textContent !== ""`)
	shot(t, ctx, artifacts, "console-record.png")

	// Chest X-ray: upload a test PNG, see every class with a probability.
	do("upload a chest X-ray",
		chromedp.SetUploadFiles(chromedp.CSS("#image-file"), []string{chestPNG}),
		chromedp.Click(chromedp.CSS("#image-btn")),
	)
	waitFor("the chest findings", `document.querySelectorAll("#findings li").length > 0 && document.querySelector("#image-results").getAttribute("aria-busy") === "false"`)
	chest := rec.to("/v1/imaging/chest")
	if len(chest) != 1 || chest[0].Status != 200 {
		t.Fatalf("chest calls %+v", chest)
	}
	var chestResp struct {
		Findings []struct{ Name string }
	}
	json.Unmarshal(chest[0].Response, &chestResp)
	findings := text("#findings")
	if len(chestResp.Findings) < 2 {
		t.Fatalf("chest response %s", chest[0].Response)
	}
	for _, f := range chestResp.Findings {
		if !strings.Contains(findings, f.Name) {
			t.Errorf("findings %q lack %s", findings, f.Name)
		}
	}
	if !strings.Contains(findings, "肺炎") || !strings.Contains(findings, "%") {
		t.Errorf("findings %q, want 肺炎 with a percentage", findings)
	}
	if n := eval(`String(document.querySelectorAll("#findings progress").length)`); n != "2" {
		t.Errorf("%s probability bars, want 2", n)
	}
	if src := eval(`document.querySelector("#image-preview").hidden ? "" : document.querySelector("#image-preview").src`); !strings.HasPrefix(src, "blob:") {
		t.Errorf("preview src %q", src)
	}
	shot(t, ctx, artifacts, "console-chest.png")

	// Dermatology shows its urgency too.
	do("upload a skin photo",
		chromedp.Click(chromedp.CSS(`input[name="kind"][value="dermatology"]`)),
		chromedp.SetUploadFiles(chromedp.CSS("#image-file"), []string{dermPNG}),
		chromedp.Click(chromedp.CSS("#image-btn")),
	)
	waitFor("the dermatology findings", `document.querySelectorAll("#findings li").length === 7 && !document.querySelector("#derm-block").hidden && !document.querySelector("#image-btn").disabled`)
	if f := text("#findings"); !strings.Contains(f, "黑色素瘤") {
		t.Errorf("dermatology findings %q", f)
	}
	if b := text("#derm-badge"); b == "" {
		t.Error("no dermatology urgency badge")
	}

	// A file the server refuses: a Chinese message, the envelope's detail, no crash.
	notImage := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notImage, []byte("这不是图像"), 0o644)
	do("upload a text file",
		chromedp.SetUploadFiles(chromedp.CSS("#image-file"), []string{notImage}),
		chromedp.Click(chromedp.CSS("#image-btn")),
	)
	waitFor("the imaging error", `!document.querySelector("#image-error").hidden && !document.querySelector("#image-btn").disabled`)
	if e := text("#image-error"); !strings.Contains(e, "不支持的文件格式") || !strings.Contains(e, "请求编号") {
		t.Errorf("imaging error %q", e)
	}
	if stale := eval(`String(document.querySelector("#image-body").hidden)`); stale != "true" {
		t.Error("the previous file's findings stay on screen after an error")
	}
	// The browser logs the refused upload (415) as a failed load; that one is expected.
	var rest []chromedp.ConsoleMessage
	for _, m := range logs.take() {
		if !(m.Source == "network" && strings.Contains(m.Text, "415")) {
			rest = append(rest, m)
		}
	}
	if p := problems(rest); len(p) > 0 {
		t.Errorf("console problems: %s", strings.Join(p, "\n"))
	}

	// 清空 resets the case; an empty complaint is caught before any request.
	do("reset and submit empty", chromedp.Click(chromedp.CSS("#reset-btn")), chromedp.Click(chromedp.CSS("#triage-btn")))
	waitFor("the form error", `!document.querySelector("#triage-error").hidden`)
	if s := eval(`[document.querySelector("#symptoms").value, document.querySelector("#answers-block").hidden, document.querySelector("#results-body").hidden].join("|")`); s != "|true|true" {
		t.Errorf("after 清空: text|answers hidden|results hidden = %q", s)
	}
	if e := text("#triage-error"); !strings.Contains(e, "症状") {
		t.Errorf("empty complaint error %q", e)
	}
	if n := len(rec.to("/v1/triage")); n != 2 {
		t.Errorf("an empty complaint reached the server: %d triage calls", n)
	}

	// An API key typed under 设置 goes with every request and stays in the tab.
	do("enter an API key", chromedp.Click(chromedp.CSS("#settings summary")), chromedp.SendKeys(chromedp.CSS("#api-key"), "fz-test-key"), chromedp.Click(chromedp.CSS("#settings summary")))
	if k := eval(`sessionStorage.getItem("fenzhen.apiKey") || ""`); k != "fz-test-key" {
		t.Errorf("sessionStorage key %q", k)
	}

	// An emergency: the red badge, the red flags named, the reasons listed.
	do("triage an emergency",
		chromedp.SendKeys(chromedp.CSS("#symptoms"), "胸口压榨样疼痛半小时，出冷汗，喘不上气"),
		chromedp.SendKeys(chromedp.CSS("#age"), "62"),
		chromedp.Click(chromedp.CSS("#triage-btn")),
	)
	waitFor("the emergency result", `!document.querySelector("#results-body").hidden && !document.querySelector("#triage-btn").disabled`)
	calls = rec.to("/v1/triage")
	var emergency struct {
		Urgency struct {
			Level    string
			RedFlags []struct{ Name string } `json:"red_flags"`
		}
	}
	json.Unmarshal(calls[len(calls)-1].Response, &emergency)
	if a := calls[len(calls)-1].Auth; a != "Bearer fz-test-key" {
		t.Errorf("Authorization %q, want the key from 设置", a)
	}
	if a := calls[0].Auth; a != "" {
		t.Errorf("Authorization %q sent before any key was entered", a)
	}
	if emergency.Urgency.Level != "emergency" || len(emergency.Urgency.RedFlags) == 0 {
		t.Fatalf("the server did not call this an emergency: %s", calls[len(calls)-1].Response)
	}
	if cls := eval(`document.querySelector("#urgency-badge").className`); !strings.Contains(cls, "badge--emergency") || !strings.Contains(text("#urgency-badge"), "120") {
		t.Errorf("emergency badge %q %q", cls, text("#urgency-badge"))
	}
	flags := text("#red-flags")
	for _, f := range emergency.Urgency.RedFlags {
		if !strings.Contains(flags, f.Name) {
			t.Errorf("red flags %q lack %s", flags, f.Name)
		}
	}
	if eval(`String(document.querySelectorAll("#reasons li").length > 0)`) != "true" {
		t.Error("no reasons listed for the emergency")
	}
	shot(t, ctx, artifacts, "console-emergency.png")

	// The phone layout, for a look.
	do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	shot(t, ctx, artifacts, "console-phone.png")
	if p := problems(logs.take()); len(p) > 0 {
		t.Errorf("console problems: %s", strings.Join(p, "\n"))
	}
	t.Logf("screenshots in %s", artifacts)
}

// shot saves a full-page PNG of the current page to dir.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
