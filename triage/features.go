package triage

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// FeatureLayout names the layout below; a model records the layout it was
// trained on (config parameter feature_layout) and triage.New refuses one
// that differs.
//
// The triage heads read a list of feature indices (an embedding bag), all
// features binary:
//
//	[0, S)                 symptom present now (KG symptom ids sorted)
//	[S, 2S)                symptom absent now
//	[2S, 2S+D)             disease named by the patient (KG disease ids sorted; not someone else's)
//	[2S+D, 2S+D+7)         patient: infant, child, adult, elderly, male, female, pregnant
//	[2S+D+7, 2S+D+7+B)     character 1-, 2- and 3-grams (nlp.Result.Grams mod B)
//
// Vocab() = 2S+D+7+B. The list is sorted, without repeats, cut at Width()
// indices and padded with Vocab() (the model's all-zero padding row).
const (
	FeatureLayout   = "triage-v2"
	NgramBuckets    = 1 << 15
	FeatureWidth    = 512
	patientFeatures = 7
)

// Featurizer maps extraction results to classifier inputs. Its symptom and
// disease vocabulary is the one the models were trained with (recorded in
// their config), so the KG may grow without breaking them: a finding the
// models never saw has no feature until they are retrained.
type Featurizer struct {
	symIndex map[string]int
	symIDs   []string
	nsym     int
	disIndex map[string]int
	disIDs   []string
	ndis     int
}

// NewFeaturizer takes the vocabulary of kg (sorted ids), as training does.
func NewFeaturizer(kg *knowledge.KG) *Featurizer {
	var syms, dis []string
	for _, s := range kg.Symptoms() {
		syms = append(syms, s.ID)
	}
	for _, d := range kg.Diseases() {
		dis = append(dis, d.ID)
	}
	sort.Strings(syms)
	sort.Strings(dis)
	return newFeaturizer(syms, dis)
}

func newFeaturizer(syms, dis []string) *Featurizer {
	f := &Featurizer{symIndex: map[string]int{}, disIndex: map[string]int{}, symIDs: syms, disIDs: dis}
	for i, id := range syms {
		f.symIndex[id] = i
	}
	for i, id := range dis {
		f.disIndex[id] = i
	}
	f.nsym, f.ndis = len(syms), len(dis)
	return f
}

// modelFeaturizer reads the vocabulary a model was trained on from its
// config parameters (symptoms, diseases: comma-separated ids in feature
// order).
func modelFeaturizer(params map[string]string) (*Featurizer, error) {
	syms, dis := splitIDs(params["symptoms"]), splitIDs(params["diseases"])
	if len(syms) == 0 {
		return nil, fmt.Errorf("config parameters name no symptom vocabulary")
	}
	f := newFeaturizer(syms, dis)
	if got, want := params["vocab"], strconv.Itoa(f.Vocab()); got != want {
		return nil, fmt.Errorf("config parameters: vocab %s, but the listed vocabulary gives %s", got, want)
	}
	return f, nil
}

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// same reports the same vocabulary.
func (f *Featurizer) same(g *Featurizer) bool {
	return slices.Equal(f.symIDs, g.symIDs) && slices.Equal(f.disIDs, g.disIDs)
}

// Diseases is the disease vocabulary in feature order.
func (f *Featurizer) Diseases() []string { return f.disIDs }

// Vocab is the number of distinct features (the padding index).
func (f *Featurizer) Vocab() int { return 2*f.nsym + f.ndis + patientFeatures + NgramBuckets }

// Width is the length of an index vector.
func (f *Featurizer) Width() int { return FeatureWidth }

// Symptoms is the symptom vocabulary in feature order.
func (f *Featurizer) Symptoms() []string { return f.symIDs }

// Indices computes the index vector of a case: its symptom states (id →
// present/absent), the diseases the text names, who the patient is, and the
// text's n-grams.
func (f *Featurizer) Indices(state map[string]string, diseases []nlp.Term, p nlp.Patient, grams []uint32) []int64 {
	out := make([]int64, 0, f.Width())
	for id, s := range state {
		i, ok := f.symIndex[id]
		if !ok {
			continue
		}
		switch s {
		case StatePresent:
			out = append(out, int64(i))
		case StateAbsent:
			out = append(out, int64(f.nsym+i))
		}
	}
	base := 2 * f.nsym
	for _, d := range diseases {
		if i, ok := f.disIndex[d.ID]; ok && d.State == nlp.Present && d.Context != nlp.CtxOther {
			out = append(out, int64(base+i))
		}
	}
	base += f.ndis
	switch p.AgeGroup {
	case "infant":
		out = append(out, int64(base))
	case "child":
		out = append(out, int64(base+1))
	case "adult":
		out = append(out, int64(base+2))
	case "elderly":
		out = append(out, int64(base+3))
	}
	switch p.Sex {
	case "male":
		out = append(out, int64(base+4))
	case "female":
		out = append(out, int64(base+5))
	}
	if p.Pregnant {
		out = append(out, int64(base+6))
	}
	base += patientFeatures
	for _, g := range grams {
		out = append(out, int64(base)+int64(g%NgramBuckets))
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > f.Width() {
		out = out[:f.Width()]
	}
	pad := int64(f.Vocab())
	for len(out) < f.Width() {
		out = append(out, pad)
	}
	return out
}

// TextIndices is the classifier input for a text alone, as in training:
// the extraction's current symptoms, named diseases, patient hints and
// n-grams.
func (f *Featurizer) TextIndices(x *nlp.Extractor, text string) []int64 {
	r := x.Extract(text)
	return f.Indices(r.Evidence(), r.Diseases, r.Patient, r.Grams)
}

// RequestIndices is the index vector the heads read for a request, without
// padding (training export and the golden tests use it).
func (e *Engine) RequestIndices(req Request) ([]int64, error) {
	if r := []rune(req.Text); len(r) > MaxTextRunes {
		req.Text = string(r[:MaxTextRunes])
	}
	if req.Text == "" {
		req.Text = " "
	}
	c := e.buildCase(&req)
	idx := e.caseIndices(c)
	pad := int64(e.feat.Vocab())
	for len(idx) > 0 && idx[len(idx)-1] == pad {
		idx = idx[:len(idx)-1]
	}
	return idx, nil
}
