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
// taken at the model's default operating point (Decide; the argmax, first
// class on ties, for a model without one). AUC is the binary ROC AUC of the
// last class for two classes, else the macro one-vs-rest mean; ties in
// scores get average ranks (as sklearn and the training scripts compute it).
type EvalResult struct {
	Model, Version   string
	Labels           []string
	N                int
	OperatingPoint   string `json:",omitempty"` // the point Accuracy… are at; "" for the argmax
	Accuracy         float64
	AUC              float64
	BalancedAccuracy float64
	Recall           []float64 // per class, in label order
	ClassAUC         []float64 // one-vs-rest, in label order
	Confusion        [][]int   // true × predicted
	// Points holds the decision figures at every operating point of the model.
	Points []PointResult `json:",omitempty"`
	// OODFlagged and OODRefused are the shares of images whose "ood" output
	// is over the gate's flag and refuse thresholds (the model's score only;
	// the rule checks are measured through HTTP by `fenzhen eval imaging`).
	OODFlagged, OODRefused float64
}

// PointResult is the decision figures at one operating point. For two
// classes Sensitivity is the recall of the second label and Specificity of
// the first.
type PointResult struct {
	Name                     string
	Threshold                *float64 `json:",omitempty"`
	Accuracy                 float64
	BalancedAccuracy         float64
	Sensitivity, Specificity float64
	Recall                   []float64
	Confusion                [][]int
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
	var ood []float32
	g := cfg.Gate
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
		if g != nil && g.OODFlag > 0 {
			o, err := oodScores(res, g.OODOutput, n)
			if err != nil {
				return nil, fmt.Errorf("batch at %d: %w", start, err)
			}
			ood = append(ood, o...)
		}
	}
	out := MetricsAt(labels, ds.Labels, probs, cfg.OperatingPoints)
	out.Model, out.Version = model, version
	for _, o := range ood {
		if float64(o) > g.OODFlag {
			out.OODFlagged++
		}
		if g.OODRefuse > 0 && float64(o) > g.OODRefuse {
			out.OODRefused++
		}
	}
	if len(ood) > 0 {
		out.OODFlagged /= float64(len(ood))
		out.OODRefused /= float64(len(ood))
	}
	return out, nil
}

// Metrics computes EvalResult's figures from true labels and probabilities,
// deciding by the argmax.
func Metrics(labels []string, y []int, probs [][]float32) *EvalResult {
	return MetricsAt(labels, y, probs, nil)
}

// MetricsAt computes EvalResult's figures with decisions at every operating
// point of ops (the top-level figures at ops.Default; the argmax when ops is nil).
func MetricsAt(labels []string, y []int, probs [][]float32, ops *inference.OperatingPoints) *EvalResult {
	names := []string{""}
	if ops != nil {
		names = names[:0]
		for n := range ops.Points {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var res *EvalResult
	var points []PointResult
	for _, name := range names {
		var op *inference.OperatingPoint
		if ops != nil {
			o := ops.Points[name]
			op = &o
		}
		pred := make([]int, len(y))
		for i := range y {
			pred[i] = Decide(op, probs[i])
		}
		r := MetricsOf(labels, y, probs, pred)
		if ops == nil || name == ops.Default {
			res = r
			res.OperatingPoint = name
		}
		if op != nil {
			pr := PointResult{Name: name, Threshold: op.Threshold, Accuracy: r.Accuracy, BalancedAccuracy: r.BalancedAccuracy, Recall: r.Recall, Confusion: r.Confusion}
			if len(labels) == 2 {
				pr.Sensitivity, pr.Specificity = r.Recall[1], r.Recall[0]
			}
			points = append(points, pr)
		}
	}
	res.Points = points
	return res
}

// MetricsOf computes EvalResult's figures from true labels, probabilities
// (for the AUCs) and decided labels pred.
func MetricsOf(labels []string, y []int, probs [][]float32, pred []int) *EvalResult {
	k := len(labels)
	res := &EvalResult{Labels: labels, N: len(y), Recall: make([]float64, k), ClassAUC: make([]float64, k), Confusion: make([][]int, k)}
	for i := range res.Confusion {
		res.Confusion[i] = make([]int, k)
	}
	correct := 0
	for i, t := range y {
		if t >= 0 && t < k && pred[i] >= 0 && pred[i] < k {
			res.Confusion[t][pred[i]]++
		}
		if pred[i] == t {
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
