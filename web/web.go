// Package web is Fenzhen's browser console: one page (static/index.html) with
// its script and style sheet, embedded in the binary and served at / and
// /static/. The page calls the JSON API of ../shared/API.md; nothing here
// reaches outside the server, so the console works offline.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the embedded files are served; the page itself is at /.
const Prefix = "/static/"

// contentTypes are the only kinds of file the console ships; a file of any
// other kind in static/ fails New, so nothing is served as a guess.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
}

type file struct {
	body        []byte
	contentType string
	etag        string // quoted, from the content's SHA-256
}

// Handler serves the console. Build it once with New.
type Handler struct {
	files map[string]*file // by name relative to static/, e.g. "app.js"
}

// New reads the embedded files into memory with their content types and ETags.
func New() (*Handler, error) { return newHandler(static, "static") }

func newHandler(fsys fs.FS, root string) (*Handler, error) {
	h := &Handler{files: map[string]*file{}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return &fs.PathError{Op: "serve", Path: p, Err: fs.ErrInvalid}
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		h.files[strings.TrimPrefix(p, root+"/")] = &file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.files["index.html"] == nil {
		return nil, &fs.PathError{Op: "serve", Path: root + "/index.html", Err: fs.ErrNotExist}
	}
	return h, nil
}

// MustNew is New for the embedded files, which are checked by the tests.
func MustNew() *Handler {
	h, err := New()
	if err != nil {
		panic("web: " + err.Error())
	}
	return h
}

// Names lists the files served under Prefix.
func (h *Handler) Names() []string {
	names := make([]string, 0, len(h.files))
	for n := range h.files {
		names = append(names, n)
	}
	return names
}

// ServeHTTP answers GET and HEAD for / (the page) and Prefix+name. Any other
// path, including one that tries to leave static/, is a 404 in the API's
// error envelope. Responses carry an ETag and are revalidated on every use
// (Cache-Control: no-cache), so a new binary's files are picked up at once
// while unchanged ones cost a 304.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "not_found", "method not allowed")
		return
	}
	f := h.lookup(r.URL.Path)
	if f == nil {
		writeError(w, http.StatusNotFound, "not_found", "no such page")
		return
	}
	hd := w.Header()
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	if etagMatch(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("Content-Length", strconv.Itoa(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(f.body)
	}
}

// lookup maps a URL path to an embedded file by exact name: there is no
// file system underneath, so "..", encoded or not, can only miss.
func (h *Handler) lookup(p string) *file {
	if p == "/" || p == "/index.html" {
		return h.files["index.html"]
	}
	name, ok := strings.CutPrefix(p, Prefix)
	if !ok || !fs.ValidPath(name) {
		return nil
	}
	return h.files[name]
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// writeError writes the error envelope of ../shared/API.md; the request id is
// the one the API's middleware has already put on the response.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{
		"code": code, "message": msg, "request_id": w.Header().Get("X-Request-Id"),
	}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
