package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/auth"
)

func keysRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = keysMain(args, &o, &e)
	return o.String(), e.String(), err
}

func TestKeysRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "keys.json")
	secret, msg, err := keysRun(t, "create", "--keys-file", path, "--tenant", "clinic-a", "--scopes", "triage,knowledge", "--rate", "50")
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, "fz_") || strings.Contains(secret, "\n") || !strings.Contains(msg, "only time") {
		t.Fatalf("create printed %q / %q", secret, msg)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	f, err := auth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.Keyring().Authenticate(secret)
	if err != nil || k.Tenant != "clinic-a" || k.Rate != 50 || !k.Allows("triage") || k.Allows("imaging") {
		t.Fatalf("stored key: %v %+v", err, k)
	}
	// A second key, flags after the subcommand in any order.
	if _, _, err := keysRun(t, "create", "--scopes", "*", "--tenant", "ops", "--keys-file", path); err != nil {
		t.Fatal(err)
	}

	list, _, err := keysRun(t, "list", "--keys-file", path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(list, secret[len(secret)-20:]) {
		t.Fatal("list shows the secret")
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], k.ID) || !strings.Contains(lines[1], "knowledge,triage") ||
		!strings.Contains(lines[1], "50/s") || !strings.Contains(lines[2], "server default") || !strings.HasSuffix(lines[1], "-") {
		t.Fatalf("list:\n%s", list)
	}

	// The id may come before or after the flags.
	_, msg, err = keysRun(t, "revoke", k.ID, "--keys-file", path)
	if err != nil || !strings.Contains(msg, "SIGHUP") {
		t.Fatalf("revoke: %v %q", err, msg)
	}
	f, _ = auth.Load(path)
	if _, err := f.Keyring().Authenticate(secret); err != auth.ErrRevoked {
		t.Errorf("after revoke: %v", err)
	}
	list, _, _ = keysRun(t, "list", "--keys-file", path)
	if l := strings.Split(list, "\n")[1]; strings.HasSuffix(strings.TrimSpace(l), "-") {
		t.Errorf("list does not show the revocation: %q", l)
	}

	// FENZHEN_KEYS_FILE names the file when the flag does not.
	t.Setenv("FENZHEN_KEYS_FILE", path)
	if list, _, err := keysRun(t, "list"); err != nil || !strings.Contains(list, "ops") {
		t.Errorf("list via FENZHEN_KEYS_FILE: %v\n%s", err, list)
	}
}

func TestKeysErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "subcommand is required"},
		{[]string{"rotate"}, `unknown subcommand "rotate"`},
		{[]string{"create", "--keys-file", path, "--tenant", "a"}, "at least one scope"},
		{[]string{"create", "--keys-file", path, "--tenant", "a", "--scopes", "admin"}, `unknown scope "admin"`},
		{[]string{"create", "--keys-file", path, "--scopes", "triage"}, "tenant name"},
		{[]string{"create", "--keys-file", path, "--tenant", "a", "--scopes", "triage", "--rate", "-2"}, "invalid value"},
		{[]string{"list", "--keys-file", path}, "no such file"},
		{[]string{"revoke", "--keys-file", path}, "want 1 argument"},
		{[]string{"revoke", "x", "y", "--keys-file", path}, "want 1 argument"},
	} {
		_, _, err := keysRun(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("keys %v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, _, err := keysRun(t, "create", "--keys-file", path, "--tenant", "a", "--scopes", "triage"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keysRun(t, "revoke", "nope", "--keys-file", path); err == nil || !strings.Contains(err.Error(), `no key with id "nope"`) {
		t.Errorf("revoke unknown: %v", err)
	}
	if _, _, err := keysRun(t, "--help"); err != flag.ErrHelp {
		t.Errorf("--help: %v", err)
	}
}
