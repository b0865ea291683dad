package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/inference"
)

// Where fenzhen finds its files when no setting names them.
//
// ONNX Runtime, the model repository and var/ (the audit database, the API
// key file) are looked up the same way: in the working directory and its
// parents, then beside the binary (its directory and the one above, so
// bin/fenzhen finds the checkout's models/ and var/ from anywhere). The
// first of those directories that holds a model repository is the home;
// the default models/ and var/ are the home's. A fenzhen started in a
// directory of its own therefore never creates ./var/audit.db there.

// located is a resolved path and where it came from, for the start-up log
// and for errors.
type located struct {
	path string
	from string // "--models", "FENZHEN_MODELS", "fenzhen.yaml (models_dir)", "working directory", "beside the binary"
}

// homeCandidates lists, in order, the directories a home is looked for in.
func homeCandidates() []located {
	var out []located
	if wd, err := os.Getwd(); err == nil {
		from := "working directory"
		for dir := wd; ; {
			out = append(out, located{dir, from})
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir, from = parent, "a parent of the working directory"
		}
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		out = append(out, located{dir, "beside the binary"}, located{filepath.Dir(dir), "beside the binary"})
	}
	return out
}

// isModelRepository reports whether dir holds at least one
// <model>/<version>/config.yaml, so an unrelated models/ folder is not taken.
func isModelRepository(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*", "[0-9]*", "config.yaml"))
	return len(m) > 0
}

// findHome returns the first candidate directory holding models/, and the
// places it looked.
func findHome() (located, []string, bool) {
	var tried []string
	for _, c := range homeCandidates() {
		p := filepath.Join(c.path, "models")
		if isModelRepository(p) {
			return c, tried, true
		}
		tried = append(tried, p)
	}
	return located{}, tried, false
}

// settings tells where a configuration value came from: a flag, a FENZHEN_*
// variable, the --config file, or none of them (the default).
type settings struct {
	fs       *flag.FlagSet
	file     string          // the --config file, or ""
	fileKeys map[string]bool // its top-level keys
}

func newSettings(fs *flag.FlagSet, file string) settings {
	s := settings{fs: fs, file: file, fileKeys: map[string]bool{}}
	if file != "" {
		var m map[string]any
		if raw, err := os.ReadFile(file); err == nil && yaml.Unmarshal(raw, &m) == nil {
			for k := range m {
				s.fileKeys[k] = true
			}
		}
	}
	return s
}

// origin names the source of a setting, or "" when it has its default.
func (s settings) origin(flagName, env, key string) string {
	if s.fs != nil && flagName != "" {
		set := false
		s.fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName })
		if set {
			return "--" + flagName
		}
	}
	if env != "" && os.Getenv(env) != "" {
		return env
	}
	if key != "" && s.fileKeys[key] {
		return fmt.Sprintf("%s (%s)", s.file, key)
	}
	return ""
}

// paths are the files `fenzhen serve` uses, with their origins.
type paths struct {
	models, ort, audit, keys located
}

// resolvePaths fills in cfg's models directory, ONNX Runtime library, audit
// database and (with auth required) key file, from the settings or, where
// none is set (or one repeats the default, as deploy/fenzhen.example.yaml
// does), from the home. Every error names the setting that fixes it.
func resolvePaths(cfg *api.Config, s settings) (paths, error) {
	var p paths
	var err error
	if p.models, err = resolveModels(cfg.ModelsDir, s); err != nil {
		return p, err
	}
	cfg.ModelsDir = p.models.path
	if p.ort, err = resolveORT(cfg.ORTLib, s.origin("ort-lib", "FENZHEN_ORT_LIB", "ort_lib")); err != nil {
		return p, err
	}
	cfg.ORTLib = p.ort.path

	home, tried, haveHome := findHome()
	def := api.DefaultConfig()

	varFile := func(value, def, flagName, env, key string) (located, error) {
		if from := s.origin(flagName, env, key); from != "" && value != def {
			return located{value, from}, nil
		}
		if !haveHome {
			return located{}, fmt.Errorf("no home directory for the default %s %s (no models/ in %s): set --%s or %s", strings.ReplaceAll(key, "_", " "), def, shortList(tried), flagName, env)
		}
		return located{filepath.Join(home.path, def), home.from}, nil
	}
	if cfg.AuditPath == "off" || cfg.AuditPath == "" {
		p.audit = located{"off", s.origin("audit-path", "FENZHEN_AUDIT_PATH", "audit_path")}
	} else {
		if p.audit, err = varFile(cfg.AuditPath, def.AuditPath, "audit-path", "FENZHEN_AUDIT_PATH", "audit_path"); err != nil {
			return p, fmt.Errorf("%w (off disables the audit log)", err)
		}
		cfg.AuditPath = p.audit.path
	}
	if cfg.Auth == api.AuthRequired {
		if p.keys, err = varFile(cfg.KeysFile, def.KeysFile, "keys-file", "FENZHEN_KEYS_FILE", "keys_file"); err != nil {
			return p, err
		}
		cfg.KeysFile = p.keys.path
	}
	return p, nil
}

// resolveModels is the model repository: the setting's, else the home's.
func resolveModels(value string, s settings) (located, error) {
	if from := s.origin("models", "FENZHEN_MODELS", "models_dir"); from != "" && value != api.DefaultConfig().ModelsDir {
		if st, err := os.Stat(value); err != nil || !st.IsDir() {
			return located{}, fmt.Errorf("model repository %s (set by %s) is not a directory: set --models or FENZHEN_MODELS to the folder holding <model>/<version>/config.yaml", value, from)
		}
		return located{value, from}, nil
	}
	home, tried, ok := findHome()
	if !ok {
		return located{}, fmt.Errorf("no model repository found (looked for models/ in %s): run fenzhen from its directory or set --models or FENZHEN_MODELS", shortList(tried))
	}
	return located{filepath.Join(home.path, "models"), home.from}, nil
}

// resolveORT finds ONNX Runtime as inference.ResolveORTLib does and says
// where it was found.
func resolveORT(value, from string) (located, error) {
	if from != "" {
		return located{value, from}, nil
	}
	lib, err := inference.ResolveORTLib(value)
	if err != nil {
		return located{}, fmt.Errorf("%w (or --ort-lib)", err)
	}
	for _, c := range homeCandidates() {
		if filepath.Join(c.path, inference.DefaultORTLib) == lib {
			return located{lib, c.from}, nil
		}
	}
	return located{lib, "beside the binary"}, nil
}

// defaultVarFile is var/<name> in the home, for the commands that read what
// the server wrote (keys, audit); "var/<name>" when there is no home.
func defaultVarFile(name string) string {
	if home, _, ok := findHome(); ok {
		return filepath.Join(home.path, "var", name)
	}
	return filepath.Join("var", name)
}

// shortList joins places, eliding the middle of a long list (the parents
// of a deep working directory).
func shortList(s []string) string {
	if len(s) > 4 {
		s = append([]string{s[0], "…"}, s[len(s)-2:]...)
	}
	return strings.Join(s, ", ")
}
