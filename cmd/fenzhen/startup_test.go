package main

// This file sorts after serve_test.go on purpose: it loads ONNX Runtime into
// the process, which serve_test.go's missing-runtime cases must run without.

import (
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/api"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// serveLogged runs `fenzhen serve args` with warnings logged into the
// returned buffer and waits until base answers /readyz.
func serveLogged(t *testing.T, base string, args ...string) (*syncBuffer, <-chan error) {
	t.Helper()
	logs := &syncBuffer{}
	logOutput = logs
	t.Cleanup(func() { logOutput = os.Stderr })
	t.Setenv("FENZHEN_LOG_LEVEL", "warn")
	done := make(chan error, 1)
	go func() { done <- runServe(append([]string{"--models", "../../models"}, args...)) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			return logs, done
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %s", logs)
		}
	}
}

// nonLoopbackIP is an address of this machine other than loopback, or "".
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// With auth off and no address set, the server is reachable from this
// machine only, and says nothing alarming.
func TestServeDefaultsToLoopbackWithAuthOff(t *testing.T) {
	if got := api.DefaultListenAddr(api.AuthOff); got != "127.0.0.1:8080" {
		t.Fatalf("default address with auth off: %s", got)
	}
	port := freePort(t)
	var asked string
	defaultListenAddr = func(mode string) string {
		asked = mode
		host, _, _ := net.SplitHostPort(api.DefaultListenAddr(mode))
		return net.JoinHostPort(host, port) // the default host, on a free port
	}
	t.Cleanup(func() { defaultListenAddr = api.DefaultListenAddr })
	t.Setenv("FENZHEN_ADDR", "")
	t.Setenv("FENZHEN_AUTH", "")
	logs, done := serveLogged(t, "http://127.0.0.1:"+port)
	if asked != api.AuthOff {
		t.Errorf("default address asked for auth %q", asked)
	}
	if ip := nonLoopbackIP(); ip != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), time.Second); err == nil {
			c.Close()
			t.Errorf("answers on %s:%s with auth off and no --addr", ip, port)
		}
	}
	if strings.Contains(logs.String(), "NO AUTHENTICATION ON A NETWORK ADDRESS") {
		t.Errorf("loopback server warns of a network address:\n%s", logs)
	}
	stopServe(t, done)
}

// An explicit address beyond loopback with auth off works, loudly.
func TestServeWarnsOnNetworkAddressWithAuthOff(t *testing.T) {
	port := freePort(t)
	t.Setenv("FENZHEN_AUTH", "")
	logs, done := serveLogged(t, "http://127.0.0.1:"+port, "--addr", ":"+port)
	stopServe(t, done)
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"!!! NO AUTHENTICATION ON A NETWORK ADDRESS !!!`) {
		t.Errorf("no warning for auth off on :%s:\n%s", port, logs)
	}
}
