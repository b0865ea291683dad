package imaging

import (
	"context"
	"fmt"
	"sort"

	"github.com/fenzhen/fenzhen/inference"
)

// Dataset is a labelled set of 8-bit images of one size: N×H×W (grey) or
// N×H×W×3 (RGB), as stored in the MedMNIST-style .npz files.
type Dataset struct {
	N, Height, Width, Channels int
	Pix                        []uint8
	Labels                     []int
}

// EvalResult holds the metrics of one model on one data set. Decisions are
// the argmax of the probabilities (first class on ties). AUC is the binary
// ROC AUC of the last class for two classes, else the macro one-vs-rest
// mean; ties in scores get average ranks (as sklearn and the training
// scripts compute it).
type EvalResult struct {
	Model, Version   string
	Labels           []string
	N                int
	Accuracy         float64
	AUC              float64
	BalancedAccuracy float64
	Recall           []float64 // per class, in label order
	ClassAUC         []float64 // one-vs-rest, in label order
	Confusion        [][]int   // true × predicted
}

// Evaluate runs every image of ds through Preprocess and model in batches of
// at most batch (also capped by the model's max_batch_size).
func Evaluate(ctx context.Context, r inference.Runner, model string, ds *Dataset, batch int) (*EvalResult, error) {
	version, cfg, err := r.Config(model, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoModel, model, err)
	}
	input, labels, err := modelIO(model, cfg)
	if err != nil {
		return nil, err
	}
	if batch < 1 {
		batch = 64
	}
	if cfg.MaxBatchSize > 0 && batch > cfg.MaxBatchSize {
		batch = cfg.MaxBatchSize
	}
	if ds.N < 1 || len(ds.Labels) != ds.N || len(ds.Pix) != ds.N*ds.Height*ds.Width*ds.Channels {
		return nil, fmt.Errorf("dataset: %d labels, %d bytes for %d×%d×%d×%d", len(ds.Labels), len(ds.Pix), ds.N, ds.Height, ds.Width, ds.Channels)
	}
	p := cfg.Preprocess
	k := len(labels)
	per := p.Channels * p.Height * p.Width
	imgBytes := ds.Height * ds.Width * ds.Channels
	probs := make([][]float32, 0, ds.N)
	for start := 0; start < ds.N; start += batch {
		n := min(batch, ds.N-start)
		x := make([]float32, n*per)
		for i := 0; i < n; i++ {
			pix := ds.Pix[(start+i)*imgBytes : (start+i+1)*imgBytes]
			PreprocessInto(x[i*per:(i+1)*per], pix, ds.Width, ds.Height, ds.Channels, p)
		}
		res, err := r.Infer(ctx, inference.Request{Model: model, Version: version, Inputs: []inference.Tensor{{
			Name: input, DataType: inference.FP32, Shape: []int64{int64(n), int64(p.Channels), int64(p.Height), int64(p.Width)}, Data: x,
		}}})
		if err != nil {
			return nil, fmt.Errorf("batch at %d: %w", start, err)
		}
		if res.Version != "" {
			version = res.Version
		}
		rows, err := probabilities(res, k, n)
		if err != nil {
			return nil, fmt.Errorf("batch at %d: %w", start, err)
		}
		probs = append(probs, rows...)
	}
	out := Metrics(labels, ds.Labels, probs)
	out.Model, out.Version = model, version
	return out, nil
}

// Metrics computes EvalResult's figures from true labels and probabilities.
func Metrics(labels []string, y []int, probs [][]float32) *EvalResult {
	k := len(labels)
	res := &EvalResult{Labels: labels, N: len(y), Recall: make([]float64, k), ClassAUC: make([]float64, k), Confusion: make([][]int, k)}
	for i := range res.Confusion {
		res.Confusion[i] = make([]int, k)
	}
	correct := 0
	for i, t := range y {
		pred := 0
		for c := 1; c < k; c++ {
			if probs[i][c] > probs[i][pred] {
				pred = c
			}
		}
		if t >= 0 && t < k {
			res.Confusion[t][pred]++
		}
		if pred == t {
			correct++
		}
	}
	res.Accuracy = float64(correct) / float64(len(y))
	classes := 0
	for c := 0; c < k; c++ {
		total := 0
		for _, v := range res.Confusion[c] {
			total += v
		}
		if total > 0 {
			res.Recall[c] = float64(res.Confusion[c][c]) / float64(total)
		}
		classes++
		scores := make([]float64, len(y))
		pos := make([]bool, len(y))
		for i := range y {
			scores[i], pos[i] = float64(probs[i][c]), y[i] == c
		}
		res.ClassAUC[c] = ROCAUC(scores, pos)
	}
	for _, r := range res.Recall {
		res.BalancedAccuracy += r
	}
	res.BalancedAccuracy /= float64(classes)
	if k == 2 {
		res.AUC = res.ClassAUC[1]
	} else {
		for _, a := range res.ClassAUC {
			res.AUC += a
		}
		res.AUC /= float64(k)
	}
	return res
}

// ROCAUC is the area under the ROC curve by the rank-sum (Mann–Whitney)
// formula, ties given their average rank. NaN-free: 0.5 when one class is absent.
func ROCAUC(scores []float64, pos []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	ranks := make([]float64, len(scores))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && scores[idx[j+1]] == scores[idx[i]] {
			j++
		}
		for m := i; m <= j; m++ {
			ranks[idx[m]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	var npos, nneg, sum float64
	for i, p := range pos {
		if p {
			npos++
			sum += ranks[i]
		} else {
			nneg++
		}
	}
	if npos == 0 || nneg == 0 {
		return 0.5
	}
	return (sum - npos*(npos+1)/2) / (npos * nneg)
}
