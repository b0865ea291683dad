// Package auth holds Fenzhen's API keys: per-tenant secrets that are stored
// only as SHA-256 hashes in a JSON key file, each with the scopes (route
// classes) it may call and an optional rate limit.
//
// A key reads fz_<id>_<secret>: the id is not secret and names the key in
// listings and logs; the whole string is what is hashed.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scopes a key can hold; each names a class of routes.
const (
	ScopeTriage    = "triage"    // /v1/triage, /v1/record, /v1/medication/check
	ScopeImaging   = "imaging"   // /v1/imaging/*, /v1/dermatology
	ScopeKnowledge = "knowledge" // /v1/knowledge/*, /v1/departments
	ScopeInference = "inference" // /v2 (KServe)
	ScopeAll       = "*"         // every route, including admin ones
)

// Scopes lists the scopes a key may be created with.
var Scopes = []string{ScopeTriage, ScopeImaging, ScopeKnowledge, ScopeInference, ScopeAll}

// Errors of Authenticate.
var (
	ErrUnknownKey = errors.New("unknown API key")
	ErrRevoked    = errors.New("API key has been revoked")
)

const keyPrefix = "fz_"

// lower-case base32 without padding: safe in headers, shells and URLs.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Key is one stored key. The secret itself is never stored.
type Key struct {
	ID      string     `json:"id"`
	Tenant  string     `json:"tenant"`
	Hash    string     `json:"sha256"` // hex SHA-256 of the whole key string
	Scopes  []string   `json:"scopes"`
	Rate    float64    `json:"rate,omitempty"`  // requests per second; 0 takes the server default
	Burst   int        `json:"burst,omitempty"` // bucket size; 0 takes twice the rate
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Allows reports whether the key may call routes of scope.
func (k *Key) Allows(scope string) bool {
	return slices.Contains(k.Scopes, ScopeAll) || (scope != ScopeAll && slices.Contains(k.Scopes, scope))
}

// NewKey makes a key for tenant with the given scopes and returns the secret
// key string, which is shown once and cannot be recovered from the record.
func NewKey(tenant string, scopes []string, rate float64, burst int, now time.Time) (secret string, k Key, err error) {
	if err := validTenant(tenant); err != nil {
		return "", Key{}, err
	}
	if len(scopes) == 0 {
		return "", Key{}, fmt.Errorf("at least one scope is required (one of %s)", strings.Join(Scopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return "", Key{}, fmt.Errorf("unknown scope %q (want %s)", s, strings.Join(Scopes, ", "))
		}
	}
	if rate < 0 || burst < 0 {
		return "", Key{}, fmt.Errorf("rate and burst must not be negative")
	}
	var id [6]byte
	var sec [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Key{}, fmt.Errorf("random key id: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", Key{}, fmt.Errorf("random key: %w", err)
	}
	k = Key{ID: b32.EncodeToString(id[:]), Tenant: tenant, Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))), Rate: rate, Burst: burst, Created: now.UTC().Truncate(time.Second)}
	secret = keyPrefix + k.ID + "_" + b32.EncodeToString(sec[:])
	k.Hash = hashKey(secret)
	return secret, k, nil
}

func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// keyID returns the id embedded in a key string, or "" when it is not shaped like a key.
func keyID(secret string) string {
	rest, ok := strings.CutPrefix(secret, keyPrefix)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok || id == "" {
		return ""
	}
	return id
}

func validTenant(t string) error {
	if t == "" || len(t) > 64 {
		return fmt.Errorf("tenant name %q: want 1 to 64 characters", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("tenant name %q: use letters, digits, '-', '_' and '.'", t)
		}
	}
	return nil
}

// Keyring is an immutable view of a key file for request-time lookups; a
// reload builds a new one.
type Keyring struct {
	byID map[string]entry
}

type entry struct {
	key   *Key
	sum   [sha256.Size]byte // Key.Hash decoded once, not per request
	valid bool              // Key.Hash is 64 hex digits
}

// NewKeyring indexes keys by id.
func NewKeyring(keys []Key) *Keyring {
	r := &Keyring{byID: make(map[string]entry, len(keys))}
	for i := range keys {
		e := entry{key: &keys[i]}
		if b, err := hex.DecodeString(keys[i].Hash); err == nil && len(b) == sha256.Size {
			copy(e.sum[:], b)
			e.valid = true
		}
		r.byID[keys[i].ID] = e
	}
	return r
}

// Len is the number of keys, revoked ones included.
func (r *Keyring) Len() int { return len(r.byID) }

// Active is the number of keys that are not revoked.
func (r *Keyring) Active() int {
	n := 0
	for _, e := range r.byID {
		if e.key.Revoked == nil {
			n++
		}
	}
	return n
}

// Authenticate finds the key a client sent. The id part only selects the
// record; the hash of the whole string is compared in constant time.
func (r *Keyring) Authenticate(secret string) (*Key, error) {
	e, ok := r.byID[keyID(secret)]
	if !ok || !e.valid {
		return nil, ErrUnknownKey
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], e.sum[:]) != 1 {
		return nil, ErrUnknownKey
	}
	k := e.key
	if k.Revoked != nil {
		return k, ErrRevoked
	}
	return k, nil
}
