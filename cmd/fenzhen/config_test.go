package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/api"
)

func TestConfigFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--config", "a.yaml"}, "a.yaml"},
		{[]string{"-config=b.yaml", "--addr", ":1"}, "b.yaml"},
		{[]string{"--addr", ":1", "--config=c.yaml"}, "c.yaml"},
		{[]string{"--", "--config", "d.yaml"}, ""},
		{[]string{"--configure", "x"}, ""},
	} {
		if got := configFlag(c.args); got != c.want {
			t.Errorf("%q: %q, want %q", c.args, got, c.want)
		}
	}
}

// Precedence: flags > FENZHEN_* variables > the --config file > defaults.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fenzhen.yaml")
	os.WriteFile(file, []byte("addr: ':7000'\nauth: required\nkeys_file: /file/keys.json\nip_rate: 5\nmax_in_flight: {imaging: 3}\nrequest_timeout: 3s\n"), 0o600)
	t.Setenv("FENZHEN_KEYS_FILE", "/env/keys.json")
	t.Setenv("FENZHEN_IP_RATE", "7")
	t.Setenv("FENZHEN_CONFIG", "")

	parse := func(args ...string) (string, string, float64, int, int, time.Duration) {
		t.Helper()
		cfg, err := baseConfig(args)
		if err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "")
		fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "")
		securityFlags(fs, &cfg)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		return cfg.Addr, cfg.KeysFile, cfg.IPRate, cfg.MaxInFlight["imaging"], cfg.MaxInFlight["triage"], cfg.RequestTimeout
	}
	addr, keys, ipRate, imaging, triage, timeout := parse("--config", file)
	if addr != ":7000" || keys != "/env/keys.json" || ipRate != 7 || imaging != 3 || triage != api.DefaultConfig().MaxInFlight["triage"] || timeout != 3*time.Second {
		t.Errorf("file < env: %s %s %v %d %d %v", addr, keys, ipRate, imaging, triage, timeout)
	}
	addr, keys, ipRate, imaging, triage, _ = parse("--config", file, "--keys-file", "/flag/keys.json", "--ip-rate", "9", "--max-in-flight", "triage=2", "--addr", ":7001")
	if addr != ":7001" || keys != "/flag/keys.json" || ipRate != 9 || imaging != 3 || triage != 2 {
		t.Errorf("env < flags: %s %s %v %d %d", addr, keys, ipRate, imaging, triage)
	}
	// FENZHEN_CONFIG names the file when --config does not.
	t.Setenv("FENZHEN_CONFIG", file)
	if addr, _, _, _, _, _ := parse(); addr != ":7000" {
		t.Errorf("FENZHEN_CONFIG: %s", addr)
	}
	// A bad file stops start-up with its name and the key.
	os.WriteFile(file, []byte("adress: ':7000'\n"), 0o600)
	if _, err := baseConfig(nil); err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), `unknown key "adress"`) {
		t.Errorf("bad file: %v", err)
	}
}

// Required auth without a usable key file stops `fenzhen serve` before it
// loads anything; a bad setting stops it too.
func TestServeRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--auth", "required", "--keys-file", filepath.Join(dir, "keys.json")}, "does not exist; create a key with `fenzhen keys create"},
		{[]string{"--auth", "yes"}, `auth "yes"`},
		{[]string{"--tls-cert", "c.pem"}, "tls_cert and tls_key go together"},
		{[]string{"--max-in-flight", "gpu=1"}, `"gpu=1"`},
		{[]string{"--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
	} {
		err := runServe(append(c.args, "--addr", "127.0.0.1:0", "--ort-lib", "/nonexistent/libonnxruntime.so"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
