package main

import (
	"flag"
	"os"
	"strings"

	"github.com/fenzhen/fenzhen/api"
)

// baseConfig is what the flags of `fenzhen serve` start from: the defaults,
// then the YAML file of --config or FENZHEN_CONFIG, then the FENZHEN_*
// variables. Flags bound to it and parsed afterwards win over all three.
func baseConfig(args []string) (api.Config, error) {
	cfg := api.DefaultConfig()
	if path := configPath(args); path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.FromEnv()
}

// configPath is the YAML file of --config, else of FENZHEN_CONFIG, or "".
func configPath(args []string) string {
	if path := configFlag(args); path != "" {
		return path
	}
	return os.Getenv("FENZHEN_CONFIG")
}

// configFlag finds --config in args before the flags are parsed, since the
// file it names sets the values the other flags override.
func configFlag(args []string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// securityFlags adds the flags of authentication, admission, CORS and TLS,
// and --config (read by baseConfig), to fs.
func securityFlags(fs *flag.FlagSet, cfg *api.Config) {
	fs.String("config", os.Getenv("FENZHEN_CONFIG"), "YAML config file (see deploy/fenzhen.example.yaml); variables and flags win over it")
	fs.StringVar(&cfg.Auth, "auth", cfg.Auth, "off (development, no keys) or required (API keys from --keys-file)")
	fs.StringVar(&cfg.KeysFile, "keys-file", cfg.KeysFile, "API key file written by 'fenzhen keys'; re-read on SIGHUP")
	fs.Var(api.RateFlag(&cfg.KeyRate), "key-rate", "requests/s of a key created without --rate; 0 is unlimited")
	fs.Var(api.CountFlag(&cfg.KeyBurst), "key-burst", "bucket size of --key-rate; 0 is twice the rate")
	fs.Var(api.RateFlag(&cfg.IPRate), "ip-rate", "requests/s per client IP while auth is off; 0 is no limit")
	fs.Var(api.CountFlag(&cfg.IPBurst), "ip-burst", "bucket size of --ip-rate; 0 is twice the rate")
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", cfg.TrustProxy, "take the client IP from X-Forwarded-For (behind your own proxy only)")
	fs.Var(api.ClassIntsFlag(&cfg.MaxInFlight), "max-in-flight", "concurrent requests per class, e.g. imaging=8,triage=64; 0 is unbounded")
	fs.Var(api.PositiveDurationFlag(&cfg.AdmissionWait), "admission-wait", "wait for an in-flight slot before 503")
	fs.Var(api.ClassDurationsFlag(&cfg.ClassTimeouts), "class-timeouts", "per-class deadlines overriding --request-timeout, e.g. imaging=20s")
	fs.IntVar(&cfg.MaxJSONDepth, "max-json-depth", cfg.MaxJSONDepth, "deepest nesting of a JSON body")
	fs.IntVar(&cfg.MaxUploadParts, "max-upload-parts", cfg.MaxUploadParts, "most multipart parts in an imaging upload")
	fs.Var(api.ListFlag(&cfg.CORSOrigins), "cors-origins", "comma-separated origins allowed cross-origin calls (default none)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "PEM certificate; with --tls-key serves HTTPS (re-read on SIGHUP)")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "PEM private key of --tls-cert")
}
