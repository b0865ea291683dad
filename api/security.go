package api

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// contentSecurityPolicy suits the same-origin console: no inline scripts or
// styles, no framing, images may be data: or blob: previews of uploads.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

// isAPIPath reports paths whose answers carry health data and must not be cached.
func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || p == "/v2" || strings.HasPrefix(p, "/v2/")
}

// securityHeaders sets the hardening headers on every response, errors
// included, before the handler can commit it.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	hsts := s.cfg.TLSCert != ""
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if isAPIPath(c.Request().URL.Path) {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, X-API-Key, Content-Type, X-Request-Id, X-Request-Timeout, " + headerInferenceLength
	corsExpose  = "X-Request-Id, Retry-After, " + headerInferenceLength
)

// cors lets the configured origins call the API from a browser. A preflight
// from any other origin is 403; a simple request from one gets no CORS
// headers, so the browser keeps the answer from the page. Requests without
// an Origin (curl, servers, same-origin GETs) are not affected.
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	origins := s.cfg.CORSOrigins
	any := slices.Contains(origins, "*")
	return func(c echo.Context) error {
		req := c.Request()
		origin := req.Header.Get("Origin")
		if origin == "" {
			return next(c)
		}
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		allowed := any || slices.Contains(origins, origin)
		if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				return errorf(CodePermissionDenied, "cross-origin requests from %q are not allowed", origin)
			}
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "600")
			return c.NoContent(http.StatusNoContent)
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
		return next(c)
	}
}

// chain folds middleware into one, applied in the order given.
func chain(mws ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		for i := len(mws) - 1; i >= 0; i-- {
			next = mws[i](next)
		}
		return next
	}
}

// limitJSONDepth refuses JSON bodies nested deeper than max with a 400
// before any decoder sees them. The body (already bounded by limitBody) is
// read into memory; with the v2 binary extension only its JSON header is
// scanned. Bodies declared as something other than JSON are left to the
// handler's 415.
func limitJSONDepth(max int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			binary := req.Header.Get(headerInferenceLength) != ""
			if ct := req.Header.Get("Content-Type"); ct != "" && !binary {
				if mt, _, err := mime.ParseMediaType(ct); err == nil && !jsonish(mt) {
					return next(c)
				}
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return err // *http.MaxBytesError → 413
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			head := body
			if v := req.Header.Get(headerInferenceLength); v != "" {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= len(body) {
					head = body[:n]
				}
			}
			if d := jsonDepth(head, max); d > max {
				return errorf(CodeInvalidArgument, "JSON body is nested deeper than %d levels", max)
			}
			return next(c)
		}
	}
}

// jsonDepth returns the deepest nesting of arrays and objects in data,
// stopping once it passes limit. Brackets inside strings do not count;
// malformed JSON is left for the decoder to report.
func jsonDepth(data []byte, limit int) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, b := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return deepest
}

// tlsState holds the serving certificate, swapped on SIGHUP.
type tlsState struct {
	cert atomic.Pointer[tls.Certificate]
}

// loadTLS reads the configured certificate and key; with neither set it
// does nothing and the server speaks plain HTTP.
func (s *Server) loadTLS() error {
	if s.cfg.TLSCert == "" && s.cfg.TLSKey == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", s.cfg.TLSCert, s.cfg.TLSKey, err)
	}
	s.tls.cert.Store(&cert)
	if s.echo.Server.TLSConfig == nil {
		s.echo.Server.TLSConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return s.tls.cert.Load(), nil
			},
		}
	}
	return nil
}

// ReloadCredentials re-reads the key file and the TLS certificate (on
// SIGHUP). A file that fails to load keeps the previous one serving.
func (s *Server) ReloadCredentials() error {
	var errs []error
	if err := s.LoadKeys(); err != nil {
		errs = append(errs, err)
	}
	if s.tls.cert.Load() != nil {
		if err := s.loadTLS(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// serveOn serves ln over TLS when a certificate is loaded, else plain HTTP.
func (s *Server) serveOn(ln net.Listener) error {
	if s.tls.cert.Load() != nil {
		return s.echo.Server.ServeTLS(ln, "", "")
	}
	return s.echo.Server.Serve(ln)
}
