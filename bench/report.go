package bench

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a benchmark ran.
func Machine() string {
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.SplitN(string(raw), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	return fmt.Sprintf("%s, %d cores%s, %s/%s, %s", cpu, runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// Markdown renders the serving report with its ratios.
func (r *ServingReport) Markdown(command, ortVersion string) string {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "## Serving: dynamic batching vs batching off vs raw ONNX Runtime (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "- Command: `%s`\n- Machine: %s; ONNX Runtime %s\n", command, Machine(), ortVersion)
	fmt.Fprintf(&b, "- Model `%s`, one row per request as KServe v2 JSON over loopback HTTP, closed loop at concurrency %d for %s per run after a warm-up; the load generator runs in the same process and shares the 2 cores.\n\n", o.Model, o.Concurrency, o.Duration)
	b.WriteString("| run | throughput (rows/s) | p50 | p95 | p99 | errors |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(s Stats) {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %d |\n", s.Name, s.ItemsPerSecond(), round(s.P50), round(s.P95), round(s.P99), s.Errors)
	}
	row(r.Floor)
	row(r.Unbatched)
	row(r.Batched)
	row(r.UnbatchedBin)
	row(r.BatchedBin)
	if r.OpenLoop != nil {
		row(*r.OpenLoop)
	}
	row(r.RawBatch1)
	if r.RawBatchSize != 1 {
		row(r.RawSameBatch)
	}
	fmt.Fprintf(&b, "\nMean batch in the dynamic-batching run: %.1f rows per ORT call.\n\n", r.MeanBatch)
	b.WriteString("| ratio | value |\n|---|---:|\n")
	fmt.Fprintf(&b, "| dynamic batching ÷ batching off (server, concurrency %d) | **%.2f×** |\n", o.Concurrency, r.Batched.ItemsPerSecond()/r.Unbatched.ItemsPerSecond())
	fmt.Fprintf(&b, "| server with batching ÷ raw ORT at batch %d | **%.2f×** |\n", r.RawBatchSize, r.Batched.ItemsPerSecond()/r.RawSameBatch.ItemsPerSecond())
	fmt.Fprintf(&b, "| server batching off ÷ raw ORT at batch 1 | %.2f× |\n", r.Unbatched.ItemsPerSecond()/r.RawBatch1.ItemsPerSecond())
	fmt.Fprintf(&b, "| raw ORT batch %d ÷ raw ORT batch 1 (what batching saves inside ORT) | %.2f× |\n", r.RawBatchSize, r.RawSameBatch.ItemsPerSecond()/r.RawBatch1.ItemsPerSecond())
	fmt.Fprintf(&b, "| server with batching ÷ HTTP+JSON floor | %.2f× |\n", r.Batched.ItemsPerSecond()/r.Floor.ItemsPerSecond())
	fmt.Fprintf(&b, "| binary tensors ÷ JSON tensors (server, dynamic batching) | %.2f× |\n", r.BatchedBin.ItemsPerSecond()/r.Batched.ItemsPerSecond())
	fmt.Fprintf(&b, "| dynamic batching ÷ batching off (server, binary tensors, concurrency %d) | **%.2f×** |\n", o.Concurrency, r.BatchedBin.ItemsPerSecond()/r.UnbatchedBin.ItemsPerSecond())
	return b.String()
}
