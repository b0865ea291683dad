package api

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/auth"
)

// Keys of the echo context set for an authenticated request, for the audit
// log and handlers. Unset while auth is off.
const (
	ContextTenant = "tenant" // string: the key's tenant
	ContextKeyID  = "key_id" // string: the key's id (not secret)
)

// routeScopes maps request paths to the scope a key needs; the first prefix
// that matches (a whole path segment) wins. Paths outside /v1, /v2 and
// /admin are open: health, readiness, /metrics (restrict it at the network),
// /openapi.yaml and the static console. An API route missing here needs "*".
var routeScopes = []struct{ prefix, scope string }{
	{"/v2/health", ""},
	{"/v1/triage", auth.ScopeTriage},
	{"/v1/record", auth.ScopeTriage},
	{"/v1/medication", auth.ScopeTriage},
	{"/v1/knowledge", auth.ScopeKnowledge},
	{"/v1/departments", auth.ScopeKnowledge},
	{"/v1/imaging", auth.ScopeImaging},
	{"/v1/dermatology", auth.ScopeImaging},
	{"/v2", auth.ScopeInference},
	{"/v1", auth.ScopeAll},
	{"/admin", auth.ScopeAll},
}

// routeScope returns the scope path needs, "" for an open path.
func routeScope(path string) string {
	for _, r := range routeScopes {
		if rest, ok := strings.CutPrefix(path, r.prefix); ok && (rest == "" || rest[0] == '/') {
			return r.scope
		}
	}
	return ""
}

// routeClass is the admission class of path: its scope, or "" for open and
// admin routes, which no class limit holds back.
func routeClass(path string) string {
	if s := routeScope(path); s != auth.ScopeAll {
		return s
	}
	return ""
}

// LoadKeys reads cfg.KeysFile when auth is required; SIGHUP calls it again
// so a revoked key stops working without a restart. A file that cannot be
// read keeps the previous keys. With auth off it does nothing.
func (s *Server) LoadKeys() error {
	if s.cfg.Auth != AuthRequired {
		return nil
	}
	ring, err := readKeyring(s.cfg.KeysFile)
	if err != nil {
		return err
	}
	if err := auth.CheckMode(s.cfg.KeysFile); err != nil {
		s.log.Warn("key file is readable by others", "err", err)
	}
	s.access.keys.Store(ring)
	s.log.Info("API keys loaded", "file", s.cfg.KeysFile, "active", ring.Active(), "revoked", ring.Len()-ring.Active())
	return nil
}

// CheckKeysFile reports a key file that required auth cannot start with,
// so `fenzhen serve` fails before it spends time loading models.
func CheckKeysFile(path string) error {
	_, err := readKeyring(path)
	return err
}

func readKeyring(path string) (*auth.Keyring, error) {
	f, err := auth.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("auth is required but the key file %s does not exist; create a key with `fenzhen keys create --tenant NAME --scopes triage,knowledge`", path)
	case err != nil:
		return nil, err
	}
	ring := f.Keyring()
	if ring.Active() == 0 {
		return nil, fmt.Errorf("auth is required but the key file %s holds no active key; create one with `fenzhen keys create`", path)
	}
	return ring, nil
}

// authenticate finds the request's key and checks it may call scope. No key,
// or one the key file does not hold, is 401; a revoked key or a scope the
// key lacks is 403.
func (s *Server) authenticate(c echo.Context, scope string) (*auth.Key, error) {
	h := c.Request().Header
	secret := h.Get("X-API-Key")
	if a := h.Get("Authorization"); a != "" {
		scheme, tok, _ := strings.Cut(a, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, s.unauthenticated(c, "the Authorization header must be Bearer <key>")
		}
		secret = strings.TrimSpace(tok)
	}
	if secret == "" {
		return nil, s.unauthenticated(c, "an API key is required: send Authorization: Bearer <key> or X-API-Key: <key>")
	}
	ring := s.access.keys.Load()
	if ring == nil {
		return nil, s.unauthenticated(c, "invalid API key")
	}
	k, err := ring.Authenticate(secret)
	switch {
	case errors.Is(err, auth.ErrRevoked):
		return nil, errorf(CodePermissionDenied, "API key %s has been revoked", k.ID)
	case err != nil:
		return nil, s.unauthenticated(c, "invalid API key")
	case !k.Allows(scope):
		if scope == auth.ScopeAll {
			return nil, errorf(CodePermissionDenied, "API key %s may not call %s; it needs the * scope", k.ID, c.Request().URL.Path)
		}
		return nil, errorf(CodePermissionDenied, "API key %s may not call %s routes (its scopes: %s)", k.ID, scope, strings.Join(k.Scopes, ","))
	}
	return k, nil
}

func (s *Server) unauthenticated(c echo.Context, msg string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fenzhen"`)
	return errorf(CodeUnauthenticated, "%s", msg)
}

// initAccess sets up authentication and admission for New. With auth off it
// says so loudly: that mode is for development only.
func (s *Server) initAccess() {
	s.access = newAccess(s.cfg, s.registry)
	if s.cfg.TrustProxy {
		s.echo.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		s.echo.IPExtractor = echo.ExtractIPDirect()
	}
	if s.cfg.Auth != AuthRequired {
		s.log.Warn("authentication is OFF (development mode): every route is open to anyone who can reach the server; set FENZHEN_AUTH=required (--auth required) with a key file from `fenzhen keys create` in production",
			"ip_rate", s.cfg.IPRate)
	}
}
