package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestIndexAtRoot(t *testing.T) {
	h := MustNew()
	want, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/index.html"} {
		w := get(t, h, p)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET %s: %d %q", p, w.Code, w.Header().Get("Content-Type"))
		}
		if w.Body.String() != string(want) {
			t.Errorf("GET %s: body is not static/index.html", p)
		}
		if w.Header().Get("ETag") == "" || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", p, w.Header())
		}
	}
}

func TestContentTypes(t *testing.T) {
	h := MustNew()
	for path, want := range map[string]string{
		"/static/app.js":      "text/javascript; charset=utf-8",
		"/static/app.css":     "text/css; charset=utf-8",
		"/static/favicon.svg": "image/svg+xml",
		"/static/index.html":  "text/html; charset=utf-8",
	} {
		w := get(t, h, path)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != want {
			t.Errorf("GET %s: %d %q, want 200 %q", path, w.Code, w.Header().Get("Content-Type"), want)
		}
	}
}

// The ETag is the content's hash: it changes with the file and a matching
// If-None-Match costs a 304 with no body.
func TestETag(t *testing.T) {
	h := MustNew()
	js, css := get(t, h, "/static/app.js"), get(t, h, "/static/app.css")
	etag := js.Header().Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) || etag == css.Header().Get("ETag") {
		t.Fatalf("etags %q and %q", etag, css.Header().Get("ETag"))
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		w := get(t, h, "/static/app.js", "If-None-Match", inm)
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d with %d bytes", inm, w.Code, w.Body.Len())
		}
	}
	if w := get(t, h, "/static/app.js", "If-None-Match", `"stale"`); w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Errorf("stale ETag: %d", w.Code)
	}

	a := fstest.MapFS{"s/index.html": {Data: []byte("a")}}
	b := fstest.MapFS{"s/index.html": {Data: []byte("b")}}
	ha, _ := newHandler(a, "s")
	hb, _ := newHandler(b, "s")
	if ha.files["index.html"].etag == hb.files["index.html"].etag {
		t.Error("different content, same ETag")
	}
}

func TestHead(t *testing.T) {
	h := MustNew()
	req := httptest.NewRequest(http.MethodHead, "/static/app.css", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	full := get(t, h, "/static/app.css")
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != full.Header().Get("Content-Length") {
		t.Errorf("HEAD: %d, %d bytes, length %q vs %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"), full.Header().Get("Content-Length"))
	}
	req = httptest.NewRequest(http.MethodPost, "/static/app.css", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}

// Anything that is not an embedded file is a 404 in the API's envelope, with
// the request id the API's middleware put on the response; paths that try
// to leave static/ are just names that do not exist.
func TestNotFoundAndTraversal(t *testing.T) {
	h := MustNew()
	for _, target := range []string{
		"/static/nope.js",
		"/static/",
		"/static",
		"/static/app.js/",
		"/static//app.js",
		"/static/./app.js",
		"/static/../web.go",
		"/static/..%2fweb.go",
		"/static/%2e%2e/%2e%2e/go.mod",
		"/static/../../go.mod",
		"/static/static/app.js",
		"/static/APP.JS",
		"/web.go",
		"/app.js",
		"/../go.mod",
		"/static/app.js%00.png",
	} {
		req := httptest.NewRequest(http.MethodGet, target, nil) // decodes %xx, keeps ".."
		w := httptest.NewRecorder()
		w.Header().Set("X-Request-Id", "req-42")
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s (path %q): %d, want 404", target, req.URL.Path, w.Code)
			continue
		}
		var env struct {
			Error struct{ Code, Message, RequestID string } `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || env.Error.Code != "not_found" || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: body %q", target, w.Body)
		}
		if !strings.Contains(w.Body.String(), `"request_id":"req-42"`) {
			t.Errorf("GET %s: request id missing from %s", target, w.Body)
		}
	}
}

// Every file in static/ is served, byte for byte, and nothing else.
func TestEmbeddedMatchesDirectory(t *testing.T) {
	h := MustNew()
	var onDisk []string
	err := fs.WalkDir(os.DirFS("static"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		onDisk = append(onDisk, p)
		want, err := os.ReadFile("static/" + p)
		if err != nil {
			return err
		}
		if w := get(t, h, Prefix+p); w.Code != http.StatusOK || w.Body.String() != string(want) {
			t.Errorf("%s: served %d, %d bytes; on disk %d bytes", p, w.Code, w.Body.Len(), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	served := h.Names()
	slices.Sort(served)
	slices.Sort(onDisk)
	if !slices.Equal(served, onDisk) {
		t.Errorf("served %v, directory has %v", served, onDisk)
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"s/index.html": {}, "s/tool.exe": {}}, "s"); err == nil || !strings.Contains(err.Error(), "tool.exe") {
		t.Errorf("unknown extension: %v", err)
	}
	if _, err := newHandler(fstest.MapFS{"s/app.js": {}}, "s"); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("no index.html: %v", err)
	}
}

// The page must run under the API's Content-Security-Policy: no inline
// script, style or handlers, nothing from another origin, and every file it
// names is one we serve. The script never feeds API data to HTML parsing.
func TestPageFitsCSP(t *testing.T) {
	h := MustNew()
	html := get(t, h, "/").Body.String()
	for _, re := range []string{
		`<script(?:\s[^>]*)?>\s*[^<\s]`,             // a script with a body
		`<script(?:(?:\s(?:type|nonce)="[^"]*")*)>`, // a script without src
		`<style`,
		`\sstyle=`,
		`\son[a-z]+=`,
		`(?:src|href)="(?:https?:)?//`,
		`javascript:`,
	} {
		if m := regexp.MustCompile(`(?i)` + re).FindString(html); m != "" {
			t.Errorf("index.html has %q (matched %s)", m, re)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names %d files", len(refs))
	}
	for _, r := range refs {
		if w := get(t, h, r[1]); w.Code != http.StatusOK {
			t.Errorf("index.html names %s: %d", r[1], w.Code)
		}
	}
	for _, id := range regexp.MustCompile(`\$\('([a-z0-9-]+)'\)`).FindAllStringSubmatch(get(t, h, "/static/app.js").Body.String(), -1) {
		if !strings.Contains(html, `id="`+id[1]+`"`) {
			t.Errorf("app.js looks up #%s, which index.html lacks", id[1])
		}
	}
	js := get(t, h, "/static/app.js").Body.String()
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", ".style.", "setAttribute('style'", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	css := get(t, h, "/static/app.css").Body.String()
	for _, bad := range []string{"@import", "url(http", "@font-face"} {
		if strings.Contains(css, bad) {
			t.Errorf("app.css uses %s", bad)
		}
	}
}
