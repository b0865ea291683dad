package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/api"
)

// The command-line tests run this test binary as `fenzhen` in a child
// process, so they see exactly what a user sees: stdout, stderr and the
// exit status. (A child loads ONNX Runtime, never this process: the
// missing-runtime tests of serve_test.go need a process without one.)
func TestMain(m *testing.M) {
	if os.Getenv("FENZHEN_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"fenzhen"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	// The serve tests must not leave var/audit.db in the source tree; tests
	// of the audit log name their own database.
	os.Setenv("FENZHEN_AUDIT_PATH", "off")
	os.Exit(m.Run())
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// fenzhen runs the command line args in dir ("" for this directory).
func fenzhen(t *testing.T, exe, dir string, args ...string) cliResult {
	t.Helper()
	if exe == "" {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FENZHEN_TEST_RUN_MAIN=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{o.String(), e.String(), code}
}

// every command and subcommand, for --help.
var helpCases = [][]string{
	{"--help"}, {"-h"}, {"help"}, {"help", "serve"},
	{"serve", "--help"}, {"version", "--help"}, {"index", "--help"}, {"soak", "--help"},
	{"bench", "--help"}, {"bench", "--workload", "overload", "--help"},
	{"kg", "--help"}, {"kg", "validate", "--help"}, {"kg", "import", "--help"},
	{"keys", "--help"}, {"keys", "create", "--help"}, {"keys", "list", "--help"}, {"keys", "revoke", "--help"},
	{"audit", "--help"}, {"audit", "export", "--help"}, {"audit", "prune", "--help"},
	{"eval", "--help"}, {"eval", "imaging", "--help"}, {"eval", "triage", "--help"}, {"eval", "interview", "--help"},
	{"eval", "urgency", "--help"}, {"eval", "diagnosis", "--help"}, {"eval", "record", "--help"},
}

// A flag's line in PrintDefaults: its name and at most a type word. A
// backquoted phrase in the usage text would appear here as the type.
var flagLine = regexp.MustCompile(`^  -[\w-]+( (string|int|int64|uint|uint64|float|duration|value))?$`)

// `fenzhen --help | less` must show something: help goes to stdout and
// exits 0, for every command.
func TestHelpGoesToStdout(t *testing.T) {
	covered := map[string]bool{}
	for _, args := range helpCases {
		covered[args[0]] = true
		r := fenzhen(t, "", "", args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("fenzhen %s: exit %d, stderr %q, stdout %.200q", strings.Join(args, " "), r.code, r.stderr, r.stdout)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, "  -") && !flagLine.MatchString(line) {
				t.Errorf("fenzhen %s: flag line %q (a backquote in its usage text?)", strings.Join(args, " "), line)
			}
		}
	}
	for name := range commands {
		if !covered[name] {
			t.Errorf("command %s has no --help case here", name)
		}
	}
}

// A mistake prints at most three lines: the error, the closest name, and
// where help is.
func TestWrongFlagIsShort(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--adr", ":9000"}, []string{"not defined: --adr", "did you mean --addr?", "fenzhen serve --help"}},
		{[]string{"serve", "--request-timeout", "10"}, []string{`"10" for flag --request-timeout: want a positive duration like 10s`}},
		{[]string{"serve", "--max-body-bytes", "1MB"}, []string{"--max-body-bytes: want a positive integer"}},
		{[]string{"serve", "--models"}, []string{"flag needs an argument: --models"}},
		{[]string{"kg", "validate", "--kgg", "x"}, []string{"did you mean --kg?"}},
		{[]string{"kg", "valdate"}, []string{`unknown subcommand "valdate"`, "did you mean kg validate?", "fenzhen kg --help"}},
		{[]string{"keys", "create", "--tenat", "a"}, []string{"did you mean --tenant?"}},
		{[]string{"soak", "--request", "5"}, []string{"did you mean --requests?"}},
		{[]string{"serv"}, []string{`unknown command "serv"`, "did you mean serve?"}},
		{[]string{"eval", "imaging", "--modle", "x"}, []string{"did you mean --model?"}},
		{[]string{"version", "--nope"}, []string{"not defined: --nope", "fenzhen version --help"}},
	} {
		r := fenzhen(t, "", "", c.args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != 2 || r.stdout != "" || len(lines) > 3 {
			t.Errorf("fenzhen %s: exit %d, %d lines:\n%s", strings.Join(c.args, " "), r.code, len(lines), r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("fenzhen %s: %q does not say %q", strings.Join(c.args, " "), r.stderr, w)
			}
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"addr", "models", "max-in-flight", "max-body-bytes", "auth", "audit-path"}
	for in, want := range map[string]string{"adr": "addr", "model": "models", "modles": "models", "max-inflight": "max-in-flight",
		"auht": "auth", "audit": "audit-path", "x": "", "verbose": "", "port": ""} {
		if got := closest(in, names); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

// serve --help must not contradict itself: the variable's default is the
// flag's, computed for this machine's CPUs.
func TestServeHelpDefaultsAgree(t *testing.T) {
	r := fenzhen(t, "", "", "serve", "--help")
	def := api.DefaultMaxInFlight(runtime.GOMAXPROCS(0))
	var pairs []string
	for _, c := range []string{"imaging", "inference", "knowledge", "triage"} {
		pairs = append(pairs, c+"="+strconv.Itoa(def[c]))
	}
	want := strings.Join(pairs, ",")
	if n := strings.Count(r.stdout, want); n != 2 {
		t.Errorf("max-in-flight default %s appears %d times in serve --help, want 2 (variable and flag):\n%s", want, n, r.stdout)
	}
	for _, w := range []string{"-ort-lib string\n    \tONNX Runtime shared library (default third_party/onnxruntime/lib/libonnxruntime.so.1",
		"127.0.0.1:8080 with --auth off"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("serve --help lacks %q", w)
		}
	}
}

// fenzhen version: to stdout, exit 0, with ONNX Runtime and every model.
func TestVersion(t *testing.T) {
	r := fenzhen(t, "", "", "version", "--models", "../../models")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, w := range []string{"fenzhen ", "commit ", "go ", "onnxruntime  ", "knowledge ", "models ", "triage-department ", "chest-xray ", "sha256 "} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("version output lacks %q:\n%s", w, r.stdout)
		}
	}
	if !regexp.MustCompile(`onnxruntime\s+1\.\d+`).MatchString(r.stdout) {
		t.Errorf("no ONNX Runtime version:\n%s", r.stdout)
	}
	if r := fenzhen(t, "", "", "--version"); r.code != 0 || !strings.Contains(r.stdout, "onnxruntime") {
		t.Errorf("--version: exit %d, %s", r.code, r.stdout)
	}
}

// Started from another directory, a binary finds models/ (and ONNX
// Runtime) beside itself, and says so; a binary with no models anywhere
// says which setting to use and creates nothing where it was started.
func TestRunFromAnotherDirectory(t *testing.T) {
	elsewhere := t.TempDir()
	r := fenzhen(t, "", elsewhere, "serve", "--addr", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "--models or FENZHEN_MODELS") || !strings.Contains(r.stderr, filepath.Join(elsewhere, "models")) {
		t.Errorf("serve with no models: exit %d, %s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("serve created %v in the directory it was started in", entries)
	}

	// A checkout: <home>/bin/fenzhen beside <home>/models.
	home := t.TempDir()
	abs, _ := filepath.Abs("../../models")
	if err := os.Symlink(abs, filepath.Join(home, "models")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(home, "bin"), 0o755)
	exe := filepath.Join(home, "bin", "fenzhen")
	copyFile(t, os.Args[0], exe)
	r = fenzhen(t, exe, elsewhere, "version")
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(home, "models")+" (beside the binary)") {
		t.Errorf("version beside models: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// An explicit directory that does not exist names the setting.
	r = fenzhen(t, exe, elsewhere, "serve", "--models", "nowhere")
	if r.code != 1 || !strings.Contains(r.stderr, "model repository nowhere (set by --models) is not a directory") {
		t.Errorf("serve --models nowhere: exit %d, %s", r.code, r.stderr)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// The default var/ is the home's: the audit database is never created in
// whatever directory fenzhen happens to start in.
func TestResolvePaths(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "models", "m", "1"), 0o755)
	os.WriteFile(filepath.Join(home, "models", "m", "1", "config.yaml"), []byte("max_batch_size: 0\n"), 0o644)
	sub := filepath.Join(home, "docs")
	os.Mkdir(sub, 0o755)
	t.Setenv("FENZHEN_AUDIT_PATH", "")
	t.Setenv("FENZHEN_MODELS", "")
	t.Setenv("FENZHEN_ORT_LIB", "/opt/ort/libonnxruntime.so.1")

	for _, c := range []struct {
		dir, from string
	}{{home, "working directory"}, {sub, "a parent of the working directory"}} {
		t.Chdir(c.dir)
		cfg := api.DefaultConfig()
		cfg.ORTLib = os.Getenv("FENZHEN_ORT_LIB")
		p, err := resolvePaths(&cfg, newSettings(nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		if p.models != (located{filepath.Join(home, "models"), c.from}) || p.audit != (located{filepath.Join(home, "var", "audit.db"), c.from}) ||
			p.ort != (located{"/opt/ort/libonnxruntime.so.1", "FENZHEN_ORT_LIB"}) || cfg.AuditPath != p.audit.path || cfg.ModelsDir != p.models.path {
			t.Errorf("from %s: %+v", c.dir, p)
		}
	}

	// No home: explicit models are fine, but the default audit path has
	// nowhere to go, and the error says how to set one.
	t.Chdir(t.TempDir())
	cfg := api.DefaultConfig()
	t.Setenv("FENZHEN_MODELS", filepath.Join(home, "models"))
	cfg.ModelsDir = filepath.Join(home, "models")
	_, err := resolvePaths(&cfg, newSettings(nil, ""))
	if err == nil || !strings.Contains(err.Error(), "--audit-path or FENZHEN_AUDIT_PATH") {
		t.Errorf("no home: %v", err)
	}
	cfg = api.DefaultConfig()
	cfg.ModelsDir, cfg.AuditPath = filepath.Join(home, "models"), "off"
	if p, err := resolvePaths(&cfg, newSettings(nil, "")); err != nil || p.models.from != "FENZHEN_MODELS" {
		t.Errorf("audit off: %+v %v", p, err)
	}
}

// kg validate passes the embedded KG and rejects alias problems, one line each.
func TestKGValidateAliases(t *testing.T) {
	if r := fenzhen(t, "", "", "kg", "validate"); r.code != 0 || !strings.HasSuffix(r.stdout, "ok\n") {
		t.Errorf("embedded KG: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := "../../knowledge/testdata/alias_distinct_diagnosis.bad.yaml"
	r := fenzhen(t, "", "", "kg", "validate", "--kg", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `"不稳定型心绞痛" is a diagnosis of its own`) {
		t.Errorf("%s: exit %d\n%s", bad, r.code, r.stderr)
	}
}
