package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These run in order: the failing runtime cases must come before a runtime
// is loaded into the process.

func TestServeMissingRuntime(t *testing.T) {
	t.Setenv("FENZHEN_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
	err := runServe([]string{"--addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libonnxruntime.so.1 does not exist") || !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("got %v", err)
	}
}

func TestServeWrongLibrary(t *testing.T) {
	libs, _ := filepath.Glob("/usr/lib/x86_64-linux-gnu/libz.so.*")
	if len(libs) == 0 {
		t.Skip("no libz to stand in for a wrong library")
	}
	t.Setenv("FENZHEN_ORT_LIB", libs[0])
	err := runServe([]string{"--addr", "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "load ONNX Runtime from "+libs[0]) {
		t.Fatalf("got %v", err)
	}
}

func TestServeBadModelConfig(t *testing.T) {
	dir := t.TempDir()
	vdir := filepath.Join(dir, "broken", "1")
	os.MkdirAll(vdir, 0o755)
	os.WriteFile(filepath.Join(vdir, "config.yaml"), []byte("max_batch_size: 8\ninputs: [{name: x, datatype: FP33, shape: [1]}]\noutputs: [{name: y, datatype: FP32, shape: [1]}]\n"), 0o644)
	err := runServe([]string{"--addr", "127.0.0.1:0", "--models", dir})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(vdir, "config.yaml")) || !strings.Contains(err.Error(), "inputs[0].datatype") {
		t.Fatalf("got %v", err)
	}
}

// The real binary path: serve the committed models, answer, stop on SIGTERM.
func TestServeAndSIGTERM(t *testing.T) {
	base, done := startServe(t, "/v2/health/ready", 20*time.Second)
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": []int{1, 1, 28, 28}, "data": make([]float32, 784)}}})
	resp, err := http.Post(base+"/v2/models/cnn-test/infer", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Outputs []struct{ Data []float32 } }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(out.Outputs) != 1 || len(out.Outputs[0].Data) != 10 {
		t.Fatalf("infer: %d %+v", resp.StatusCode, out)
	}
	stopServe(t, done)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still answering after SIGTERM")
	}

}

// startServe runs `fenzhen serve` on the committed models in this process,
// on a free port and with errors-only logging (set other FENZHEN_*
// variables before), and waits up to wait for readyPath to answer 200. It
// returns the base URL and the channel runServe's result arrives on.
func startServe(t *testing.T, readyPath string, wait time.Duration) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("FENZHEN_ADDR", addr)
	t.Setenv("FENZHEN_LOG_LEVEL", "error")
	done := make(chan error, 1)
	go func() { done <- runServe([]string{"--models", "../../models"}) }()
	base := "http://" + addr
	for deadline := time.Now().Add(wait); ; {
		resp, err := http.Get(base + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, done
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within %v", wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopServe sends SIGTERM and waits up to 30s for serve to return nil.
func stopServe(t *testing.T, done <-chan error) {
	t.Helper()
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
}
