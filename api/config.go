package api

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config is every server setting in one typed place. Flags of `fenzhen serve`
// fill it; each field can also come from the FENZHEN_* variable named in Env.
type Config struct {
	Addr              string        // FENZHEN_ADDR
	ModelsDir         string        // FENZHEN_MODELS
	ORTLib            string        // FENZHEN_ORT_LIB
	KGPath            string        // FENZHEN_KG: an imported KG file; "" is the embedded default
	MaxBodyBytes      int64         // FENZHEN_MAX_BODY_BYTES: JSON routes
	MaxImageBytes     int64         // FENZHEN_MAX_IMAGE_BYTES: imaging routes
	ReadTimeout       time.Duration // FENZHEN_READ_TIMEOUT
	WriteTimeout      time.Duration // FENZHEN_WRITE_TIMEOUT
	RequestTimeout    time.Duration // FENZHEN_REQUEST_TIMEOUT: default per-request deadline
	ShutdownTimeout   time.Duration // FENZHEN_SHUTDOWN_TIMEOUT: how long SIGTERM waits for in-flight requests
	RetryAfterSeconds int           // sent with 429 and 503
	LogLevel          string        // FENZHEN_LOG_LEVEL: debug | info | warn | error
}

// DefaultConfig is what `make run` serves with.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		ModelsDir:         "models",
		MaxBodyBytes:      1 << 20,
		MaxImageBytes:     20 << 20,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		RequestTimeout:    10 * time.Second,
		ShutdownTimeout:   30 * time.Second,
		RetryAfterSeconds: 1,
		LogLevel:          "info",
	}
}

// Env lists the environment variables Config reads, for --help and the README.
var Env = []struct{ Name, Help string }{
	{"FENZHEN_ADDR", "listen address (default :8080)"},
	{"FENZHEN_MODELS", "model repository directory (default models)"},
	{"FENZHEN_ORT_LIB", "path to libonnxruntime.so (default third_party/onnxruntime/lib/libonnxruntime.so.1)"},
	{"FENZHEN_KG", "knowledge graph file from `fenzhen kg import` (default: the embedded KG)"},
	{"FENZHEN_MAX_BODY_BYTES", "largest JSON request body (default 1048576)"},
	{"FENZHEN_MAX_IMAGE_BYTES", "largest image upload (default 20971520)"},
	{"FENZHEN_READ_TIMEOUT", "time to read a request (default 30s)"},
	{"FENZHEN_WRITE_TIMEOUT", "time to write a response (default 60s)"},
	{"FENZHEN_REQUEST_TIMEOUT", "deadline of a request's work (default 10s)"},
	{"FENZHEN_SHUTDOWN_TIMEOUT", "grace period for in-flight requests on SIGTERM (default 30s)"},
	{"FENZHEN_LOG_LEVEL", "debug, info, warn or error (default info)"},
}

// FromEnv overlays the FENZHEN_* variables that are set onto c.
func (c *Config) FromEnv() error {
	str := func(name string, dst *string) {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			*dst = v
		}
	}
	var err error
	num := func(name string, dst *int64) {
		if v, ok := os.LookupEnv(name); ok && v != "" && err == nil {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || n <= 0 {
				err = fmt.Errorf("%s=%q: want a positive integer", name, v)
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v, ok := os.LookupEnv(name); ok && v != "" && err == nil {
			d, perr := time.ParseDuration(v)
			if perr != nil || d <= 0 {
				err = fmt.Errorf("%s=%q: want a positive duration like 10s", name, v)
				return
			}
			*dst = d
		}
	}
	str("FENZHEN_ADDR", &c.Addr)
	str("FENZHEN_MODELS", &c.ModelsDir)
	str("FENZHEN_ORT_LIB", &c.ORTLib)
	str("FENZHEN_KG", &c.KGPath)
	str("FENZHEN_LOG_LEVEL", &c.LogLevel)
	num("FENZHEN_MAX_BODY_BYTES", &c.MaxBodyBytes)
	num("FENZHEN_MAX_IMAGE_BYTES", &c.MaxImageBytes)
	dur("FENZHEN_READ_TIMEOUT", &c.ReadTimeout)
	dur("FENZHEN_WRITE_TIMEOUT", &c.WriteTimeout)
	dur("FENZHEN_REQUEST_TIMEOUT", &c.RequestTimeout)
	dur("FENZHEN_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	return err
}
