package main

// The documentation's examples, run as a newcomer would run them: a fresh
// `fenzhen serve` in a checkout, and every sh block of README.md and
// docs/*.md pasted into one bash session. See docs/development.md.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// docBlock is one fenced code block of a Markdown file.
type docBlock struct {
	file string // relative to the repository root
	line int    // of the opening fence
	info string // the fence's info string: "sh", "sh norun: why", "yaml" …
	text string
}

// docFiles are README.md and docs/*.md, relative to root.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	return files
}

var fence = regexp.MustCompile("^(```+|~~~+)\\s*(.*)$")

func codeBlocks(t *testing.T, root, file string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	var cur *docBlock
	var marker string
	for i, line := range strings.Split(string(data), "\n") {
		if cur == nil {
			if m := fence.FindStringSubmatch(line); m != nil {
				cur, marker = &docBlock{file: file, line: i + 1, info: strings.TrimSpace(m[2])}, m[1]
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), marker) && strings.Trim(strings.TrimSpace(line), marker[:1]) == "" {
			out = append(out, *cur)
			cur = nil
			continue
		}
		cur.text += line + "\n"
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", file, cur.line)
	}
	return out
}

// runnable reports whether a block is a shell block to run; "sh norun: why"
// blocks are documented as not runnable here.
func (b docBlock) runnable() bool {
	lang, rest, _ := strings.Cut(b.info, " ")
	return (lang == "sh" || lang == "bash" || lang == "console") && !strings.HasPrefix(strings.TrimSpace(rest), "norun")
}

var (
	expectStatus = regexp.MustCompile(`\s#\s*→\s*([1-5]\d\d)\b`)
	expectExit   = regexp.MustCompile(`\s#\s*→\s*exit\s+(\d+)\b`)
)

// shellScript turns a block into bash: commands whose last line carries
// `# → 400 …` may get that HTTP status from curl, and `# → exit 2 …` that
// exit status from a command; everything else must succeed.
func shellScript(b docBlock, base string) string {
	var out strings.Builder
	fmt.Fprintf(&out, "echo '### %s:%d' >&2\n", b.file, b.line)
	lines := strings.Split(strings.TrimRight(b.text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		// A logical line: physical lines joined by trailing backslashes.
		j := i
		for j < len(lines)-1 && strings.HasSuffix(lines[j], "\\") {
			j++
		}
		cmd := strings.Join(lines[i:j+1], "\n")
		cmd = strings.NewReplacer("http://localhost:8080", base, "localhost:8080", base, "http://127.0.0.1:8080", base, "127.0.0.1:8080", base).Replace(cmd)
		last := lines[j]
		switch {
		case expectExit.MatchString(last):
			want := expectExit.FindStringSubmatch(last)[1]
			cmd = cmd[:strings.LastIndex(cmd, "#")]
			fmt.Fprintf(&out, "if %s; then fz_st=0; else fz_st=$?; fi\nfz_exit %s \"$fz_st\" %s\n", strings.TrimSpace(cmd), want, strconv.Quote(strings.TrimSpace(cmd)))
		case expectStatus.MatchString(last):
			fmt.Fprintf(&out, "FZ_EXPECT=%s %s\n", expectStatus.FindStringSubmatch(last)[1], strings.TrimLeft(cmd, " "))
		default:
			out.WriteString(cmd + "\n")
		}
		i = j
	}
	return out.String()
}

// The prelude: curl records every exchange and checks its status.
const docsPrelude = `set -eo pipefail
curl() {
  local n d code
  n=$(( $(cat "$FZ_DIR/n" 2>/dev/null || echo 0) + 1 )); echo "$n" > "$FZ_DIR/n"
  d="$FZ_DIR/$n"; mkdir -p "$d"
  printf '%s\0' "$@" > "$d/args"
  code=$(command curl -sS -o "$d/body" -w '%{http_code}' "$@") || { echo "curl failed: curl $*" >&2; return 1; }
  echo "$code" > "$d/status"
  cat "$d/body"; echo
  local want="${FZ_EXPECT:-2xx}"
  if [[ $want == 2xx && $code == 2?? ]] || [[ $code == "$want" ]]; then return 0; fi
  echo "FAIL: HTTP $code, want $want, from: curl $*" >&2
  return 1
}
fz_exit() {
  if [[ $2 != "$1" ]]; then echo "FAIL: exit status $2, want $1, from: $3" >&2; return 1; fi
}
`

// TestDocsExamples runs every runnable sh block of README.md and docs/*.md
// against a fresh server, in one bash session, from a scratch checkout.
func TestDocsExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs the documentation's examples; skipped with -short")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the documentation's examples need %s", tool)
		}
	}
	root, _ := filepath.Abs("../..")
	var blocks, skipped []docBlock
	for _, f := range docFiles(t, root) {
		for _, b := range codeBlocks(t, root, f) {
			switch lang, _, _ := strings.Cut(b.info, " "); {
			case b.runnable():
				blocks = append(blocks, b)
			case lang == "sh" || lang == "bash" || lang == "console":
				skipped = append(skipped, b)
			}
		}
	}
	if len(blocks) < 5 || blocks[0].file != "README.md" {
		t.Fatalf("found %d runnable blocks, none or not first in README.md: the parser or the fences are wrong", len(blocks))
	}
	for _, b := range skipped {
		t.Logf("not run: %s:%d (%s)", b.file, b.line, b.info)
	}

	// A scratch checkout: the repository's files by symlink, bin/fenzhen
	// this test binary, and var/ empty, so the examples' keys, audit log and
	// output files stay there.
	work := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "bin" && n != "var" && n != ".git" {
			if err := os.Symlink(filepath.Join(root, n), filepath.Join(work, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.Mkdir(filepath.Join(work, "bin"), 0o755)
	wrapper := fmt.Sprintf("#!/bin/sh\nFENZHEN_TEST_RUN_MAIN=1 exec %s \"$@\"\n", strconv.Quote(os.Args[0]))
	if err := os.WriteFile(filepath.Join(work, "bin", "fenzhen"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FENZHEN_") && !strings.HasPrefix(kv, "FENZHEN_DATA=") && !strings.HasPrefix(kv, "FENZHEN_ORT_LIB=")
	})

	// The fresh server, as `make run` starts it, on a free port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var serverLog bytes.Buffer
	srv := exec.Command(filepath.Join(work, "bin", "fenzhen"), "serve", "--addr", addr)
	srv.Dir, srv.Env = work, append(env, "FENZHEN_LOG_LEVEL=warn")
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("fenzhen serve exited: %v\n%s", err, serverLog.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("fenzhen serve not ready in 60 s:\n%s", serverLog.String())
		}
	}

	var script strings.Builder
	script.WriteString(docsPrelude)
	for _, b := range blocks {
		script.WriteString(shellScript(b, base))
	}
	calls := t.TempDir()
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir, sh.Env = work, append(env, "FZ_DIR="+calls, "FENZHEN_PROGRESS=off")
	var out bytes.Buffer
	sh.Stdout, sh.Stderr = &out, &out
	start := time.Now()
	err = sh.Run()
	t.Logf("%d blocks in %v", len(blocks), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the documentation's examples failed (%v); the block is the last ### line:\n%s", err, tail(out.String(), 4000))
	}
	checkInterviews(t, calls)
	if _, err := os.Stat(filepath.Join(work, "var", "audit.db")); err != nil {
		t.Errorf("the server did not keep its audit log in the checkout's var/: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// checkInterviews: a triage request that answers an interview question must
// answer the question that an earlier answer for the same text asked.
func checkInterviews(t *testing.T, dir string) {
	t.Helper()
	type triageReq struct {
		Text     string
		Evidence []struct{ ID string }
	}
	type exchange struct {
		req  triageReq
		next string
	}
	var seen []exchange
	for n := 1; ; n++ {
		d := filepath.Join(dir, strconv.Itoa(n))
		raw, err := os.ReadFile(filepath.Join(d, "args"))
		if err != nil {
			break
		}
		args := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
		var url, data string
		for i, a := range args {
			if (a == "-d" || a == "--data" || a == "--data-raw") && i+1 < len(args) {
				data = args[i+1]
			}
			if strings.Contains(a, "://") {
				url = a
			}
		}
		if !strings.HasSuffix(url, "/v1/triage") || data == "" {
			continue
		}
		var req triageReq
		if json.Unmarshal([]byte(data), &req) != nil {
			continue
		}
		body, _ := os.ReadFile(filepath.Join(d, "body"))
		var resp struct {
			NextQuestion *struct {
				SymptomID string `json:"symptom_id"`
			} `json:"next_question"`
		}
		json.Unmarshal(body, &resp)
		for _, ev := range req.Evidence {
			asked := ""
			for _, e := range seen {
				if e.req.Text == req.Text && e.next != "" {
					asked = e.next
				}
			}
			if ev.ID != asked {
				t.Errorf("the documentation answers interview question %q for %q, but the previous answer asked %q: update the example", ev.ID, req.Text, asked)
			}
		}
		next := ""
		if resp.NextQuestion != nil {
			next = resp.NextQuestion.SymptomID
		}
		seen = append(seen, exchange{req, next})
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+)$`)
)

// anchor is GitHub's id for a heading: lower case, punctuation dropped,
// spaces as hyphens.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinks: every relative link of README.md and docs/*.md names a
// file that exists, and every #anchor a heading of its file.
func TestDocsLinks(t *testing.T) {
	root, _ := filepath.Abs("../..")
	for _, f := range docFiles(t, root) {
		data, _ := os.ReadFile(filepath.Join(root, f))
		for _, m := range mdLink.FindAllStringSubmatch(string(data), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(link, "#")
			target := filepath.Join(filepath.Dir(filepath.Join(root, f)), path)
			if path == "" {
				target = filepath.Join(root, f)
			}
			if strings.HasPrefix(filepath.Clean(target), filepath.Dir(root)+"/shared") {
				if _, err := os.Stat(filepath.Dir(root) + "/shared"); err != nil {
					continue // ../shared is a sibling checkout, not always present
				}
			}
			st, err := os.Stat(target)
			if err != nil {
				t.Errorf("%s: link %s: %v", f, link, err)
				continue
			}
			if frag == "" || st.IsDir() {
				continue
			}
			doc, _ := os.ReadFile(target)
			var ids []string
			for _, h := range heading.FindAllStringSubmatch(string(doc), -1) {
				ids = append(ids, anchor(h[1]))
			}
			if !slices.Contains(ids, frag) {
				t.Errorf("%s: link %s: no heading #%s in %s (have %v)", f, link, frag, path, ids)
			}
		}
	}
}
