package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func TestNewKey(t *testing.T) {
	secret, k, err := NewKey("clinic-a", []string{"triage", "knowledge", "triage"}, 5, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "fz_"+k.ID+"_") || len(secret) != 3+10+1+52 {
		t.Errorf("key %q (id %q) is not fz_<id>_<secret>", secret, k.ID)
	}
	if strings.Contains(k.Hash, secret) || k.Hash != hashKey(secret) {
		t.Error("record must hold the hash, not the key")
	}
	if got := strings.Join(k.Scopes, ","); got != "knowledge,triage" {
		t.Errorf("scopes %q", got)
	}
	secret2, _, _ := NewKey("clinic-a", []string{"triage"}, 0, 0, now)
	if secret2 == secret {
		t.Error("two keys are equal")
	}
	for _, c := range []struct {
		tenant string
		scopes []string
		rate   float64
		want   string
	}{
		{"", []string{"triage"}, 0, "tenant name"},
		{"clinic a", []string{"triage"}, 0, "tenant name"},
		{"a", nil, 0, "at least one scope"},
		{"a", []string{"admin"}, 0, `unknown scope "admin"`},
		{"a", []string{"triage"}, -1, "negative"},
	} {
		if _, _, err := NewKey(c.tenant, c.scopes, c.rate, 0, now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewKey(%q, %v): %v, want %q", c.tenant, c.scopes, err, c.want)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	f := &File{}
	good, kg, _ := f.Add("clinic-a", []string{"triage"}, 0, 0, now)
	gone, kr, _ := f.Add("clinic-b", []string{"*"}, 0, 0, now)
	if _, err := f.Revoke(kr.ID, now); err != nil {
		t.Fatal(err)
	}
	ring := f.Keyring()
	if ring.Len() != 2 || ring.Active() != 1 {
		t.Errorf("len %d active %d", ring.Len(), ring.Active())
	}
	k, err := ring.Authenticate(good)
	if err != nil || k.ID != kg.ID || k.Tenant != "clinic-a" {
		t.Fatalf("good key: %v %+v", err, k)
	}
	if !k.Allows(ScopeTriage) || k.Allows(ScopeImaging) || k.Allows(ScopeAll) {
		t.Error("a triage key allows only triage")
	}
	if k, err := ring.Authenticate(gone); !errors.Is(err, ErrRevoked) || k.Tenant != "clinic-b" {
		t.Errorf("revoked key: %v", err)
	}
	last := "a"
	if strings.HasSuffix(good, "a") {
		last = "b"
	}
	tampered := good[:len(good)-1] + last
	for _, s := range []string{"", "fz_", "fz__x", "Bearer " + good, good + "x", tampered, strings.ToUpper(good), "fz_" + kg.ID + "_"} {
		if s == good {
			continue
		}
		if _, err := ring.Authenticate(s); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnknownKey", s, err)
		}
	}
	star := Key{Scopes: []string{"*"}}
	if !star.Allows(ScopeImaging) || !star.Allows(ScopeAll) {
		t.Error("* allows everything")
	}
}

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "keys.json")
	f, err := LoadOrEmpty(path)
	if err != nil || len(f.Keys) != 0 {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Load(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
	secret, k, err := f.Add("clinic-a", []string{"imaging"}, 50, 100, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := CheckMode(path); err != nil {
		t.Error(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), secret[len(secret)-20:]) {
		t.Fatal("the key file holds the secret")
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Keys) != 1 || back.Keys[0].ID != k.ID || back.Keys[0].Rate != 50 || back.Keys[0].Burst != 100 || !back.Keys[0].Created.Equal(now) {
		t.Errorf("round trip: %+v", back.Keys)
	}
	if _, err := back.Keyring().Authenticate(secret); err != nil {
		t.Error(err)
	}
	if _, err := back.Revoke("nope", now); err == nil {
		t.Error("revoking an unknown id")
	}
	first, _ := back.Revoke(k.ID, now)
	again, _ := back.Revoke(k.ID, now.Add(time.Hour))
	if !first.Revoked.Equal(*again.Revoked) {
		t.Error("a second revoke moved the time")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}

	os.Chmod(path, 0o644)
	if err := CheckMode(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable file: %v", err)
	}
}

func TestLoadBad(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"bad-version.json", "version 2"},
		{"unknown-field.json", `unknown field "secret"`},
		{"duplicate-id.json", `duplicate id "aaaa"`},
		{"short-hash.json", "64-digit sha256"},
		{"not-json.json", "invalid character"},
	} {
		_, err := Load(filepath.Join("testdata", c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: %v, want %q", c.file, err, c.want)
		}
	}
}
