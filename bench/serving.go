package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
)

// ServingOptions configure the serving comparison.
type ServingOptions struct {
	ModelsDir   string
	Model       string
	Concurrency int
	Duration    time.Duration
	Rate        float64 // > 0 adds an open-loop run of the batching server at this rate
}

// ServingReport holds one side-by-side run on the same model.
type ServingReport struct {
	Options      ServingOptions
	Floor        Stats // server, same request to a missing model: HTTP + JSON without inference
	Unbatched    Stats // server, max_batch_size 1
	Batched      Stats // server, dynamic batching
	BatchedBin   Stats // server, dynamic batching, binary data extension
	UnbatchedBin Stats // server, batching off, binary data extension
	OpenLoop     *Stats
	MeanBatch    float64 // rows per ORT call in the batched run
	RawSameBatch Stats   // in-process ORT at the batched run's mean batch size (items/s)
	RawBatch1    Stats   // in-process ORT, batch 1
	RawBatchSize int
}

// Serving measures, in one process and one run, the server without and with
// dynamic batching over loopback HTTP, and raw in-process ORT calls.
func Serving(ctx context.Context, o ServingOptions, progress func(string)) (*ServingReport, error) {
	vdir, err := latestVersionDir(o.ModelsDir, o.Model)
	if err != nil {
		return nil, err
	}
	cfg, err := inference.LoadConfig(filepath.Join(vdir, "config.yaml"), "")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 1))
	body, err := inferBody(cfg, rng)
	if err != nil {
		return nil, err
	}
	rep := &ServingReport{Options: o}

	progress("server, HTTP + JSON floor (no inference)")
	rep.Floor, err = floor(ctx, o, body)
	if err != nil {
		return nil, err
	}
	progress("server, batching off (max_batch_size 1)")
	rep.Unbatched, _, err = serveAndLoad(ctx, o, body, batchingOff, "server, batching off")
	if err != nil {
		return nil, err
	}
	progress("server, dynamic batching")
	var mean float64
	rep.Batched, mean, err = serveAndLoad(ctx, o, body, nil, "server, dynamic batching")
	if err != nil {
		return nil, err
	}
	rep.MeanBatch = mean
	bin, hlen, err := binaryBody(cfg, rng)
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		name     string
		override func(*inference.ModelConfig)
		dst      *Stats
	}{
		{"server, batching off, binary tensors", batchingOff, &rep.UnbatchedBin},
		{"server, dynamic batching, binary tensors", nil, &rep.BatchedBin},
	} {
		progress(v.name)
		l, err := startServer(o, v.override)
		if err != nil {
			return nil, err
		}
		*v.dst, err = Closed(ctx, fmt.Sprintf("%s, concurrency %d", v.name, o.Concurrency), o.Concurrency, o.Duration, l.postWith(bin, "application/octet-stream", hlen))
		l.stop()
		if err != nil {
			return nil, err
		}
	}
	if o.Rate > 0 {
		progress(fmt.Sprintf("server, dynamic batching, open loop at %.0f req/s", o.Rate))
		s, err := serveOpen(ctx, o, body)
		if err != nil {
			return nil, err
		}
		rep.OpenLoop = &s
	}

	progress("raw ONNX Runtime in-process")
	rep.RawBatchSize = max(1, int(math.Round(mean)))
	sess, _, err := inference.OpenSession(vdir)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	for _, b := range []int{1, rep.RawBatchSize} {
		inputs := randomInputs(cfg, b, rng)
		s, err := Closed(ctx, fmt.Sprintf("raw ORT, batch %d", b), 1, o.Duration, func(context.Context) error {
			_, err := sess.Run(inputs)
			return err
		})
		if err != nil {
			return nil, err
		}
		s.ItemsPerRequest = b
		if b == 1 {
			rep.RawBatch1 = s
		} else {
			rep.RawSameBatch = s
		}
	}
	if rep.RawBatchSize == 1 {
		rep.RawSameBatch = rep.RawBatch1
	}
	return rep, nil
}

// batchingOff serves the same model with max_batch_size 1.
func batchingOff(c *inference.ModelConfig) {
	c.MaxBatchSize = 1
	c.Batching.PreferredBatchSizes = nil
}

func latestVersionDir(modelsDir, model string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(modelsDir, model, "[0-9]*", "config.yaml"))
	best, bestN := "", -1
	for _, m := range matches {
		var n int
		if _, err := fmt.Sscan(filepath.Base(filepath.Dir(m)), &n); err == nil && n > bestN {
			best, bestN = filepath.Dir(m), n
		}
	}
	if best == "" {
		return "", fmt.Errorf("no version of model %q under %s", model, modelsDir)
	}
	return best, nil
}

func randomInputs(cfg *inference.ModelConfig, rows int, rng *rand.Rand) []inference.Tensor {
	out := make([]inference.Tensor, len(cfg.Inputs))
	for i, in := range cfg.Inputs {
		shape := append([]int64{int64(rows)}, in.Shape...)
		data := make([]float32, inference.NumElements(shape))
		for j := range data {
			data[j] = float32(rng.NormFloat64())
		}
		out[i] = inference.Tensor{Name: in.Name, DataType: inference.FP32, Shape: shape, Data: data}
	}
	return out
}

func inferBody(cfg *inference.ModelConfig, rng *rand.Rand) ([]byte, error) {
	var inputs []map[string]any
	for _, t := range randomInputs(cfg, 1, rng) {
		if t.DataType != inference.FP32 {
			return nil, fmt.Errorf("bench supports FP32 inputs only")
		}
		inputs = append(inputs, map[string]any{"name": t.Name, "datatype": "FP32", "shape": t.Shape, "data": t.Data})
	}
	return json.Marshal(map[string]any{"inputs": inputs})
}

// binaryBody is the same one-row request in the binary data extension.
func binaryBody(cfg *inference.ModelConfig, rng *rand.Rand) ([]byte, string, error) {
	type param struct {
		Size int `json:"binary_data_size"`
	}
	var inputs []map[string]any
	var tail []byte
	for _, t := range randomInputs(cfg, 1, rng) {
		data := t.Data.([]float32)
		for _, v := range data {
			tail = binary.LittleEndian.AppendUint32(tail, math.Float32bits(v))
		}
		inputs = append(inputs, map[string]any{"name": t.Name, "datatype": "FP32", "shape": t.Shape, "parameters": param{4 * len(data)}})
	}
	header, err := json.Marshal(map[string]any{"inputs": inputs, "parameters": map[string]bool{"binary_data_output": true}})
	if err != nil {
		return nil, "", err
	}
	return append(header, tail...), strconv.Itoa(len(header)), nil
}

type liveServer struct {
	base   string
	url    string
	reg    *prometheus.Registry
	stop   func()
	client *http.Client
}

func startServer(o ServingOptions, override func(*inference.ModelConfig)) (*liveServer, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	repo, err := inference.OpenRepository(o.ModelsDir, inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: quiet, Override: override})
	if err != nil {
		return nil, err
	}
	srv := api.New(api.DefaultConfig(), api.Deps{Models: repo, Imaging: imaging.NewService(repo), Registry: reg}, quiet)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		repo.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}
	return &liveServer{
		base:   "http://" + ln.Addr().String(),
		url:    "http://" + ln.Addr().String() + "/v2/models/" + o.Model + "/infer",
		reg:    reg,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		stop:   func() { cancel(); <-done; repo.Close(); tr.CloseIdleConnections() },
	}, nil
}

func (l *liveServer) post(body []byte) func(context.Context) error {
	return l.postWith(body, "application/json", "")
}

// postWith sends body; headerLen, when set, is the binary data extension's
// Inference-Header-Content-Length.
func (l *liveServer) postWith(body []byte, contentType, headerLen string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", l.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if headerLen != "" {
			req.Header.Set("Inference-Header-Content-Length", headerLen)
		}
		resp, err := l.client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return err
	}
}

func serveAndLoad(ctx context.Context, o ServingOptions, body []byte, override func(*inference.ModelConfig), name string) (Stats, float64, error) {
	l, err := startServer(o, override)
	if err != nil {
		return Stats{}, 0, err
	}
	defer l.stop()
	s, err := Closed(ctx, fmt.Sprintf("%s, concurrency %d", name, o.Concurrency), o.Concurrency, o.Duration, l.post(body))
	return s, meanBatch(l.reg), err
}

// floor sends the same body to a model that does not exist: the server reads
// and parses it fully, then answers 404, so this is the HTTP + JSON ceiling.
func floor(ctx context.Context, o ServingOptions, body []byte) (Stats, error) {
	l, err := startServer(o, nil)
	if err != nil {
		return Stats{}, err
	}
	defer l.stop()
	url := l.url[:len(l.url)-len(o.Model+"/infer")] + "no-such-model/infer"
	return Closed(ctx, fmt.Sprintf("server, HTTP+JSON only (404), concurrency %d", o.Concurrency), o.Concurrency, o.Duration, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := l.client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("status %d, want 404", resp.StatusCode)
		}
		return nil
	})
}

func serveOpen(ctx context.Context, o ServingOptions, body []byte) (Stats, error) {
	l, err := startServer(o, nil)
	if err != nil {
		return Stats{}, err
	}
	defer l.stop()
	return Open(ctx, fmt.Sprintf("server, batching, %.0f req/s open loop", o.Rate), o.Rate, o.Duration, 4096, l.post(body))
}

// meanBatch reads rows per ORT call from the batch size histogram.
func meanBatch(reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "fenzhen_inference_batch_size" {
			continue
		}
		var sum, count float64
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			sum += h.GetSampleSum()
			count += float64(h.GetSampleCount())
		}
		if count > 0 {
			return sum / count
		}
	}
	return 0
}
