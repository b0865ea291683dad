package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/fenzhen/fenzhen/inference"
)

// ImagingReport compares POST /v1/imaging/chest with batching off and on
// against a FastAPI + PyTorch server serving the same model, in one run.
type ImagingReport struct {
	Concurrency int
	Image       string
	Unbatched   Stats
	Batched     Stats
	FastAPI     *Stats // nil when the baseline could not start
	FastAPIErr  string
}

// Imaging runs the comparison. python is the interpreter with Debian's
// fastapi, uvicorn and torch (the baseline is skipped, with the reason, when
// it cannot start).
func Imaging(ctx context.Context, modelsDir, imagePath, python string, concurrency int, d time.Duration, progress func(string)) (*ImagingReport, error) {
	img, err := os.ReadFile(imagePath)
	if err != nil {
		return nil, fmt.Errorf("read benchmark image: %w", err)
	}
	rep := &ImagingReport{Concurrency: concurrency, Image: imagePath}
	o := ServingOptions{ModelsDir: modelsDir, Model: "chest-xray"}
	for _, v := range []struct {
		name     string
		override func(*inference.ModelConfig)
		dst      *Stats
	}{
		{"fenzhen, batching off", batchingOff, &rep.Unbatched},
		{"fenzhen, dynamic batching", nil, &rep.Batched},
	} {
		progress(v.name)
		l, err := startServer(o, v.override)
		if err != nil {
			return nil, err
		}
		l.url = l.base + "/v1/imaging/chest"
		*v.dst, err = Closed(ctx, fmt.Sprintf("%s, concurrency %d", v.name, concurrency), concurrency, d, l.postWith(img, "image/png", ""))
		l.stop()
		if err != nil {
			return nil, err
		}
	}
	progress("FastAPI + PyTorch baseline")
	s, err := fastAPI(ctx, python, img, concurrency, d)
	if err != nil {
		rep.FastAPIErr = err.Error()
	} else {
		rep.FastAPI = &s
	}
	return rep, nil
}

func fastAPI(ctx context.Context, python string, img []byte, concurrency int, d time.Duration) (Stats, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Stats{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(python, "-m", "uvicorn", "--app-dir", "bench/fastapi", "server:app",
		"--host", "127.0.0.1", "--port", fmt.Sprint(port), "--log-level", "warning")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Stats{}, fmt.Errorf("start FastAPI baseline: %w", err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			return Stats{}, fmt.Errorf("FastAPI baseline not ready in 60 s (needs Debian python3-fastapi, uvicorn, python3-torch, python3-onnx, python3-pil: make setup-train)")
		}
		time.Sleep(200 * time.Millisecond)
	}
	l := &liveServer{url: base + "/predict", client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}}
	return Closed(ctx, fmt.Sprintf("FastAPI + PyTorch, concurrency %d", concurrency), concurrency, d, l.postWith(img, "image/png", ""))
}

// Markdown renders the imaging comparison.
func (r *ImagingReport) Markdown(command, ortVersion string) string {
	var b []byte
	add := func(format string, a ...any) { b = fmt.Appendf(b, format, a...) }
	add("## Imaging: POST /v1/imaging/chest vs a FastAPI + PyTorch server (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	add("- Command: `%s`\n- Machine: %s; ONNX Runtime %s\n", command, Machine(), ortVersion)
	add("- The same 28×28 PNG (`%s`) posted as `image/png`, closed loop at concurrency %d; all servers and the load generator share the 2 cores. The baseline (bench/fastapi/server.py) runs the same chest-xray weights with PyTorch kernels, one request at a time, under uvicorn with one worker and 2 torch threads.\n\n", r.Image, r.Concurrency)
	add("| run | images/s | p50 | p95 | p99 | errors |\n|---|---:|---:|---:|---:|---:|\n")
	rows := []Stats{r.Unbatched, r.Batched}
	if r.FastAPI != nil {
		rows = append(rows, *r.FastAPI)
	}
	for _, s := range rows {
		add("| %s | %.0f | %s | %s | %s | %d |\n", s.Name, s.Throughput, round(s.P50), round(s.P95), round(s.P99), s.Errors)
	}
	add("\n| ratio | value |\n|---|---:|\n")
	add("| dynamic batching ÷ batching off | **%.2f×** |\n", r.Batched.Throughput/r.Unbatched.Throughput)
	if r.FastAPI != nil {
		add("| fenzhen with batching ÷ FastAPI + PyTorch | **%.2f×** |\n", r.Batched.Throughput/r.FastAPI.Throughput)
	} else {
		add("\nFastAPI baseline not measured: %s\n", r.FastAPIErr)
	}
	return string(b)
}
