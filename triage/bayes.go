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

// vagueSymptoms: what patients say first (肚子疼, 胸口不舒服, 头晕) covers
// the specific findings the KG lists for a disease (上腹痛, 胸痛, 眩晕). A
// disease that lists a specific finding but not the vague one explains
// the vague word with vagueShare of the specific finding's frequency, and
// becomes a candidate for it; without this, 胸口不舒服 (listed by one
// disease) would end the interview at once.
var vagueSymptoms = map[string][]string{
	"abdominal_pain": {"epigastric_pain", "lower_abdominal_pain", "right_upper_quadrant_pain", "right_lower_quadrant_pain",
		"left_lower_quadrant_pain", "periumbilical_pain", "severe_abdominal_pain", "colicky_abdominal_pain", "renal_colic",
		"pelvic_pain", "sudden_pelvic_pain", "dysmenorrhea"},
	"chest_discomfort": {"chest_pain", "chest_tightness", "heartburn", "exertional_chest_pain", "pleuritic_chest_pain", "rest_chest_pain"},
	"headache":         {"unilateral_throbbing_headache", "band_headache", "sudden_severe_headache", "morning_headache", "facial_pressure"},
	"dizziness":        {"vertigo", "positional_vertigo", "orthostatic_dizziness"},
	"back_pain":        {"flank_pain", "low_back_leg_pain", "renal_colic", "skin_burning_pain"},
	// 肚子不舒服 is vaguer than 肚子疼: any abdominal complaint explains it.
	"abdominal_discomfort": {"abdominal_pain", "epigastric_pain", "lower_abdominal_pain", "abdominal_distension", "indigestion",
		"periumbilical_pain", "right_upper_quadrant_pain", "bloating_stomach", "nausea"},
}

const vagueShare = 0.7

// bayes holds the KG's disease–symptom table in index form.
type bayes struct {
	kg       *knowledge.KG
	diseases []*knowledge.Disease
	// bySymptom: symptom id → indices of diseases listing it (or, for a
	// vague symptom, one of its specific findings).
	bySymptom map[string][]int
	// vague: per disease, vague symptom id → frequency it explains.
	vague []map[string]float64
	// spec: per symptom, its specificity weight (weight).
	spec map[string]float64
}

func newBayes(kg *knowledge.KG) *bayes {
	b := &bayes{kg: kg, bySymptom: map[string][]int{}}
	ds := kg.Diseases()
	for i := range ds {
		d := &ds[i]
		b.diseases = append(b.diseases, d)
		for s := range d.Symptoms {
			b.bySymptom[s] = append(b.bySymptom[s], i)
		}
		var v map[string]float64
		for g, specs := range vagueSymptoms {
			if _, listed := d.Symptoms[g]; listed {
				continue
			}
			var f float64
			for _, s := range specs {
				f = math.Max(f, d.Symptoms[s])
			}
			if f > 0 {
				if v == nil {
					v = map[string]float64{}
				}
				v[g] = vagueShare * f
				b.bySymptom[g] = append(b.bySymptom[g], i)
			}
		}
		b.vague = append(b.vague, v)
	}
	for _, l := range b.bySymptom {
		sort.Ints(l)
	}
	b.spec = map[string]float64{}
	n := float64(len(b.diseases))
	for id, l := range b.bySymptom {
		b.spec[id] = specMin + specSpan*math.Log(n/float64(len(l)))/math.Log(n)
	}
	return b
}

var logLeak = math.Log(leak)

// specificityWeight scales a present finding's likelihood ratio:
// weight = specMin + specSpan · log(N/df)/log(N), df the number of
// diseases listing the finding (tuned on the dev vignettes and the
// benchmarks' validation parts).
const (
	specMin  = 0.2
	specSpan = 2.0
)

func (b *bayes) weight(sym string) float64 {
	if w, ok := b.spec[sym]; ok {
		return w
	}
	return specMin + specSpan
}

// like is P(symptom reported | disease i): the KG frequency, the share a
// vague word gets from a listed specific finding, else the leak.
func (b *bayes) like(i int, sym string) float64 {
	if f, ok := b.diseases[i].Symptoms[sym]; ok {
		return clampFreq(f)
	}
	if f, ok := b.vague[i][sym]; ok {
		return clampFreq(f)
	}
	return leak
}

func clampFreq(f float64) float64 { return math.Min(maxFreq, math.Max(minFreq, f)) }

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
		if !b.plausible(i, c) {
			continue
		}
		lp := b.logPrior(i, c)
		for id, s := range state {
			f := b.like(i, id)
			if s == StatePresent {
				// A specific finding (粉红色泡沫痰, listed by one disease)
				// moves a disease more than a common one (咳嗽, listed by
				// dozens): its likelihood ratio over the leak is weighted
				// by how specific it is.
				lp += logLeak + b.weight(id)*(math.Log(f)-logLeak)
			} else if s == StateAbsent {
				lp += math.Log(1 - f)
			}
		}
		out = append(out, scored{i, lp})
		maxLog = math.Max(maxLog, lp)
	}
	if len(out) == 0 {
		return nil
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

// plausible is the hard constraint of who the patient is: a children's
// disease (KG age range ending by 14) is never a candidate for an adult,
// nor an adult disease (range starting at 14) for a child under 12, nor a
// disease of the other sex. Without a stated age, words such as 宝宝 or 孩子
// make the patient a child and their absence an adult.
func (b *bayes) plausible(i int, c *patientCase) bool {
	d := b.diseases[i]
	lo, hi := d.AgeRange()
	switch {
	case c.age >= 18 || c.age < 0 && !c.isChild():
		if hi <= 14 {
			return false
		}
	case c.age >= 0 && c.age < 12 || c.age < 0 && c.isChild():
		if lo >= 14 {
			return false
		}
	}
	return d.Sex == "" || c.sex == "" || d.Sex == c.sex
}
