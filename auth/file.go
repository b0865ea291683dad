package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File is the key file on disk: JSON, mode 0600, written atomically.
type File struct {
	Version int   `json:"version"`
	Keys    []Key `json:"keys"`
}

const fileVersion = 1

// Load reads a key file. A missing file is an error wrapping fs.ErrNotExist.
func Load(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("key file %s: version %d, want %d", path, f.Version, fileVersion)
	}
	seen := map[string]bool{}
	for i, k := range f.Keys {
		switch {
		case k.ID == "" || k.Tenant == "" || len(k.Hash) != 64:
			return nil, fmt.Errorf("key file %s: keys[%d]: id, tenant and a 64-digit sha256 are required", path, i)
		case seen[k.ID]:
			return nil, fmt.Errorf("key file %s: keys[%d]: duplicate id %q", path, i, k.ID)
		}
		seen[k.ID] = true
	}
	return &f, nil
}

// LoadOrEmpty is Load, with a missing file read as one without keys.
func LoadOrEmpty(path string) (*File, error) {
	f, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Version: fileVersion}, nil
	}
	return f, err
}

// Save writes f to path through a temporary file and a rename, so a server
// reloading on SIGHUP never reads half a file. The file is private (0600).
func (f *File) Save(path string) error {
	f.Version = fileVersion
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode key file: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("key file directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".keys-*.json")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

// Add creates a key, appends it and returns the secret (to be shown once).
func (f *File) Add(tenant string, scopes []string, rate float64, burst int, now time.Time) (string, Key, error) {
	secret, k, err := NewKey(tenant, scopes, rate, burst, now)
	if err != nil {
		return "", Key{}, err
	}
	f.Keys = append(f.Keys, k)
	return secret, k, nil
}

// Revoke marks key id revoked at now. Revoking a revoked key keeps its first time.
func (f *File) Revoke(id string, now time.Time) (Key, error) {
	for i := range f.Keys {
		if f.Keys[i].ID == id {
			if f.Keys[i].Revoked == nil {
				t := now.UTC().Truncate(time.Second)
				f.Keys[i].Revoked = &t
			}
			return f.Keys[i], nil
		}
	}
	return Key{}, fmt.Errorf("no key with id %q", id)
}

// Keyring indexes the file's keys for lookups.
func (f *File) Keyring() *Keyring { return NewKeyring(f.Keys) }

// CheckMode reports a key file that others than its owner can read.
func CheckMode(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("key file %s has mode %v; want 0600 (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	return nil
}
