package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
)

// randomInferBody is a one-row cnn-test request with float64-precision
// numbers, as a Python client's json.dumps writes them.
func randomInferBody() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float64, 784)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	return inferBody("input", "FP32", []int64{1, 1, 28, 28}, data)
}

// BenchmarkParseV2Infer measures the JSON tensor reader on a 784-float request.
func BenchmarkParseV2Infer(b *testing.B) {
	body := randomInferBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseV2Infer(body, -1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseV2InferStdlib is the encoding/json baseline for the same body.
func BenchmarkParseV2InferStdlib(b *testing.B) {
	body := randomInferBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req struct {
			Inputs []struct {
				Name, Datatype string
				Shape          []int64
				Data           []float32
			}
		}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV2Infer is one request through the whole handler stack (one at a
// time, so each waits out the batcher's max_queue_delay).
func BenchmarkV2Infer(b *testing.B) {
	s := newTestServer(&testing.T{}, nil)
	body := inferBody("input", "FP32", []int64{1, 1, 28, 28}, make([]float32, 784))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v2/models/cnn-test/infer", bytes.NewReader(body)))
		if rec.Code != 200 {
			b.Fatal(rec.Body)
		}
	}
}
