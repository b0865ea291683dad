package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecurityHeaders(t *testing.T) {
	s, _ := bareServer(t, nil)
	for _, c := range []struct {
		method, path string
		noStore      bool
	}{
		{"GET", "/healthz", false},
		{"GET", "/static/ping", false},
		{"GET", "/no/such/page", false},
		{"GET", "/v1/knowledge/ping", true},
		{"GET", "/v1/departments", true}, // 503 here: errors carry them too
		{"POST", "/v1/triage", true},
		{"GET", "/v2", true},
		{"GET", "/v2/health/ready", true},
	} {
		rec := send(t, s, c.method, c.path, nil)
		h := rec.Header()
		for name, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s %s (%d): %s %q, want %q", c.method, c.path, rec.Code, name, got, want)
			}
		}
		if got := h.Get("Cache-Control") == "no-store"; got != c.noStore {
			t.Errorf("%s %s: Cache-Control %q", c.method, c.path, h.Get("Cache-Control"))
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", c.path)
		}
	}
}

func TestCORS(t *testing.T) {
	keys := writeKeys(t)
	s := authServer(t, keys, func(c *Config) { c.CORSOrigins = []string{"https://clinic.example"} })
	preflight := func(origin string) []string {
		return []string{"Origin", origin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"}
	}

	// An allowed origin's preflight is answered without a key (browsers send none).
	rec := send(t, s, "OPTIONS", "/v1/triage", nil, preflight("https://clinic.example")...)
	h := rec.Header()
	if rec.Code != 204 || h.Get("Access-Control-Allow-Origin") != "https://clinic.example" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("allowed preflight: %d %v", rec.Code, h)
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("no Vary: Origin: %v", h.Values("Vary"))
	}

	// Any other origin's preflight is refused with the envelope.
	rec = send(t, s, "OPTIONS", "/v1/triage", nil, preflight("https://evil.example")...)
	if e := errEnvelope(t, rec); e.Code != CodePermissionDenied || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("denied preflight: %d %s", rec.Code, e.Code)
	}

	// Actual requests: the allowed origin can read the answer, others get no CORS headers.
	rec = send(t, s, "GET", "/v1/knowledge/ping", nil, "Origin", "https://clinic.example", "X-API-Key", keys.triage)
	if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://clinic.example" ||
		!strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("allowed request: %d %v", rec.Code, rec.Header())
	}
	rec = send(t, s, "GET", "/v1/knowledge/ping", nil, "Origin", "https://evil.example", "X-API-Key", keys.triage)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin got %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	// A 401 to an allowed origin is readable by its page.
	rec = send(t, s, "GET", "/v1/knowledge/ping", nil, "Origin", "https://clinic.example")
	if rec.Code != 401 || rec.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("401 without CORS headers: %d %v", rec.Code, rec.Header())
	}

	// By default no origin is allowed.
	s, _ = bareServer(t, nil)
	rec = send(t, s, "OPTIONS", "/v1/triage", nil, preflight("https://clinic.example")...)
	if rec.Code != 403 {
		t.Errorf("default preflight: %d", rec.Code)
	}
}

func TestJSONDepthLimit(t *testing.T) {
	s, _ := bareServer(t, func(c *Config) { c.MaxJSONDepth = 8 })
	nest := func(n int, open, close string) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	for _, c := range []struct {
		name, path, body string
		header           []string
		status           int
	}{
		// The bare server has no triage engine or models: a body that passes the limit reaches the handler's 503.
		{"shallow", "/v1/triage", `{"text": "头痛", "evidence": [{"id": "x"}]}`, nil, 503},
		{"at the limit", "/v1/triage", `{"a":` + nest(7, "[", "]") + `}`, nil, 503},
		{"one deeper", "/v1/triage", `{"a":` + nest(8, "[", "]") + `}`, nil, 400},
		{"deep objects", "/v1/record", nest(100, `{"a":`, "}"), nil, 400},
		{"brackets in strings", "/v1/medication/check", `{"drugs": ["` + strings.Repeat("[{", 50) + `"]}`, nil, 503},
		{"escaped quote", "/v1/medication/check", `{"drugs": ["\"[[[[[[[[[[[[["]}`, nil, 503},
		{"deep v2", "/v2/models/cnn-test/infer", `{"inputs": [{"data": ` + nest(20, "[", "]") + `}]}`, nil, 400},
		// Only the JSON header of the binary extension is scanned, not the tensor bytes.
		{"binary tail", "/v2/models/cnn-test/infer", `{"inputs":[]}` + strings.Repeat("[", 100), []string{"Inference-Header-Content-Length", "13"}, 503},
		// Not JSON at all: left to the handler (415 or 503), not a depth error.
		{"xml", "/v1/triage", strings.Repeat("[", 100), []string{"Content-Type", "application/xml"}, 503},
		{"octet-stream without the binary header", "/v2/models/cnn-test/infer", strings.Repeat("[", 100), []string{"Content-Type", "application/octet-stream"}, 503},
		{"binary header, deep JSON head", "/v2/models/cnn-test/infer", `{"a":` + nest(20, "[", "]") + `}`, []string{"Content-Type", "application/octet-stream", "Inference-Header-Content-Length", "46"}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			header := append([]string{"Content-Type", "application/json"}, c.header...)
			rec := send(t, s, "POST", c.path, []byte(c.body), header...)
			e := errEnvelope(t, rec)
			if rec.Code != c.status {
				t.Fatalf("%d %s: %s", rec.Code, e.Code, e.Message)
			}
			if c.status == 400 && !strings.Contains(e.Message, "nested deeper than 8") {
				t.Errorf("message %q", e.Message)
			}
		})
	}
	// The depth scan reads the body through limitBody: too large is still 413.
	s, _ = bareServer(t, func(c *Config) { c.MaxBodyBytes = 64 })
	rec := send(t, s, "POST", "/v1/triage", []byte(`{"text": "`+strings.Repeat("头", 100)+`"}`), "Content-Type", "application/json")
	if e := errEnvelope(t, rec); e.Code != CodePayloadTooLarge {
		t.Errorf("large body: %s", e.Code)
	}
}

func TestUploadPartLimit(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MaxUploadParts = 3 })
	png, err := os.ReadFile("../models/chest-xray/testdata/test_000_pneumonia.png")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(fillers int) (int, errorDetail) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for range fillers {
			mw.WriteField("note", "x")
		}
		w, _ := mw.CreateFormFile("image", "x.png")
		w.Write(png)
		mw.Close()
		rec := send(t, s, "POST", "/v1/imaging/chest", b.Bytes(), "Content-Type", mw.FormDataContentType())
		if rec.Code == 200 {
			return 200, errorDetail{}
		}
		return rec.Code, errEnvelope(t, rec)
	}
	if code, e := upload(2); code != 200 {
		t.Fatalf("3 parts: %d %s", code, e.Message)
	}
	if code, e := upload(3); code != 413 || e.Code != CodePayloadTooLarge || !strings.Contains(e.Message, "more than 3 parts") {
		t.Errorf("4 parts: %d %+v", code, e)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)

	s, _ := bareServer(t, func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/v1/knowledge/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTPS: %d %+v", resp.StatusCode, resp.TLS)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	// SIGHUP (ReloadCredentials) swaps in a renewed certificate for new connections.
	cert2, key2 := selfSigned(t)
	os.WriteFile(certFile, cert2, 0o600)
	os.WriteFile(keyFile, key2, 0o600)
	if err := s.ReloadCredentials(); err != nil {
		t.Fatal(err)
	}
	pool2 := x509.NewCertPool()
	pool2.AppendCertsFromPEM(cert2)
	client2 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool2}}}
	resp, err = client2.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("after reload: %v", err)
	}
	resp.Body.Close()
	if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, mustDER(t, cert2)) {
		t.Error("still serving the old certificate")
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
	}
	// A missing key file fails Serve at once.
	bad, _ := bareServer(t, func(c *Config) { c.TLSCert, c.TLSKey = certFile, filepath.Join(dir, "none.pem") })
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln2.Close()
	if err := bad.Serve(context.Background(), ln2); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Errorf("missing key: %v", err)
	}
}

func mustDER(t *testing.T, certPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// selfSigned makes a P-256 certificate for 127.0.0.1, valid for an hour.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fenzhen test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
