package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/audit"
)

func init() {
	register(command{name: "audit", summary: "export or prune the audit log of answered requests", run: runAudit})
}

func runAudit(args []string) error {
	const help = "Usage: fenzhen audit <export|prune> [flags]\n\n" +
		"  export  write the entries of a date range as JSON Lines\n" +
		"  prune   delete entries older than --days\n\n" +
		"Run 'fenzhen audit <subcommand> --help' for flags and examples.\n"
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, help)
		return errors.New("missing subcommand")
	}
	if isHelp(args[0]) {
		return printHelp(os.Stdout, help)
	}
	switch args[0] {
	case "export":
		return runAuditExport(args[1:], os.Stdout)
	case "prune":
		return runAuditPrune(args[1:], os.Stdout)
	}
	return subcommandErr("audit", args[0], "export", "prune")
}

// defaultAuditPath is where 'fenzhen serve' writes: FENZHEN_AUDIT_PATH, or
// var/audit.db in the home (see paths.go).
func defaultAuditPath() string {
	if p := os.Getenv("FENZHEN_AUDIT_PATH"); p != "" {
		return p
	}
	return defaultVarFile(filepath.Base(api.DefaultConfig().AuditPath))
}

// openExisting opens the audit database without creating one where a typo
// in --db would otherwise export nothing, successfully.
func openExisting(path string) (*audit.Store, error) {
	if path == "off" {
		return nil, errors.New("the audit log is off (FENZHEN_AUDIT_PATH=off); name a database with --db")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no audit database at %s (set --db or FENZHEN_AUDIT_PATH)", path)
	}
	return audit.Open(path)
}

func runAuditExport(args []string, stdout io.Writer) error {
	fs := newFlagSet("audit export", "Writes the audit entries with --from <= time < --to as JSON Lines, oldest first.\n"+
		"A date (2026-11-23) means midnight UTC; a --to date includes that whole day.\n"+
		"Text appears only if the server ran with FENZHEN_AUDIT_STORE_TEXT=true, and then redacted.",
		"  fenzhen audit export --from 2026-11-01 --to 2026-11-23                   # to stdout\n"+
			"  fenzhen audit export --db /srv/fenzhen/audit.db --from 2026-11-01 --to 2026-11-23 --out nov.jsonl\n"+
			"  fenzhen audit export --from 2026-11-23T08:00:00+08:00 --to 2026-11-23T12:00:00+08:00 | jq -r .route")
	db := fs.String("db", defaultAuditPath(), "audit database")
	from := fs.String("from", "", "first day or time (required)")
	to := fs.String("to", "", "last day, or end time (default: now)")
	out := fs.String("out", "", "output file (default: stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *from == "" {
		return errors.New("--from is required, e.g. --from 2026-11-01")
	}
	lo, _, err := audit.ParseDay(*from)
	if err != nil {
		return fmt.Errorf("--from %w", err)
	}
	hi := time.Now().Add(time.Second)
	if *to != "" {
		t, day, err := audit.ParseDay(*to)
		if err != nil {
			return fmt.Errorf("--to %w", err)
		}
		if hi = t; day {
			hi = t.AddDate(0, 0, 1)
		}
	}
	if !hi.After(lo) {
		return fmt.Errorf("--to %s is not after --from %s", *to, *from)
	}
	st, err := openExisting(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	w := stdout
	var f *os.File
	if *out != "" {
		// The export holds health data: private to its owner, like the database.
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		w = f
	}
	n, err := audit.Export(context.Background(), st, lo, hi, w)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "exported %d entries from %s to %s\n", n, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
	return nil
}

func runAuditPrune(args []string, stdout io.Writer) error {
	fs := newFlagSet("audit prune", "Deletes audit entries older than --days days. The server also does this at start and\n"+
		"daily with FENZHEN_AUDIT_RETENTION_DAYS; prune is for a stricter, one-off cut.",
		"  fenzhen audit prune --days 90\n"+
			"  fenzhen audit prune --db /srv/fenzhen/audit.db --days 30")
	db := fs.String("db", defaultAuditPath(), "audit database")
	days := fs.Int("days", 0, "keep this many days (required, at least 1)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *days < 1 {
		return errors.New("--days must be at least 1")
	}
	st, err := openExisting(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	cut := time.Now().AddDate(0, 0, -*days)
	n, err := st.Prune(context.Background(), cut)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %d entries older than %s\n", n, cut.UTC().Format(time.RFC3339))
	return nil
}

// openAudit starts the audit log of `fenzhen serve`: the store, its writer
// (metrics on reg) and daily retention. closeAudit, called after the server
// has shut down, commits every queued entry before closing the database.
// With AuditPath "off" both are no-ops and the writer is nil.
func openAudit(cfg api.Config, reg prometheus.Registerer, log *slog.Logger) (*audit.Writer, func(), error) {
	if cfg.AuditPath == "off" || cfg.AuditPath == "" {
		log.Warn("audit log is off")
		return nil, func() {}, nil
	}
	st, err := audit.Open(cfg.AuditPath)
	if err != nil {
		return nil, nil, err
	}
	w := audit.NewWriter(st, audit.WriterOptions{Registerer: reg, Logger: log})
	stopRetention := audit.StartRetention(st, cfg.AuditRetentionDays, 24*time.Hour, log)
	log.Info("audit log", "path", cfg.AuditPath, "retention_days", cfg.AuditRetentionDays, "store_text", cfg.AuditStoreText)
	return w, func() {
		if err := w.Close(); err != nil {
			log.Error("audit log flush", "err", err)
		}
		stopRetention()
		if err := st.Close(); err != nil {
			log.Error("audit log close", "err", err)
		}
	}, nil
}
