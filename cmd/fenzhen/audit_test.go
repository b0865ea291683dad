package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/audit"
)

func seedAudit(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var es []audit.Entry
	for _, e := range []struct {
		id string
		at time.Time
	}{
		{"oct", time.Date(2025, 10, 31, 23, 59, 0, 0, time.UTC)},
		{"nov1", time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"nov23", time.Date(2025, 11, 23, 23, 0, 0, 0, time.UTC)},
		{"nov24", time.Date(2025, 11, 24, 0, 0, 0, 0, time.UTC)},
		{"recent", time.Now().Add(-time.Hour)},
	} {
		es = append(es, audit.Entry{Time: e.at, RequestID: e.id, Route: "/v1/triage", Method: "POST", Status: 200,
			Summary: audit.Summary{Urgency: "routine", Models: []audit.Model{{Name: "triage-department", Version: "1"}}}})
	}
	if err := st.Insert(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuditExportCommand(t *testing.T) {
	db := seedAudit(t)
	out := filepath.Join(t.TempDir(), "nov.jsonl")
	if err := runAuditExport([]string{"--db", db, "--from", "2025-11-01", "--to", "2025-11-23", "--out", out}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"request_id":"nov1"`) || !strings.Contains(lines[1], `"request_id":"nov23"`) {
		t.Fatalf("export:\n%s", raw)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v, want 0600", fi.Mode())
	}
	var stdout bytes.Buffer // no --to: up to now; no --out: stdout
	if err := runAuditExport([]string{"--db", db, "--from", "2025-11-24"}, &stdout); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 || !strings.Contains(stdout.String(), `"recent"`) {
		t.Errorf("open-ended export:\n%s", stdout.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", db}, "--from is required"},
		{[]string{"--db", db, "--from", "2026/11/01"}, "--from"},
		{[]string{"--db", db, "--from", "2026-11-02", "--to", "2026-11-01"}, "not after"},
		{[]string{"--db", filepath.Join(t.TempDir(), "typo.db"), "--from", "2026-11-01"}, "no audit database"},
		{[]string{"--db", "off", "--from", "2026-11-01"}, "audit log is off"},
	} {
		if err := runAuditExport(c.args, &stdout); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}

func TestAuditPruneCommand(t *testing.T) {
	db := seedAudit(t)
	var stdout bytes.Buffer
	if err := runAuditPrune([]string{"--db", db, "--days", "1"}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "deleted 4 entries") {
		t.Errorf("prune said %q", stdout.String())
	}
	if err := runAuditPrune([]string{"--db", db}, &stdout); err == nil {
		t.Error("prune without --days ran")
	}
	st, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, _ := st.Count(context.Background()); n != 1 {
		t.Errorf("%d entries left, want 1", n)
	}
}
