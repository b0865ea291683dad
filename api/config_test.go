package api

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const exampleConfig = "../deploy/fenzhen.example.yaml"

// yamlKeys are the yaml keys of Config's fields, failing on a field without one.
func yamlKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			t.Errorf("Config.%s has no yaml key", f.Name)
			continue
		}
		keys = append(keys, tag)
	}
	return keys
}

// The example file documents every setting with its default value.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys := yamlKeys(t)
	for _, k := range keys {
		if _, ok := doc[k]; !ok {
			t.Errorf("%s does not document %q", exampleConfig, k)
		}
	}
	for k := range doc {
		if !slices.Contains(keys, k) {
			t.Errorf("%s has %q, which Config does not", exampleConfig, k)
		}
	}
	cfg := DefaultConfig()
	if err := cfg.LoadFile(exampleConfig); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(cfg.CORSOrigins) == 0 {
		cfg.CORSOrigins = nil // [] in the file, nil by default
	}
	if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if def := DefaultConfig(); def.Validate() != nil {
		err := def.Validate()
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.LoadFile("testdata/config/production.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8443" || cfg.Auth != AuthRequired || cfg.TLSKey != "/etc/fenzhen/tls.key" ||
		!slices.Equal(cfg.CORSOrigins, []string{"https://clinic.example"}) || cfg.ClassTimeouts["imaging"] != 20*time.Second {
		t.Errorf("loaded %+v", cfg)
	}
	// Maps merge into the defaults: the other classes keep their limits.
	if cfg.MaxInFlight["imaging"] != 4 || cfg.MaxInFlight["triage"] != DefaultConfig().MaxInFlight["triage"] {
		t.Errorf("max_in_flight %v", cfg.MaxInFlight)
	}
	// Keys the file leaves out keep their defaults.
	if cfg.RequestTimeout != 10*time.Second || cfg.ModelsDir != "models" {
		t.Errorf("defaults lost: %+v", cfg)
	}
	empty := DefaultConfig()
	if err := empty.LoadFile("testdata/config/empty.yaml"); err != nil || !reflect.DeepEqual(empty, DefaultConfig()) {
		t.Errorf("empty file: %v", err)
	}
	if err := empty.LoadFile("testdata/config/none.yaml"); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// Each testdata/config/*.bad.yaml fails, with a message naming the file
// (when the file is at fault) and the key.
func TestLoadFileBad(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"unknown-key.bad.yaml", `line 2: unknown key "max_inflight"`},
		{"bare-duration.bad.yaml", "request_timeout"},
		{"wrong-type.bad.yaml", "lots"},
		{"unknown-class.bad.yaml", `max_in_flight: unknown class "radiology"`},
		{"half-tls.bad.yaml", "tls_cert and tls_key go together"},
		{"auth-mode.bad.yaml", `auth "on"`},
		{"bad-origin.bad.yaml", `"clinic.example" is not an origin`},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "config", c.file)
			cfg := DefaultConfig()
			err := cfg.LoadFile(path)
			if err == nil {
				err = cfg.Validate()
			} else if !strings.Contains(err.Error(), path) {
				t.Errorf("%v does not name the file", err)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	for k, v := range map[string]string{
		"FENZHEN_AUTH":           "required",
		"FENZHEN_KEYS_FILE":      "/run/keys.json",
		"FENZHEN_KEY_RATE":       "2.5",
		"FENZHEN_IP_RATE":        "100",
		"FENZHEN_TRUST_PROXY":    "true",
		"FENZHEN_MAX_IN_FLIGHT":  "imaging=2, inference=0",
		"FENZHEN_CLASS_TIMEOUTS": "triage=3s",
		"FENZHEN_CORS_ORIGINS":   "https://a.example, https://b.example",
		"FENZHEN_MAX_JSON_DEPTH": "16",
		"FENZHEN_ADMISSION_WAIT": "5ms",
		"FENZHEN_TLS_CERT":       "c.pem",
		"FENZHEN_TLS_KEY":        "k.pem",
	} {
		t.Setenv(k, v)
	}
	cfg := DefaultConfig()
	if err := cfg.FromEnv(); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Auth, want.KeysFile, want.KeyRate, want.IPRate, want.TrustProxy = AuthRequired, "/run/keys.json", 2.5, 100, true
	want.MaxInFlight["imaging"], want.MaxInFlight["inference"] = 2, 0
	want.ClassTimeouts["triage"] = 3 * time.Second
	want.CORSOrigins = []string{"https://a.example", "https://b.example"}
	want.MaxJSONDepth, want.AdmissionWait, want.TLSCert, want.TLSKey = 16, 5*time.Millisecond, "c.pem", "k.pem"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}

	for k, v := range map[string]string{
		"FENZHEN_KEY_RATE":       "-1",
		"FENZHEN_MAX_IN_FLIGHT":  "gpu=2",
		"FENZHEN_CLASS_TIMEOUTS": "imaging=soon",
		"FENZHEN_TRUST_PROXY":    "yes please",
		"FENZHEN_MAX_JSON_DEPTH": "0",
	} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			cfg := DefaultConfig()
			if err := cfg.FromEnv(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: %v", k, v, err)
			}
		})
	}
}

// With auth off the server listens on loopback unless told otherwise; an
// address beyond loopback is what `fenzhen serve` warns about.
func TestListenAddress(t *testing.T) {
	if got := DefaultListenAddr(AuthOff); got != "127.0.0.1:8080" {
		t.Errorf("auth off: %s", got)
	}
	if got := DefaultListenAddr(AuthRequired); got != ":8080" {
		t.Errorf("auth required: %s", got)
	}
	if def := DefaultConfig(); def.Addr != "" {
		t.Errorf("the default address is %q, want unset (DefaultListenAddr decides)", def.Addr)
	}
	for addr, exposed := range map[string]bool{
		"127.0.0.1:8080": false, "localhost:8080": false, "[::1]:8080": false, "127.0.0.2:80": false,
		":8080": true, "0.0.0.0:8080": true, "[::]:8080": true, "192.0.2.7:8080": true, "fenzhen.local:8080": true, "8080": true,
	} {
		if got := Exposed(addr); got != exposed {
			t.Errorf("Exposed(%q) = %v", addr, got)
		}
	}
	cfg := DefaultConfig()
	cfg.Addr = "8080"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `addr "8080": want host:port`) {
		t.Errorf("addr 8080: %v", err)
	}
}
