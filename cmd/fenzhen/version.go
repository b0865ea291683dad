package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
)

// Set by `make build`: -ldflags "-X main.version=… -X main.commit=…".
// Without them the Go toolchain's build information is used, if any.
var (
	version string
	commit  string
)

func init() {
	register(command{name: "version", summary: "print the build version, commit, ONNX Runtime, knowledge graph and model versions", run: runVersion})
}

func runVersion(args []string) error {
	cfg, err := baseConfig(args)
	if err != nil {
		return err
	}
	fs := newFlagSet("version", "Prints the build version and commit, the Go toolchain, the ONNX Runtime library\n"+
		"and its version, the embedded knowledge graph and every model version in the\n"+
		"repository (the newest serves by default), found as 'fenzhen serve' finds them.",
		"  ./bin/fenzhen version\n  ./bin/fenzhen version --models /srv/fenzhen/models")
	fs.String("config", "", "YAML config file whose models_dir and ort_lib to use")
	fs.StringVar(&cfg.ModelsDir, "models", cfg.ModelsDir, "model repository directory (default: as 'fenzhen serve' finds it)")
	fs.StringVar(&cfg.ORTLib, "ort-lib", cfg.ORTLib, "ONNX Runtime shared library (default: as 'fenzhen serve' finds it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr(fs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	printVersion(os.Stdout, cfg, newSettings(fs, configPath(args)))
	return nil
}

// buildVersion is the version and commit the binary was built from.
func buildVersion() (ver, rev string) {
	ver, rev = version, commit
	var modified, when string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = "modified"
				}
			}
		}
	}
	if rev == "" {
		rev = "unknown (build with 'make build' to record it)"
	} else if extra := strings.Join(slices.DeleteFunc([]string{when, modified}, func(s string) bool { return s == "" }), ", "); extra != "" {
		rev += " (" + extra + ")"
	}
	if ver == "" {
		ver = "devel"
	}
	return ver, rev
}

// printVersion never fails: what cannot be found is printed as such.
func printVersion(w io.Writer, cfg api.Config, s settings) {
	ver, rev := buildVersion()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "fenzhen\t%s\n", ver)
	fmt.Fprintf(tw, "commit\t%s\n", rev)
	fmt.Fprintf(tw, "go\t%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)

	if ort, err := resolveORT(cfg.ORTLib, s.origin("ort-lib", "FENZHEN_ORT_LIB", "ort_lib")); err != nil {
		fmt.Fprintf(tw, "onnxruntime\tnot found: %v\n", err)
	} else if err := inference.InitRuntime(ort.path); err != nil {
		fmt.Fprintf(tw, "onnxruntime\tcannot load %s (%s): %v\n", ort.path, ort.from, err)
	} else {
		fmt.Fprintf(tw, "onnxruntime\t%s (%s, %s)\n", inference.RuntimeVersion(), ort.path, ort.from)
	}
	if kg, err := knowledge.LoadDefault(); err != nil {
		fmt.Fprintf(tw, "knowledge\tembedded, invalid: %v\n", err)
	} else {
		st := kg.Stats()
		fmt.Fprintf(tw, "knowledge\tembedded: %d diseases, %d symptoms, %d red flags, %d departments\n", st.Diseases, st.Symptoms, st.RedFlags, st.Departments)
	}
	models, err := resolveModels(cfg.ModelsDir, s)
	if err != nil {
		fmt.Fprintf(tw, "models\tnot found: %v\n", err)
	} else {
		fmt.Fprintf(tw, "models\t%s (%s)\n", models.path, models.from)
		for _, m := range modelVersions(models.path) {
			fmt.Fprintf(tw, "  %s\t%s\n", m.name, m.text)
		}
	}
	tw.Flush()
}

type modelVersion struct{ name, text string }

// modelVersions lists each model of the repository at dir with its
// versions, newest first, and the first 12 hex digits of the newest
// model.onnx's SHA-256, without loading anything into ONNX Runtime.
func modelVersions(dir string) []modelVersion {
	entries, _ := os.ReadDir(dir)
	var out []modelVersion
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		vs, _ := os.ReadDir(filepath.Join(dir, e.Name()))
		var nums []uint64
		for _, v := range vs {
			n, err := strconv.ParseUint(v.Name(), 10, 32)
			if err == nil && v.IsDir() && fileExists(filepath.Join(dir, e.Name(), v.Name(), "config.yaml")) {
				nums = append(nums, n)
			}
		}
		if len(nums) == 0 {
			continue
		}
		slices.Sort(nums)
		slices.Reverse(nums)
		names := make([]string, len(nums))
		for i, n := range nums {
			names[i] = strconv.FormatUint(n, 10)
		}
		text := "version " + strings.Join(names, ", ")
		if len(nums) > 1 {
			text += " (" + names[0] + " serves by default)"
		}
		if sum, err := fileSHA256(filepath.Join(dir, e.Name(), names[0], "model.onnx")); err == nil {
			text += "  sha256 " + sum[:12]
		} else {
			text += "  model.onnx missing"
		}
		out = append(out, modelVersion{e.Name(), text})
	}
	return out
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
