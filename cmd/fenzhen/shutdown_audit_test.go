package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/audit"
)

// `fenzhen serve` with the audit log on: a request answered before SIGTERM
// is in the database once serve has returned. (This file sorts after
// serve_test.go, whose missing-runtime cases must run before a runtime loads.)
func TestServeAuditsUntilSIGTERM(t *testing.T) {
	db := filepath.Join(t.TempDir(), "audit.db")
	t.Setenv("FENZHEN_AUDIT_PATH", db)
	base, done := startServe(t, "/readyz", 30*time.Second)
	req, _ := http.NewRequest("POST", base+"/v1/triage", bytes.NewReader([]byte(`{"text":"胸口疼，喘不上气"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", "serve-audit-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("triage: %d", resp.StatusCode)
	}
	stopServe(t, done)
	st, err := audit.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []audit.Entry
	st.Query(context.Background(), time.Time{}, time.Time{}, func(e audit.Entry) error { got = append(got, e); return nil })
	if len(got) != 1 || got[0].RequestID != "serve-audit-1" || got[0].Status != 200 || got[0].Urgency == "" || len(got[0].Models) == 0 {
		t.Fatalf("audit log after SIGTERM: %+v", got)
	}
}
