package triage

import (
	"context"
	"fmt"
	"sort"

	"github.com/fenzhen/fenzhen/nlp"
)

// DefaultDiseaseModel is the repository name of the disease ranker.
const DefaultDiseaseModel = "triage-disease"

// Blending of the ranker with the naive-Bayes posterior (see
// models/triage-disease/MODEL_CARD.md): the differential is
// (1−w)·P_nb + w·P_ranker over the union of the naive-Bayes candidates and
// the diseases the ranker gives at least rankerMinProb.
const (
	// defaultDiseaseWeight: 0.5 beat 0.7 on both benchmarks' val parts
	// before the interview (DXY 0.730 vs 0.698, Muzhi 0.674 vs 0.663)
	// with the diagnosis and urgency dev files unchanged.
	defaultDiseaseWeight = 0.5
	// adultRankerWeight is the ranker's share for patients who are not
	// children (tuned on triage/testdata/holdout/diagnosis_dev.tsv).
	adultRankerWeight = 0.15
	rankerMinProb     = 1e-3
)

// rankerOut is one prediction of the disease head (models/triage-disease):
// P(KG disease) and, from its second output, P(symptom would be reported |
// evidence so far) per KG symptom — the interview asks what the patient
// can answer.
type rankerOut struct {
	probs []float64 // per bayes disease index (0 where the model has no label)
	ask   []float32 // per symptom in Featurizer order; nil without the head
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

// caseIndices is the classifier input for a case in the KG's vocabulary
// (what training exports).
func (e *Engine) caseIndices(c *patientCase) []int64 {
	return e.feat.Indices(c.state, c.extraction.Diseases, casePatient(c), c.extraction.Grams)
}

// inputs computes each head's index vector once per vocabulary.
type inputs struct {
	c    *patientCase
	memo map[*Featurizer][]int64
}

func (in *inputs) of(h *classifier) []int64 {
	if v, ok := in.memo[h.feat]; ok {
		return v
	}
	v := h.feat.Indices(in.c.state, in.c.extraction.Diseases, casePatient(in.c), in.c.extraction.Grams)
	in.memo[h.feat] = v
	return v
}

func newInputs(c *patientCase) *inputs { return &inputs{c: c, memo: map[*Featurizer][]int64{}} }

type rankResult struct {
	ro  *rankerOut
	err error
}

// rank runs the disease head on its input; nil without one.
func (e *Engine) rank(ctx context.Context, idx []int64) (*rankerOut, error) {
	if e.disease == nil {
		return nil, nil
	}
	probs, ask, err := e.disease.predict(ctx, idx)
	if err != nil {
		return nil, err
	}
	o := &rankerOut{probs: make([]float64, len(e.nb.diseases)), ask: ask}
	for i, p := range probs {
		o.probs[e.diseaseIdx[i]] += float64(p)
	}
	return o, nil
}

// blend mixes the naive-Bayes posterior with the ranker's distribution;
// post is returned unchanged without a ranker output.
func (e *Engine) blend(c *patientCase, post []scored, ro *rankerOut) []scored {
	if ro == nil {
		return post
	}
	// The ranker learnt from children's consultations (DXY, Muzhi) and KG
	// texts: it decides for children, and only nudges an adult's ranking.
	w := e.opts.DiseaseModelWeight
	if !c.isChild() {
		w = adultRankerWeight
	}
	p := make(map[int]float64, len(post)+16)
	for _, s := range post {
		p[s.idx] += (1 - w) * s.prob
	}
	for i, q := range ro.probs {
		if q >= rankerMinProb && e.nb.plausible(i, c) {
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

// loadDiseaseHead checks the disease head's labels (KG disease ids) and
// second output (one value per KG symptom) against this KG.
func (e *Engine) loadDiseaseHead(c *classifier) error {
	pos := map[string]int{}
	for i, d := range e.nb.diseases {
		pos[d.ID] = i
	}
	for _, l := range c.labels {
		i, ok := pos[l]
		if !ok {
			return fmt.Errorf("disease model %s/%s: label %q is not a disease of the knowledge graph", c.name, c.version, l)
		}
		e.diseaseIdx = append(e.diseaseIdx, i)
	}
	e.disease = c
	return nil
}
