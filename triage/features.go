package triage

import (
	"hash/fnv"
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// Feature layout of the department classifier (models/triage/train.py
// reads the vectors this code writes, so it never reimplements it):
//
//	[0, S)            symptom present (KG symptom ids sorted)
//	[S, 2S)           symptom absent
//	[2S, 2S+7)        patient: infant, child, adult, elderly, male, female, pregnant
//	[2S+7, 2S+7+4096) hashed character 1- and 2-grams
//
// The n-grams are taken over the runes of knowledge.Normalize(text) that
// are letters or digits (punctuation and spaces dropped); each gram's
// UTF-8 bytes are hashed with 32-bit FNV-1a, modulo NgramBuckets. All
// values are 0 or 1.
const (
	NgramBuckets    = 4096
	patientFeatures = 7
)

// Featurizer maps text and extraction results to classifier inputs.
type Featurizer struct {
	symIndex map[string]int
	nsym     int
}

// NewFeaturizer fixes the symptom vocabulary of kg.
func NewFeaturizer(kg *knowledge.KG) *Featurizer {
	ids := make([]string, 0, len(kg.Symptoms()))
	for _, s := range kg.Symptoms() {
		ids = append(ids, s.ID)
	}
	sort.Strings(ids)
	f := &Featurizer{symIndex: make(map[string]int, len(ids)), nsym: len(ids)}
	for i, id := range ids {
		f.symIndex[id] = i
	}
	return f
}

// Dim is the length of a feature vector.
func (f *Featurizer) Dim() int { return 2*f.nsym + patientFeatures + NgramBuckets }

// Features computes the vector for text with its symptom states (id →
// present/absent) and patient hints.
func (f *Featurizer) Features(text string, state map[string]string, p nlp.Patient) []float32 {
	v := make([]float32, f.Dim())
	for id, s := range state {
		i, ok := f.symIndex[id]
		if !ok {
			continue
		}
		switch s {
		case StatePresent:
			v[i] = 1
		case StateAbsent:
			v[f.nsym+i] = 1
		}
	}
	base := 2 * f.nsym
	switch p.AgeGroup {
	case "infant":
		v[base] = 1
	case "child":
		v[base+1] = 1
	case "adult":
		v[base+2] = 1
	case "elderly":
		v[base+3] = 1
	}
	switch p.Sex {
	case "male":
		v[base+4] = 1
	case "female":
		v[base+5] = 1
	}
	if p.Pregnant {
		v[base+6] = 1
	}
	off := base + patientFeatures
	for _, b := range NgramIndices(text) {
		v[off+b] = 1
	}
	return v
}

// NgramIndices returns the bucket of every 1- and 2-gram of text (with
// repeats, in text order).
func NgramIndices(text string) []int {
	var rs []rune
	for _, r := range knowledge.Normalize(text) {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			rs = append(rs, r)
		}
	}
	out := make([]int, 0, 2*len(rs))
	h := fnv.New32a()
	var buf [8]byte
	for i := range rs {
		for n := 1; n <= 2 && i+n <= len(rs); n++ {
			h.Reset()
			b := buf[:0]
			for _, r := range rs[i : i+n] {
				b = appendRune(b, r)
			}
			h.Write(b)
			out = append(out, int(h.Sum32()%NgramBuckets))
		}
	}
	return out
}

func appendRune(b []byte, r rune) []byte { return utf8.AppendRune(b, r) }

// TextFeatures is the classifier input for a text alone, as in training.
func (f *Featurizer) TextFeatures(x *nlp.Extractor, text string) []float32 {
	r := x.Extract(text)
	return f.Features(text, r.Evidence(), r.Patient)
}

// TextFeatureIndices lists the 1-valued positions of TextFeatures.
func TextFeatureIndices(f *Featurizer, x *nlp.Extractor, text string) []int {
	v := f.TextFeatures(x, text)
	idx := make([]int, 0, 64)
	for i, x := range v {
		if x != 0 {
			idx = append(idx, i)
		}
	}
	return idx
}
