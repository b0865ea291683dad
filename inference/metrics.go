package inference

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the batcher's and sessions' Prometheus series, labelled by model.
type Metrics struct {
	batchSize     *prometheus.HistogramVec
	queueDepth    *prometheus.GaugeVec
	queueWait     *prometheus.HistogramVec
	inferDuration *prometheus.HistogramVec
	requests      *prometheus.CounterVec
}

// NewMetrics creates the series and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fenzhen_inference_batch_size",
			Help:    "Rows per ONNX Runtime call after dynamic batching.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"model"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fenzhen_inference_queue_depth",
			Help: "Requests waiting in a model's batcher queue.",
		}, []string{"model"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fenzhen_inference_queue_wait_seconds",
			Help:    "Time from admission to the start of the request's batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"model"}),
		inferDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fenzhen_inference_duration_seconds",
			Help:    "ONNX Runtime run time per batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"model"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenzhen_inference_requests_total",
			Help: "Inference requests by model and outcome (ok, error, cancelled, rejected).",
		}, []string{"model", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.batchSize, m.queueDepth, m.queueWait, m.inferDuration, m.requests)
	}
	return m
}
