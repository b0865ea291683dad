package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/audit"
)

// `fenzhen serve` with the audit log on: a request answered before SIGTERM
// is in the database once serve has returned. (This file sorts after
// serve_test.go, whose missing-runtime cases must run before a runtime loads.)
func TestServeAuditsUntilSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	db := filepath.Join(t.TempDir(), "audit.db")
	t.Setenv("FENZHEN_ADDR", addr)
	t.Setenv("FENZHEN_LOG_LEVEL", "error")
	t.Setenv("FENZHEN_AUDIT_PATH", db)
	done := make(chan error, 1)
	go func() { done <- runServe([]string{"--models", "../../models"}) }()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
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
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
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
