package triage

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// DefaultDiseaseModel is the repository name of the disease ranker.
const DefaultDiseaseModel = "triage-disease"

// Blending of the ranker with the naive-Bayes posterior (see
// models/triage-disease/MODEL_CARD.md): the differential is
// (1−w)·P_nb + w·P_ranker over the union of the naive-Bayes candidates and
// the diseases the ranker gives at least rankerMinProb.
const (
	defaultDiseaseWeight = 0.7
	rankerMinProb        = 1e-3
)

// diseaseRanker is the ONNX disease ranker (models/triage-disease) behind
// the repository's batcher. It reads the department classifier's feature
// vector (triage.Featurizer) and gives P(disease) over KG disease ids and,
// when the model has the second output, P(symptom would be reported |
// evidence so far) per KG symptom — the interview asks what the patient
// can answer.
type diseaseRanker struct {
	run     inference.Runner
	name    string
	version string
	input   string
	labels  []string // KG disease ids, output order
	nbIdx   []int    // labels[i] → index in bayes.diseases
	hasAsk  bool
}

// rankerOut is one prediction.
type rankerOut struct {
	probs []float64 // per bayes disease index (0 where the model has no label)
	ask   []float32 // per symptom in Featurizer order; nil without the head
}

func loadRanker(kg *knowledge.KG, nb *bayes, run inference.Runner, name, version string, dim, nsym int) (*diseaseRanker, error) {
	v, cfg, err := run.Config(name, version)
	if err != nil {
		return nil, fmt.Errorf("disease model %s: %w", name, err)
	}
	if len(cfg.Inputs) != 1 || len(cfg.Outputs) < 1 || len(cfg.Outputs) > 2 {
		return nil, fmt.Errorf("disease model %s/%s: want one input and one or two outputs", name, v)
	}
	in, out := cfg.Inputs[0], cfg.Outputs[0]
	if in.DataType != inference.FP32 || len(in.Shape) != 1 || in.Shape[0] != int64(dim) {
		return nil, fmt.Errorf("disease model %s/%s: input %s %v does not match the %d features this knowledge graph gives (retrain with models/triage/train_disease.py)", name, v, in.DataType, in.Shape, dim)
	}
	if cfg.MaxBatchSize <= 0 {
		return nil, fmt.Errorf("disease model %s/%s: needs a batch dimension (max_batch_size > 0)", name, v)
	}
	if len(out.Shape) != 1 || int(out.Shape[0]) != len(cfg.Labels) || len(cfg.Labels) == 0 {
		return nil, fmt.Errorf("disease model %s/%s: output %v needs one label per class, have %d", name, v, out.Shape, len(cfg.Labels))
	}
	pos := map[string]int{}
	for i, d := range nb.diseases {
		pos[d.ID] = i
	}
	r := &diseaseRanker{run: run, name: name, version: v, input: in.Name, labels: cfg.Labels}
	for _, l := range cfg.Labels {
		i, ok := pos[l]
		if !ok {
			return nil, fmt.Errorf("disease model %s/%s: label %q is not a disease of the knowledge graph", name, v, l)
		}
		r.nbIdx = append(r.nbIdx, i)
	}
	if len(cfg.Outputs) == 2 {
		if a := cfg.Outputs[1]; len(a.Shape) != 1 || a.Shape[0] != int64(nsym) {
			return nil, fmt.Errorf("disease model %s/%s: second output %v, want one value per KG symptom (%d)", name, v, a.Shape, nsym)
		}
		r.hasAsk = true
	}
	return r, nil
}

func (r *diseaseRanker) predict(ctx context.Context, feats []float32, ndis int) (*rankerOut, error) {
	res, err := r.run.Infer(ctx, inference.Request{Model: r.name, Version: r.version, Inputs: []inference.Tensor{{
		Name: r.input, DataType: inference.FP32, Shape: []int64{1, int64(len(feats))}, Data: feats,
	}}})
	if err != nil {
		return nil, fmt.Errorf("disease model %s/%s: %w", r.name, r.version, err)
	}
	want := 1
	if r.hasAsk {
		want = 2
	}
	if len(res.Outputs) != want {
		return nil, fmt.Errorf("disease model %s/%s: %d outputs, want %d", r.name, r.version, len(res.Outputs), want)
	}
	probs, ok := res.Outputs[0].Data.([]float32)
	if !ok || len(probs) != len(r.labels) {
		return nil, fmt.Errorf("disease model %s/%s: output is %T of %d values, want %d float32", r.name, r.version, res.Outputs[0].Data, len(probs), len(r.labels))
	}
	o := &rankerOut{probs: make([]float64, ndis)}
	for i, p := range probs {
		o.probs[r.nbIdx[i]] += float64(p)
	}
	if r.hasAsk {
		if o.ask, ok = res.Outputs[1].Data.([]float32); !ok {
			return nil, fmt.Errorf("disease model %s/%s: second output is %T", r.name, r.version, res.Outputs[1].Data)
		}
	}
	return o, nil
}

// casePatient is the patient part of the classifier features: the
// extractor's hints overridden by the request's age and sex.
func casePatient(c *patientCase) nlp.Patient {
	p := c.extraction.Patient
	p.Sex, p.Pregnant = c.sex, c.pregnant
	if c.ageGroup != "" {
		p.AgeGroup = c.ageGroup
	}
	return p
}

// caseFeatures is the classifier input for a case (both models read it).
func (e *Engine) caseFeatures(text string, c *patientCase) []float32 {
	return e.feat.Features(text, c.state, casePatient(c))
}

type rankResult struct {
	ro  *rankerOut
	err error
}

// rank runs the disease ranker on the case; nil without a ranker.
func (e *Engine) rank(ctx context.Context, feats []float32) (*rankerOut, error) {
	if e.ranker == nil {
		return nil, nil
	}
	return e.ranker.predict(ctx, feats, len(e.nb.diseases))
}

// blend mixes the naive-Bayes posterior with the ranker's distribution;
// post is returned unchanged without a ranker output.
func (e *Engine) blend(post []scored, ro *rankerOut) []scored {
	if ro == nil {
		return post
	}
	w := e.opts.DiseaseModelWeight
	p := make(map[int]float64, len(post)+16)
	for _, s := range post {
		p[s.idx] += (1 - w) * s.prob
	}
	for i, q := range ro.probs {
		if q >= rankerMinProb {
			p[i] += w * q
		}
	}
	out := make([]scored, 0, len(p))
	var sum float64
	for i, q := range p {
		out = append(out, scored{i, q})
		sum += q
	}
	if sum <= 0 {
		return post
	}
	for k := range out {
		out[k].prob /= sum
	}
	sort.Slice(out, func(a, z int) bool {
		if out[a].prob != out[z].prob {
			return out[a].prob > out[z].prob
		}
		return e.nb.diseases[out[a].idx].ID < e.nb.diseases[out[z].idx].ID
	})
	return out
}

// optionalRanker loads the ranker; a missing default model is not an
// error (the engine then ranks diseases by the KG alone).
func optionalRanker(e *Engine, runner inference.Runner) error {
	name, explicit := e.opts.DiseaseModel, true
	if name == "" {
		name, explicit = DefaultDiseaseModel, false
	}
	if name == "-" {
		return nil
	}
	r, err := loadRanker(e.kg, e.nb, runner, name, e.opts.ModelVersionDisease, e.feat.Dim(), e.feat.nsym)
	if err != nil {
		if !explicit && errors.Is(err, inference.ErrModelNotFound) {
			return nil
		}
		return err
	}
	e.ranker = r
	return nil
}
