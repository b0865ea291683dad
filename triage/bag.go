package triage

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/fenzhen/fenzhen/inference"
)

// An embeddingBag runs a triage head with its first two steps in Go.
//
// Every head is Gather(embedding, indices) → ReduceSum over the indices →
// bias, ReLU, linear heads, softmax (models/pylib/triage_common.py IndexBag).
// For one row, ONNX Runtime's ReduceSum takes a slow path that was half of
// each head's run time (measured: ~150 µs for [1,512,256] against ~25 µs
// for the same sum as [512,256]) and the heads ran through the batcher at
// about 2.5 rows per call. Here the sum is a loop over the request's
// non-padding indices, and ONNX Runtime runs the rest of the graph (the
// "tail": everything after the sum, same weights, same kernels) on the sum.
//
// The result is bit-identical to the full graph on one row: that ReduceSum
// adds the gathered rows in index order in float32, as the loop does
// (checked on random data and by bench/answers on every vignette); adding
// the all-zero padding rows changes no sum, so they are skipped.
type embeddingBag struct {
	emb    []float32 // (vocab+1) rows of hidden values; the last row is the padding row
	hidden int
	input  string // the tail's input: the name of the sum in the full graph
	tail   *inference.Session
}

// modelFiles is what a Runner offers when it can name a model's ONNX file
// (inference.Repository does; test stubs need not).
type modelFiles interface {
	ModelFile(name, version string) (string, error)
}

// loadBag derives the embedding bag of a loaded head, or returns nil when
// the runner cannot name its file or the graph is not an embedding bag
// (the head then runs whole through the runner, as before).
func loadBag(run inference.Runner, c *classifier, cfg *inference.ModelConfig) (*embeddingBag, error) {
	mf, ok := run.(modelFiles)
	if !ok {
		return nil, nil
	}
	path, err := mf.ModelFile(c.name, c.version)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embedding bag: %w", err)
	}
	b, tail, err := splitBag(data)
	if errors.Is(err, errNotBag) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("embedding bag of %s/%s: %w", c.name, c.version, err)
	}
	if want := (c.feat.Vocab() + 1) * b.hidden; len(b.emb) != want {
		return nil, fmt.Errorf("embedding bag of %s/%s: %d weights, want %d rows of %d", c.name, c.version, len(b.emb), c.feat.Vocab()+1, b.hidden)
	}
	tcfg := *cfg
	tcfg.Inputs = []inference.IOConfig{{Name: b.input, DataType: inference.FP32, Shape: []int64{int64(b.hidden)}}}
	if b.tail, err = inference.OpenSessionData(path, tail, &tcfg); err != nil {
		return nil, fmt.Errorf("embedding bag of %s/%s: %w", c.name, c.version, err)
	}
	return b, nil
}

// predict sums the embedding rows of idx and runs the tail on the sum.
func (b *embeddingBag) predict(idx []int64) ([]inference.Tensor, error) {
	sum := make([]float32, b.hidden)
	rows := int64(len(b.emb) / b.hidden)
	pad := rows - 1
	for _, i := range idx {
		if i == pad {
			continue // the zero row: adding it changes nothing
		}
		if i < 0 || i >= rows {
			return nil, fmt.Errorf("feature index %d outside the embedding's %d rows", i, rows)
		}
		addRow(sum, b.emb[int(i)*b.hidden:int(i+1)*b.hidden])
	}
	return b.tail.Run([]inference.Tensor{{Name: b.input, DataType: inference.FP32, Shape: []int64{1, int64(b.hidden)}, Data: sum}})
}

// addRow adds row to sum element by element, eight at a time: each element
// still gets one float32 addition per row, in row order, so the sums are
// the plain loop's (the unrolling only spares bounds checks).
func addRow(sum, row []float32) {
	row = row[:len(sum)]
	for len(sum) >= 8 {
		s, r := sum[:8:8], row[:8:8]
		s[0] += r[0]
		s[1] += r[1]
		s[2] += r[2]
		s[3] += r[3]
		s[4] += r[4]
		s[5] += r[5]
		s[6] += r[6]
		s[7] += r[7]
		sum, row = sum[8:], row[8:]
	}
	for k := range sum {
		sum[k] += row[k]
	}
}

func (b *embeddingBag) close() {
	if b != nil && b.tail != nil {
		b.tail.Close()
	}
}

// halfToFloat widens an IEEE 754 half-precision value (exact).
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}
