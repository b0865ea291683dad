package triage

import (
	"math"
	"sort"

	"github.com/fenzhen/fenzhen/knowledge"
)

// Naive-Bayes constants. leak is P(symptom | disease) for a symptom the
// disease does not list: patients mention unrelated complaints, and the KG
// lists only the typical ones, so a zero would veto diseases on noise.
const (
	leak           = 0.03
	defaultPrev    = 0.1
	outOfAgeFactor = 0.05
	// unstatedAgeChildFactor scales diseases of children only when the
	// text gives no age and no child cue.
	unstatedAgeChildFactor = 0.2
	wrongSexFactor         = 1e-6
	notPregnantObst        = 0.02
	minFreq                = 0.01
	maxFreq                = 0.99
)

// bayes holds the KG's disease–symptom table in index form.
type bayes struct {
	kg       *knowledge.KG
	diseases []*knowledge.Disease
	// bySymptom: symptom id → indices of diseases listing it.
	bySymptom map[string][]int
}

func newBayes(kg *knowledge.KG) *bayes {
	b := &bayes{kg: kg, bySymptom: map[string][]int{}}
	ds := kg.Diseases()
	for i := range ds {
		b.diseases = append(b.diseases, &ds[i])
		for s := range ds[i].Symptoms {
			b.bySymptom[s] = append(b.bySymptom[s], i)
		}
	}
	return b
}

func freq(d *knowledge.Disease, sym string) float64 {
	f, ok := d.Symptoms[sym]
	if !ok {
		return leak
	}
	return math.Min(maxFreq, math.Max(minFreq, f))
}

// scored is one disease with its normalised posterior.
type scored struct {
	idx  int
	prob float64
}

// posterior returns the diseases that explain at least one present
// symptom, best first, with probabilities summing to 1. Restricting to
// those avoids ranking diseases on priors and absent findings alone.
func (b *bayes) posterior(c *patientCase, state map[string]string) []scored {
	cand := map[int]bool{}
	for id, s := range state {
		if s == StatePresent {
			for _, i := range b.bySymptom[id] {
				cand[i] = true
			}
		}
	}
	if len(cand) == 0 {
		return nil
	}
	out := make([]scored, 0, len(cand))
	maxLog := math.Inf(-1)
	for i := range cand {
		lp := b.logPrior(i, c)
		d := b.diseases[i]
		for id, s := range state {
			f := freq(d, id)
			if s == StatePresent {
				lp += math.Log(f)
			} else if s == StateAbsent {
				lp += math.Log(1 - f)
			}
		}
		out = append(out, scored{i, lp})
		maxLog = math.Max(maxLog, lp)
	}
	var sum float64
	for k := range out {
		out[k].prob = math.Exp(out[k].prob - maxLog)
		sum += out[k].prob
	}
	for k := range out {
		out[k].prob /= sum
	}
	sort.Slice(out, func(a, z int) bool {
		if out[a].prob != out[z].prob {
			return out[a].prob > out[z].prob
		}
		return b.diseases[out[a].idx].ID < b.diseases[out[z].idx].ID
	})
	return out
}

func (b *bayes) logPrior(i int, c *patientCase) float64 {
	d := b.diseases[i]
	p := d.Prevalence
	if p <= 0 {
		p = defaultPrev
	}
	lp := math.Log(p)
	if c.age >= 0 {
		lo, hi := d.AgeRange()
		if c.age < lo || c.age > hi {
			lp += math.Log(outOfAgeFactor)
		}
	} else if c.isChild() {
		if lo, _ := d.AgeRange(); lo >= 14 {
			lp += math.Log(outOfAgeFactor)
		}
	} else if _, hi := d.AgeRange(); hi <= 14 {
		// No age and no 孩子/宝宝: most such texts are adults writing
		// about themselves, so children's diseases are less likely.
		lp += math.Log(unstatedAgeChildFactor)
	}
	if d.Sex != "" && c.sex != "" && d.Sex != c.sex {
		lp += math.Log(wrongSexFactor)
	}
	if isObstetric(d) && !c.pregnant {
		lp += math.Log(notPregnantObst)
	}
	return lp
}

func isObstetric(d *knowledge.Disease) bool { return d.Department == "05.02" }
