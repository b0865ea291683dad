package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/auth"
)

func init() {
	register(command{name: "keys", summary: "create, list and revoke API keys (keys create|list|revoke)", run: func(args []string) error {
		return keysMain(args, os.Stdout, os.Stderr)
	}})
}

const keysUsage = `Usage: fenzhen keys <create|list|revoke> [flags]

Manages the API keys of --keys-file (FENZHEN_KEYS_FILE, or keys_file in the
--config file; default var/keys.json beside the models/ that 'fenzhen serve' uses). The file holds SHA-256 hashes only: a
key is shown once, when it is created. A running server picks up changes on
SIGHUP (kill -HUP <pid>).

Examples:
  fenzhen keys create --tenant clinic-a --scopes triage,knowledge --rate 50
  fenzhen keys list
  fenzhen keys revoke k3zq7c2mxa

Scopes: ` + "triage, imaging, knowledge, inference, * (all routes)" + "\n"

// keysMain runs `fenzhen keys`; the secret of a new key is the only thing
// written to stdout, so `KEY=$(fenzhen keys create …)` works.
func keysMain(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("a subcommand is required: create, list or revoke")
	}
	if isHelp(args[0]) {
		return printHelp(stdout, keysUsage)
	}
	sub, args := args[0], args[1:]
	cfg, err := baseConfig(args)
	if err != nil {
		return err
	}
	fs := newFlagSet("keys "+sub, "", "")
	fs.SetOutput(stdout) // --help
	fs.String("config", "", "YAML config file whose keys_file to use")
	if cfg.KeysFile == api.DefaultConfig().KeysFile {
		cfg.KeysFile = defaultVarFile("keys.json") // where 'fenzhen serve' looks for it
	}
	path := fs.String("keys-file", cfg.KeysFile, "API key file")
	now := time.Now()
	switch sub {
	case "create":
		fs.Usage = usageOf(fs, "Creates a key for a tenant and prints it once.", "  fenzhen keys create --tenant clinic-a --scopes triage,knowledge --rate 50")
		tenant := fs.String("tenant", "", "tenant (client organisation) the key belongs to (required)")
		scopes := fs.String("scopes", "", "comma-separated scopes: triage, imaging, knowledge, inference or * (required)")
		var rate float64
		var burst int
		fs.Var(api.RateFlag(&rate), "rate", "requests/s for this key; 0 takes the server's --key-rate")
		fs.Var(api.CountFlag(&burst), "burst", "bucket size; 0 is twice the rate")
		if err := parseAll(fs, args, 0); err != nil {
			return err
		}
		f, err := auth.LoadOrEmpty(*path)
		if err != nil {
			return err
		}
		secret, k, err := f.Add(*tenant, splitList(*scopes), rate, burst, now)
		if err != nil {
			return err
		}
		if err := f.Save(*path); err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "created key %s for tenant %s (scopes %s, rate %s) in %s.\nThis is the only time the key is shown: store it now. Send SIGHUP to a running server to load it.\n",
			k.ID, k.Tenant, strings.Join(k.Scopes, ","), rateText(&k), *path)
		return nil

	case "list":
		fs.Usage = usageOf(fs, "Lists keys (ids, tenants, scopes; never secrets).", "  fenzhen keys list --keys-file /etc/fenzhen/keys.json")
		if err := parseAll(fs, args, 0); err != nil {
			return err
		}
		f, err := auth.Load(*path)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tSCOPES\tRATE\tCREATED\tREVOKED")
		for _, k := range f.Keys {
			revoked := "-"
			if k.Revoked != nil {
				revoked = k.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Tenant, strings.Join(k.Scopes, ","), rateText(&k), k.Created.Format(time.RFC3339), revoked)
		}
		return tw.Flush()

	case "revoke":
		fs.Usage = usageOf(fs, "Revokes a key by id; the server refuses it (403) after SIGHUP.", "  fenzhen keys revoke k3zq7c2mxa")
		if err := parseAll(fs, args, 1); err != nil {
			return err
		}
		f, err := auth.Load(*path)
		if err != nil {
			return err
		}
		k, err := f.Revoke(fs.Arg(0), now)
		if err != nil {
			return fmt.Errorf("%w in %s", err, *path)
		}
		if err := f.Save(*path); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "revoked key %s of tenant %s at %s. Send SIGHUP to a running server to apply it.\n", k.ID, k.Tenant, k.Revoked.Format(time.RFC3339))
		return nil
	}
	return subcommandErr("keys", sub, "create", "list", "revoke")
}

// parseAll parses flags placed before or after the positional arguments,
// of which there must be exactly want.
func parseAll(fs *flag.FlagSet, args []string, want int) error {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != want {
		if want == 0 {
			return fmt.Errorf("unexpected arguments %q", pos)
		}
		return fmt.Errorf("want %d argument(s), got %q", want, pos)
	}
	fs.Parse(pos) // leaves the positional arguments in fs.Args
	return nil
}

func usageOf(fs *flag.FlagSet, summary, example string) func() {
	return func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s [flags]\n\n%s\n\nExample:\n%s\n\nFlags:\n", fs.Name(), summary, example)
		fs.PrintDefaults()
	}
}

func rateText(k *auth.Key) string {
	if k.Rate == 0 {
		return "server default"
	}
	s := strconv.FormatFloat(k.Rate, 'g', -1, 64) + "/s"
	if k.Burst > 0 {
		s += " burst " + strconv.Itoa(k.Burst)
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
