package api

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fenzhen/fenzhen/auth"
)

// Config is every server setting in one typed place. Defaults come from
// DefaultConfig, then a YAML file (LoadFile, keys are the yaml tags), then
// the FENZHEN_* variables of Env (FromEnv), then the flags of `fenzhen serve`.
type Config struct {
	Addr              string        `yaml:"addr"`                // FENZHEN_ADDR
	ModelsDir         string        `yaml:"models_dir"`          // FENZHEN_MODELS
	ORTLib            string        `yaml:"ort_lib"`             // FENZHEN_ORT_LIB
	KGPath            string        `yaml:"kg_path"`             // FENZHEN_KG: an imported KG file; "" is the embedded default
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`      // FENZHEN_MAX_BODY_BYTES: JSON routes
	MaxImageBytes     int64         `yaml:"max_image_bytes"`     // FENZHEN_MAX_IMAGE_BYTES: imaging routes
	MaxJSONDepth      int           `yaml:"max_json_depth"`      // FENZHEN_MAX_JSON_DEPTH: deeper JSON bodies are 400 before decoding
	MaxUploadParts    int           `yaml:"max_upload_parts"`    // FENZHEN_MAX_UPLOAD_PARTS: multipart parts read from an imaging upload
	ReadTimeout       time.Duration `yaml:"read_timeout"`        // FENZHEN_READ_TIMEOUT
	WriteTimeout      time.Duration `yaml:"write_timeout"`       // FENZHEN_WRITE_TIMEOUT
	RequestTimeout    time.Duration `yaml:"request_timeout"`     // FENZHEN_REQUEST_TIMEOUT: default per-request deadline
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`    // FENZHEN_SHUTDOWN_TIMEOUT: how long SIGTERM waits for in-flight requests
	RetryAfterSeconds int           `yaml:"retry_after_seconds"` // FENZHEN_RETRY_AFTER: sent with 503 (and 429 when no better figure is known)
	LogLevel          string        `yaml:"log_level"`           // FENZHEN_LOG_LEVEL: debug | info | warn | error

	// Route classes (triage, imaging, knowledge, inference) are the scopes of
	// package auth; admission limits and deadlines can be set per class.
	ClassTimeouts map[string]time.Duration `yaml:"class_timeouts"` // FENZHEN_CLASS_TIMEOUTS: per-class deadline overriding RequestTimeout
	MaxInFlight   map[string]int           `yaml:"max_in_flight"`  // FENZHEN_MAX_IN_FLIGHT: concurrent requests per class; 0 is unbounded
	AdmissionWait time.Duration            `yaml:"admission_wait"` // FENZHEN_ADMISSION_WAIT: how long a request waits for an in-flight slot before 503

	Auth       string  `yaml:"auth"`        // FENZHEN_AUTH: off (development) | required
	KeysFile   string  `yaml:"keys_file"`   // FENZHEN_KEYS_FILE: key file of `fenzhen keys`
	KeyRate    float64 `yaml:"key_rate"`    // FENZHEN_KEY_RATE: requests/s per key without its own rate; 0 is unlimited
	KeyBurst   int     `yaml:"key_burst"`   // FENZHEN_KEY_BURST: bucket size for KeyRate; 0 is twice the rate
	IPRate     float64 `yaml:"ip_rate"`     // FENZHEN_IP_RATE: requests/s per client IP while auth is off; 0 is no limit
	IPBurst    int     `yaml:"ip_burst"`    // FENZHEN_IP_BURST: bucket size for IPRate; 0 is twice the rate
	TrustProxy bool    `yaml:"trust_proxy"` // FENZHEN_TRUST_PROXY: take the client IP from X-Forwarded-For

	CORSOrigins []string `yaml:"cors_origins"` // FENZHEN_CORS_ORIGINS: origins allowed cross-origin calls; none by default
	TLSCert     string   `yaml:"tls_cert"`     // FENZHEN_TLS_CERT: PEM certificate (chain); with TLSKey serves HTTPS
	TLSKey      string   `yaml:"tls_key"`      // FENZHEN_TLS_KEY: PEM private key

	// The audit log (package audit) records every inference request.
	AuditPath          string `yaml:"audit_path"`           // FENZHEN_AUDIT_PATH: SQLite file; "off" disables the audit log
	AuditRetentionDays int    `yaml:"audit_retention_days"` // FENZHEN_AUDIT_RETENTION_DAYS: entries older than this are deleted daily; 0 keeps all
	AuditStoreText     bool   `yaml:"audit_store_text"`     // FENZHEN_AUDIT_STORE_TEXT: keep the request text, redacted (privacy.Redact)
}

// Authentication modes.
const (
	AuthOff      = "off"      // development: every route is open, logged as a warning
	AuthRequired = "required" // production: keys from KeysFile, which must hold one
)

// Classes are the route classes that admission limits and deadlines take.
var Classes = []string{auth.ScopeTriage, auth.ScopeImaging, auth.ScopeKnowledge, auth.ScopeInference}

// DefaultMaxInFlight is the in-flight limit of each class on procs CPUs
// (GOMAXPROCS, which follows the cgroup's CPU limit). A class at its limit
// lets as many requests again wait, each at most admission_wait, for a
// slot; the rest get 503 with Retry-After at once, which costs the server
// a few tens of µs (against ~0.4 ms of CPU for a triage answer).
//
// The work behind every class is CPU-bound, so once more requests run than
// there are CPUs they only share them: each takes longer, none finishes
// sooner. Under overload the limit and the waiters are always full, and an
// admitted request's latency is about (limit + waiters) ÷ throughput
// (Little's law), so a limit of a small multiple of the CPUs keeps it near
// the unloaded latency while still giving the batcher requests to batch and
// the CPUs work while a request waits (the batch window, the audit
// writer). The old fixed limits (triage 128, inference 128, with a 50ms
// wait) let ~40× the sustainable triage work in at once on 2 CPUs.
//
//   - triage: 4 per CPU: a request is ~0.5 ms of CPU, so 8 running + 8
//     waiting on 2 CPUs is a few ms of queue at the most.
//   - imaging: 4 per CPU (at least 8): its CNNs batch (preferred batches
//     of 16–64), so requests in flight are what makes batches; each holds
//     a decoded image (up to 40 MP, ~120 MB) while it runs — waiters have
//     not read their body yet — so 8 on 2 CPUs bound that to ~1 GB.
//   - knowledge: 8 per CPU (at least 16): searches are short.
//   - inference (/v2): 8 per CPU (at least 16): its throughput comes from
//     batching (preferred batches of 16–64 rows), which needs requests in
//     flight; the batcher's max_queue_size bounds the rest.
func DefaultMaxInFlight(procs int) map[string]int {
	procs = max(procs, 1)
	return map[string]int{
		auth.ScopeTriage:    4 * procs,
		auth.ScopeImaging:   max(8, 4*procs),
		auth.ScopeKnowledge: max(16, 8*procs),
		auth.ScopeInference: max(16, 8*procs),
	}
}

// DefaultPort is the port of the default listen address.
const DefaultPort = "8080"

// DefaultListenAddr is where the server listens when no address is set.
// With auth off it is loopback only (as ollama does): an open server is
// reachable from other machines only when an address says so. With API
// keys required it is every interface.
func DefaultListenAddr(authMode string) string {
	if authMode == AuthRequired {
		return ":" + DefaultPort
	}
	return "127.0.0.1:" + DefaultPort
}

// Exposed reports whether addr listens on more than the loopback interface:
// no host, a wildcard, or any host that is not a loopback address or
// "localhost".
func Exposed(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// DefaultConfig is what `make run` serves with.
func DefaultConfig() Config {
	return Config{
		Addr:              "", // DefaultListenAddr: 127.0.0.1:8080 with auth off, :8080 with auth required
		ModelsDir:         "models",
		MaxBodyBytes:      1 << 20,
		MaxImageBytes:     20 << 20,
		MaxJSONDepth:      32,
		MaxUploadParts:    8,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		RequestTimeout:    10 * time.Second,
		ShutdownTimeout:   30 * time.Second,
		RetryAfterSeconds: 1,
		LogLevel:          "info",
		ClassTimeouts:     map[string]time.Duration{},
		MaxInFlight:       DefaultMaxInFlight(runtime.GOMAXPROCS(0)),
		AdmissionWait:     50 * time.Millisecond,
		Auth:              AuthOff,
		KeysFile:          "var/keys.json",
		KeyRate:           20,
		// 180 days covers a quarter's review with margin; longer needs a reason.
		AuditPath:          "var/audit.db",
		AuditRetentionDays: 180,
	}
}

// Env lists the environment variables Config reads, for --help and the README.
var Env = []struct{ Name, Help string }{
	{"FENZHEN_CONFIG", "YAML config file (see deploy/fenzhen.example.yaml); variables and flags win over it"},
	{"FENZHEN_ADDR", "listen address (default 127.0.0.1:8080 with auth off, :8080 with auth required)"},
	{"FENZHEN_MODELS", "model repository directory (default models/ in the working directory or a parent, else beside the binary)"},
	{"FENZHEN_ORT_LIB", "path to libonnxruntime.so (default third_party/onnxruntime/lib/libonnxruntime.so.1, looked up as models/ is)"},
	{"FENZHEN_KG", "knowledge graph file from 'fenzhen kg import' (default: the embedded KG)"},
	{"FENZHEN_MAX_BODY_BYTES", "largest JSON request body (default 1048576)"},
	{"FENZHEN_MAX_IMAGE_BYTES", "largest image upload (default 20971520)"},
	{"FENZHEN_MAX_JSON_DEPTH", "deepest nesting of a JSON body (default 32)"},
	{"FENZHEN_MAX_UPLOAD_PARTS", "most multipart parts in an imaging upload (default 8)"},
	{"FENZHEN_READ_TIMEOUT", "time to read a request (default 30s)"},
	{"FENZHEN_WRITE_TIMEOUT", "time to write a response (default 60s)"},
	{"FENZHEN_REQUEST_TIMEOUT", "deadline of a request's work (default 10s)"},
	{"FENZHEN_CLASS_TIMEOUTS", "per-class deadlines, e.g. imaging=20s,triage=5s (default: none)"},
	{"FENZHEN_SHUTDOWN_TIMEOUT", "grace period for in-flight requests on SIGTERM (default 30s)"},
	{"FENZHEN_RETRY_AFTER", "Retry-After seconds sent with 503 (default 1)"},
	{"FENZHEN_LOG_LEVEL", "debug, info, warn or error (default info)"},
	{"FENZHEN_MAX_IN_FLIGHT", "concurrent requests per class; 0 is unbounded (default " + defaultInFlightText() + ")"},
	{"FENZHEN_ADMISSION_WAIT", "wait for an in-flight slot before 503 (default 50ms)"},
	{"FENZHEN_AUTH", "off (development: no keys, logged as a warning) or required (default off)"},
	{"FENZHEN_KEYS_FILE", "API key file written by 'fenzhen keys' (default var/keys.json beside models/)"},
	{"FENZHEN_KEY_RATE", "requests/s per API key without its own --rate; 0 is unlimited (default 20)"},
	{"FENZHEN_KEY_BURST", "bucket size of FENZHEN_KEY_RATE; 0 is twice the rate (default 0)"},
	{"FENZHEN_IP_RATE", "requests/s per client IP while auth is off; 0 is no limit (default 0)"},
	{"FENZHEN_IP_BURST", "bucket size of FENZHEN_IP_RATE; 0 is twice the rate (default 0)"},
	{"FENZHEN_TRUST_PROXY", "true: the client IP is the last X-Forwarded-For hop (default false)"},
	{"FENZHEN_CORS_ORIGINS", "comma-separated origins allowed cross-origin calls (default: none)"},
	{"FENZHEN_TLS_CERT", "PEM certificate; with FENZHEN_TLS_KEY serves HTTPS"},
	{"FENZHEN_TLS_KEY", "PEM private key of FENZHEN_TLS_CERT"},
	{"FENZHEN_AUDIT_PATH", "audit log SQLite file; off disables it (default var/audit.db beside models/)"},
	{"FENZHEN_AUDIT_RETENTION_DAYS", "delete audit entries older than this many days; 0 keeps all (default 180)"},
	{"FENZHEN_AUDIT_STORE_TEXT", "true: keep request text in the audit log, redacted (default false)"},
}

// defaultInFlightText is DefaultMaxInFlight on this machine, with the CPUs
// it was computed for, e.g. "imaging=8,inference=16,knowledge=16,triage=8 on 2 CPUs".
func defaultInFlightText() string {
	procs := runtime.GOMAXPROCS(0)
	return fmt.Sprintf("%s on %d CPUs", joinPairs(DefaultMaxInFlight(procs), strconv.Itoa), procs)
}

// FromEnv overlays the FENZHEN_* variables that are set onto c.
func (c *Config) FromEnv() error {
	var errs []error
	set := func(name string, v flag.Value) {
		if s, ok := os.LookupEnv(name); ok && s != "" {
			if err := v.Set(s); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, s, err))
			}
		}
	}
	str := func(name string, dst *string) { set(name, (*stringValue)(dst)) }
	str("FENZHEN_ADDR", &c.Addr)
	str("FENZHEN_MODELS", &c.ModelsDir)
	str("FENZHEN_ORT_LIB", &c.ORTLib)
	str("FENZHEN_KG", &c.KGPath)
	str("FENZHEN_LOG_LEVEL", &c.LogLevel)
	str("FENZHEN_AUTH", &c.Auth)
	str("FENZHEN_KEYS_FILE", &c.KeysFile)
	str("FENZHEN_TLS_CERT", &c.TLSCert)
	str("FENZHEN_TLS_KEY", &c.TLSKey)
	set("FENZHEN_MAX_BODY_BYTES", positive64{&c.MaxBodyBytes})
	set("FENZHEN_MAX_IMAGE_BYTES", positive64{&c.MaxImageBytes})
	set("FENZHEN_MAX_JSON_DEPTH", positiveInt{&c.MaxJSONDepth})
	set("FENZHEN_MAX_UPLOAD_PARTS", positiveInt{&c.MaxUploadParts})
	set("FENZHEN_RETRY_AFTER", positiveInt{&c.RetryAfterSeconds})
	set("FENZHEN_READ_TIMEOUT", positiveDuration{&c.ReadTimeout})
	set("FENZHEN_WRITE_TIMEOUT", positiveDuration{&c.WriteTimeout})
	set("FENZHEN_REQUEST_TIMEOUT", positiveDuration{&c.RequestTimeout})
	set("FENZHEN_SHUTDOWN_TIMEOUT", positiveDuration{&c.ShutdownTimeout})
	set("FENZHEN_ADMISSION_WAIT", positiveDuration{&c.AdmissionWait})
	set("FENZHEN_CLASS_TIMEOUTS", ClassDurationsFlag(&c.ClassTimeouts))
	set("FENZHEN_MAX_IN_FLIGHT", ClassIntsFlag(&c.MaxInFlight))
	set("FENZHEN_KEY_RATE", rateValue{&c.KeyRate})
	set("FENZHEN_IP_RATE", rateValue{&c.IPRate})
	set("FENZHEN_KEY_BURST", countValue{&c.KeyBurst})
	set("FENZHEN_IP_BURST", countValue{&c.IPBurst})
	set("FENZHEN_TRUST_PROXY", boolValue{&c.TrustProxy})
	set("FENZHEN_CORS_ORIGINS", ListFlag(&c.CORSOrigins))
	str("FENZHEN_AUDIT_PATH", &c.AuditPath)
	set("FENZHEN_AUDIT_RETENTION_DAYS", countValue{&c.AuditRetentionDays})
	set("FENZHEN_AUDIT_STORE_TEXT", boolValue{&c.AuditStoreText})
	return errors.Join(errs...)
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// LoadFile overlays the YAML file at path onto c. Keys are Config's yaml
// tags; an unknown key is an error naming it, with its line and the file.
// Maps (class_timeouts, max_in_flight) are merged into the defaults.
func (c *Config) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			keys := keyLines(raw)
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				m = unknownField.ReplaceAllString(m, `unknown key "$1"`)
				if sub := lineRef.FindStringSubmatch(m); sub != nil && keys[sub[1]] != "" && !strings.Contains(m, "unknown key") {
					m = fmt.Sprintf("line %s: %s: %s", sub[1], keys[sub[1]], m[len(sub[0]):])
				}
				msgs[i] = m
			}
			return fmt.Errorf("config file %s: %s", path, strings.Join(msgs, "; "))
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

var lineRef = regexp.MustCompile(`^line (\d+): `)

// keyLines maps line numbers to the dotted key whose value starts there, so
// a type error can name the setting and not only the line.
func keyLines(raw []byte) map[string]string {
	out := map[string]string{}
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) != nil || len(root.Content) == 0 {
		return out
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := prefix + n.Content[i].Value
			out[strconv.Itoa(n.Content[i+1].Line)] = key
			walk(n.Content[i+1], key+".")
		}
	}
	walk(root.Content[0], "")
	return out
}

// Validate checks the settings that no single source can check alone.
func (c *Config) Validate() error {
	var errs []error
	if c.Auth != AuthOff && c.Auth != AuthRequired {
		errs = append(errs, fmt.Errorf("auth %q: want %s or %s", c.Auth, AuthOff, AuthRequired))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("addr %q: want host:port, like 127.0.0.1:8080 or :8080", c.Addr))
		}
	}
	if c.Auth == AuthRequired && c.KeysFile == "" {
		errs = append(errs, errors.New("auth is required but no keys file is set"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls_cert and tls_key go together: set both or neither"))
	}
	for _, class := range slices.Sorted(maps.Keys(c.ClassTimeouts)) {
		if !slices.Contains(Classes, class) {
			errs = append(errs, fmt.Errorf("class_timeouts: unknown class %q (want %s)", class, strings.Join(Classes, ", ")))
		} else if c.ClassTimeouts[class] <= 0 {
			errs = append(errs, fmt.Errorf("class_timeouts: %s must be positive", class))
		}
	}
	for _, class := range slices.Sorted(maps.Keys(c.MaxInFlight)) {
		if !slices.Contains(Classes, class) {
			errs = append(errs, fmt.Errorf("max_in_flight: unknown class %q (want %s)", class, strings.Join(Classes, ", ")))
		} else if c.MaxInFlight[class] < 0 {
			errs = append(errs, fmt.Errorf("max_in_flight: %s must not be negative", class))
		}
	}
	positive := []struct {
		name string
		ok   bool
	}{
		{"max_body_bytes", c.MaxBodyBytes > 0}, {"max_image_bytes", c.MaxImageBytes > 0},
		{"max_json_depth", c.MaxJSONDepth > 0}, {"max_upload_parts", c.MaxUploadParts > 0},
		{"read_timeout", c.ReadTimeout > 0}, {"write_timeout", c.WriteTimeout > 0},
		{"request_timeout", c.RequestTimeout > 0}, {"shutdown_timeout", c.ShutdownTimeout > 0},
		{"retry_after_seconds", c.RetryAfterSeconds > 0}, {"admission_wait", c.AdmissionWait >= 0},
		{"key_rate", c.KeyRate >= 0}, {"key_burst", c.KeyBurst >= 0},
		{"ip_rate", c.IPRate >= 0}, {"ip_burst", c.IPBurst >= 0},
		{"audit_retention_days", c.AuditRetentionDays >= 0},
	}
	for _, p := range positive {
		if !p.ok {
			errs = append(errs, fmt.Errorf("%s is out of range", p.name))
		}
	}
	for _, o := range c.CORSOrigins {
		if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			errs = append(errs, fmt.Errorf("cors_origins: %q is not an origin like https://example.org", o))
		}
	}
	return errors.Join(errs...)
}

// flag.Values for the Config fields, shared by FromEnv and `fenzhen serve`.

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

type positive64 struct{ p *int64 }

func (v positive64) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return errors.New("want a positive integer")
	}
	*v.p = n
	return nil
}
func (v positive64) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}

type positiveInt struct{ p *int }

func (v positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return errors.New("want a positive integer")
	}
	*v.p = n
	return nil
}
func (v positiveInt) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

type countValue struct{ p *int }

func (v countValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New("want a non-negative integer")
	}
	*v.p = n
	return nil
}
func (v countValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

type positiveDuration struct{ p *time.Duration }

func (v positiveDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return errors.New("want a positive duration like 10s")
	}
	*v.p = d
	return nil
}
func (v positiveDuration) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

type rateValue struct{ p *float64 }

func (v rateValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) {
		return errors.New("want requests per second, 0 or more")
	}
	*v.p = f
	return nil
}
func (v rateValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}

type listValue struct{ p *[]string }

// ListFlag reads a comma-separated list, replacing what was there.
func ListFlag(p *[]string) flag.Value { return listValue{p} }

func (v listValue) Set(s string) error {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	*v.p = out
	return nil
}
func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

// ClassIntsFlag reads class=n pairs ("imaging=8,triage=64") into a map,
// keeping the classes it does not name.
func ClassIntsFlag(p *map[string]int) flag.Value { return classInts{p} }

type classInts struct{ p *map[string]int }

func (v classInts) Set(s string) error {
	return setPairs(s, func(k, val string) error {
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=%s: want a non-negative integer", k, val)
		}
		if *v.p == nil {
			*v.p = map[string]int{}
		}
		(*v.p)[k] = n
		return nil
	})
}
func (v classInts) String() string {
	if v.p == nil {
		return ""
	}
	return joinPairs(*v.p, strconv.Itoa)
}

// ClassDurationsFlag reads class=duration pairs ("imaging=20s") into a map,
// keeping the classes it does not name.
func ClassDurationsFlag(p *map[string]time.Duration) flag.Value { return classDurations{p} }

type classDurations struct{ p *map[string]time.Duration }

func (v classDurations) Set(s string) error {
	return setPairs(s, func(k, val string) error {
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s=%s: want a positive duration like 10s", k, val)
		}
		if *v.p == nil {
			*v.p = map[string]time.Duration{}
		}
		(*v.p)[k] = d
		return nil
	})
}
func (v classDurations) String() string {
	if v.p == nil {
		return ""
	}
	return joinPairs(*v.p, time.Duration.String)
}

func setPairs(s string, set func(k, v string) error) error {
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || !slices.Contains(Classes, k) {
			return fmt.Errorf("%q: want class=value with class one of %s", pair, strings.Join(Classes, ", "))
		}
		if err := set(k, strings.TrimSpace(val)); err != nil {
			return err
		}
	}
	return nil
}

func joinPairs[V any](m map[string]V, format func(V) string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+format(m[k]))
	}
	return strings.Join(parts, ",")
}

// Flag helpers for `fenzhen serve`, so flags parse exactly as the variables do.

// PositiveDurationFlag is a duration that must be above zero.
func PositiveDurationFlag(p *time.Duration) flag.Value { return positiveDuration{p} }

// PositiveIntFlag is a byte count or other integer that must be above zero.
func PositiveIntFlag(p *int64) flag.Value { return positive64{p} }

// RateFlag is a non-negative requests-per-second figure.
func RateFlag(p *float64) flag.Value { return rateValue{p} }

// CountFlag is a non-negative integer.
func CountFlag(p *int) flag.Value { return countValue{p} }
