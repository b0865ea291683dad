package deploy_test

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction after line continuations are joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY …
	args string
}

type stage struct {
	image, name string
	ins         []instruction
}

// parseDockerfile splits a Dockerfile into its global ARGs and stages. It
// understands comments, parser directives and backslash continuations, which
// is all deploy/Dockerfile uses.
func parseDockerfile(src string) (args map[string]string, stages []*stage, err error) {
	args = map[string]string{}
	var ins []instruction
	sc := bufio.NewScanner(strings.NewReader(src))
	var cur strings.Builder
	start := 0
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{start, strings.ToUpper(cmd), strings.TrimSpace(rest)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, nil, fmt.Errorf("line %d: continuation at end of file", start)
	}
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			var flags []string
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				flags, f = append(flags, f[0]), f[1:]
			}
			if len(f) != 1 && !(len(f) == 3 && strings.EqualFold(f[1], "AS")) {
				return nil, nil, fmt.Errorf("line %d: FROM %s", in.line, in.args)
			}
			s := &stage{image: expand(f[0], args)}
			if len(f) == 3 {
				s.name = f[2]
			}
			stages = append(stages, s)
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = strings.Trim(v, `"`)
		case len(stages) == 0:
			return nil, nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		default:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	return args, stages, nil
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func expand(s string, args map[string]string) string {
	return argRef.ReplaceAllStringFunc(s, func(m string) string {
		return args[argRef.FindStringSubmatch(m)[1]]
	})
}

// envOf collects a stage's ENV settings (both the k=v and the legacy "k v" form).
func envOf(s *stage) map[string]string {
	env := map[string]string{}
	for _, in := range s.ins {
		if in.cmd != "ENV" {
			continue
		}
		if !strings.Contains(strings.Fields(in.args)[0], "=") {
			k, v, _ := strings.Cut(in.args, " ")
			env[k] = strings.TrimSpace(v)
			continue
		}
		for _, kv := range strings.Fields(in.args) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// checkDockerfile lists what deploy/Dockerfile must get right: a build stage
// and a slim runtime stage, base images pinned by tag or digest, a non-root
// user, the ONNX Runtime library and models copied where the ENV points, the
// audit database on a volume, port 8080, no HEALTHCHECK.
func checkDockerfile(src string) []string {
	args, stages, err := parseDockerfile(src)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	fail := func(f string, a ...any) { bad = append(bad, fmt.Sprintf(f, a...)) }
	if len(stages) < 2 {
		return []string{fmt.Sprintf("want a multi-stage build, got %d stage(s)", len(stages))}
	}
	names := map[string]bool{}
	for _, s := range stages {
		if names[s.image] {
			continue // FROM an earlier stage
		}
		ref := s.image
		if i := strings.LastIndex(ref, "/"); i >= 0 {
			ref = ref[i+1:]
		}
		switch {
		case strings.Contains(ref, "@sha256:"):
		case !strings.Contains(ref, ":"):
			fail("base image %q is not pinned by tag or digest", s.image)
		case strings.HasSuffix(ref, ":latest"):
			fail("base image %q uses :latest", s.image)
		}
		if s.name != "" {
			names[s.name] = true
		}
	}
	_ = args
	build, final := stages[0], stages[len(stages)-1]
	var buildRuns string
	for _, in := range build.ins {
		if in.cmd == "RUN" {
			buildRuns += in.args + "\n"
		}
	}
	if !strings.Contains(buildRuns, "setup-ort.sh") {
		fail("build stage does not fetch the pinned ONNX Runtime with deploy/setup-ort.sh")
	}
	if !regexp.MustCompile(`go build [^\n]*-trimpath[^\n]*\./cmd/fenzhen`).MatchString(buildRuns) {
		fail("build stage does not run go build -trimpath ./cmd/fenzhen")
	}
	if !strings.Contains(final.image, "slim") && !strings.Contains(final.image, "distroless") {
		fail("runtime stage %q is not a slim image", final.image)
	}

	env := envOf(final)
	copied := map[string]string{} // destination → source
	user, expose, volumes := "", []string{}, []string{}
	for _, in := range final.ins {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			var from string
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					from = v
				}
				f = f[1:]
			}
			if from == "" || len(f) != 2 {
				fail("line %d: runtime stage copies %q from the context, want single files from the build stage", in.line, in.args)
				continue
			}
			copied[f[1]] = f[0]
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = append(expose, strings.Fields(in.args)...)
		case "VOLUME":
			for _, v := range strings.Fields(strings.Trim(in.args, "[]")) {
				volumes = append(volumes, strings.Trim(v, `",`))
			}
		case "HEALTHCHECK":
			fail("line %d: HEALTHCHECK in the image; Kubernetes probes /healthz and /readyz", in.line)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		fail("runtime stage runs as %q, want a non-root USER", user)
	}
	if !slices.Contains(expose, "8080") && !slices.Contains(expose, "8080/tcp") {
		fail("runtime stage does not EXPOSE 8080 (exposes %v)", expose)
	}
	if lib := env["FENZHEN_ORT_LIB"]; lib == "" {
		fail("FENZHEN_ORT_LIB is not set in the runtime stage")
	} else if src, ok := copied[lib]; !ok || path.Base(src) != "libonnxruntime.so.1" {
		fail("FENZHEN_ORT_LIB=%s is not where libonnxruntime.so.1 is copied (%v)", lib, copied)
	}
	if m := env["FENZHEN_MODELS"]; m == "" {
		fail("FENZHEN_MODELS is not set in the runtime stage")
	} else if _, ok := copied[m]; !ok {
		fail("FENZHEN_MODELS=%s is not where the models are copied (%v)", m, copied)
	}
	if _, ok := copied["/usr/local/bin/fenzhen"]; !ok {
		fail("the binary is not copied to /usr/local/bin/fenzhen")
	}
	if a := env["FENZHEN_AUDIT_PATH"]; a == "" || !slices.Contains(volumes, path.Dir(a)) {
		fail("FENZHEN_AUDIT_PATH=%q is not on a VOLUME (%v)", a, volumes)
	}
	if env["FENZHEN_ADDR"] != ":8080" {
		fail("FENZHEN_ADDR=%q, want :8080 to match EXPOSE", env["FENZHEN_ADDR"])
	}
	return bad
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDockerfile(string(src)) {
		t.Error(p)
	}
	_, stages, _ := parseDockerfile(string(src))
	env := envOf(stages[len(stages)-1])
	// The image's defaults and the ConfigMap agree on where things are.
	cm := configMapData(t)
	for _, k := range []string{"FENZHEN_ADDR", "FENZHEN_MODELS", "FENZHEN_ORT_LIB", "FENZHEN_AUDIT_PATH", "FENZHEN_SHUTDOWN_TIMEOUT"} {
		if env[k] != cm[k] {
			t.Errorf("%s: Dockerfile has %q, k8s/configmap.yaml %q", k, env[k], cm[k])
		}
	}
}

// TestDockerfileCheckerCatchesMistakes feeds checkDockerfile broken images so
// that TestDockerfile provably can fail.
func TestDockerfileCheckerCatchesMistakes(t *testing.T) {
	good, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"single stage", "", "FROM debian:bookworm-slim\nCMD [\"serve\"]\n", "multi-stage"},
		{"root", "USER 10001:10001", "USER root", "non-root USER"},
		{"no user", "USER 10001:10001", "", "non-root USER"},
		{"unpinned", "ARG RUNTIME_IMAGE=debian:bookworm-slim", "ARG RUNTIME_IMAGE=debian", "not pinned"},
		{"latest", "ARG GO_IMAGE=golang:1.26-bookworm", "ARG GO_IMAGE=golang:latest", ":latest"},
		{"no port", "EXPOSE 8080", "EXPOSE 9090", "EXPOSE 8080"},
		{"lib elsewhere", "FENZHEN_ORT_LIB=/opt/onnxruntime/lib/libonnxruntime.so.1", "FENZHEN_ORT_LIB=/usr/lib/libonnxruntime.so.1", "FENZHEN_ORT_LIB"},
		{"healthcheck", "EXPOSE 8080", "EXPOSE 8080\nHEALTHCHECK CMD curl -f http://localhost:8080/healthz", "HEALTHCHECK"},
		{"no trimpath", "go build -trimpath", "go build", "-trimpath"},
		{"audit not on volume", `VOLUME ["/var/lib/fenzhen"]`, "", "FENZHEN_AUDIT_PATH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.new
			if c.old != "" {
				if !strings.Contains(string(good), c.old) {
					t.Fatalf("Dockerfile has no %q to break", c.old)
				}
				src = strings.Replace(string(good), c.old, c.new, 1)
			}
			bad := checkDockerfile(src)
			if !slices.ContainsFunc(bad, func(p string) bool { return strings.Contains(p, c.want) }) {
				t.Errorf("want a problem mentioning %q, got %q", c.want, bad)
			}
		})
	}
}
