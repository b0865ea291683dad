package inference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// MinORTVersion is the oldest ONNX Runtime whose C API onnxruntime_go v1.27 speaks.
const MinORTVersion = "1.24"

// DefaultORTLib is where `make setup` puts the pinned library, relative to the repository root.
const DefaultORTLib = "third_party/onnxruntime/lib/libonnxruntime.so.1"

var (
	runtimeMu      sync.Mutex
	runtimeLib     string
	runtimeVersion string
)

// ResolveORTLib picks the ONNX Runtime library: the explicit path, else
// $FENZHEN_ORT_LIB, else DefaultORTLib looked up from the working directory
// and its parents (so tests in sub-packages find it too), then beside the executable.
func ResolveORTLib(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if p := os.Getenv("FENZHEN_ORT_LIB"); p != "" {
		return p, nil
	}
	var tried []string
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, DefaultORTLib)
			tried = append(tried, p)
			if fileExists(p) {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if exe, err := os.Executable(); err == nil {
		for _, p := range []string{
			filepath.Join(filepath.Dir(exe), DefaultORTLib),
			filepath.Join(filepath.Dir(exe), "..", DefaultORTLib),
		} {
			tried = append(tried, p)
			if fileExists(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("ONNX Runtime library not found (looked in %s): run `make setup` or set FENZHEN_ORT_LIB", strings.Join(tried[:min(len(tried), 3)], ", "))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// InitRuntime loads ONNX Runtime once per process. Later calls return the
// first outcome's library; a call naming a different library is an error.
func InitRuntime(libPath string) error {
	runtimeMu.Lock()
	defer runtimeMu.Unlock()
	if runtimeLib != "" {
		return nil
	}
	lib, err := ResolveORTLib(libPath)
	if err != nil {
		return err
	}
	if !fileExists(lib) {
		return fmt.Errorf("ONNX Runtime library %s does not exist: run `make setup` or set FENZHEN_ORT_LIB", lib)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		// An old library has no C API of the version we ask for; say so plainly.
		return fmt.Errorf("load ONNX Runtime from %s (need version %s or newer): %w", lib, MinORTVersion, err)
	}
	v := ort.GetVersion()
	if !versionAtLeast(v, MinORTVersion) {
		_ = ort.DestroyEnvironment()
		return fmt.Errorf("ONNX Runtime at %s is version %s; version %s or newer is required", lib, v, MinORTVersion)
	}
	runtimeLib, runtimeVersion = lib, v
	return nil
}

// RuntimeVersion is the loaded ONNX Runtime's version, "" before InitRuntime.
func RuntimeVersion() string {
	runtimeMu.Lock()
	defer runtimeMu.Unlock()
	return runtimeVersion
}

func versionAtLeast(have, want string) bool {
	h, w := splitVersion(have), splitVersion(want)
	for i := range w {
		if i >= len(h) {
			return false
		}
		if h[i] != w[i] {
			return h[i] > w[i]
		}
	}
	return true
}

func splitVersion(v string) []int {
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(strings.TrimFunc(p, func(r rune) bool { return r < '0' || r > '9' }))
		if err != nil {
			break
		}
		out = append(out, n)
	}
	return out
}

// Sentinel errors; the API maps each to one status code.
var (
	ErrModelNotFound = errors.New("model not found")     // 404
	ErrInvalidInput  = errors.New("invalid input")       // 400
	ErrQueueFull     = errors.New("model queue is full") // 503 + Retry-After
	ErrUnavailable   = errors.New("model unavailable")   // 503
	errRetired       = errors.New("model version retired")
)
