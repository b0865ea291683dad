package triage

import (
	"math"
	"sort"
)

// mainComplaint is asked when nothing recognisable was said yet.
var mainComplaint = &Question{Name: "主要症状", Text: "请问您哪里不舒服？主要症状是什么，持续多久了？"}

const (
	questionCandidates = 40   // diseases considered for information gain
	minGain            = 1e-3 // below this no question changes the answer
	// maxRedFlagQuestions bounds the safety questions so the interview
	// still reaches the differential.
	maxRedFlagQuestions = 4
)

// nextQuestion picks what to ask. Red flags come first: a symptom that
// would complete an emergency rule is asked before any information-gain
// question, because missing an emergency costs more than a longer
// interview. Otherwise it is the unasked KG symptom with the highest
// expected information gain over the disease posterior.
func (e *Engine) nextQuestion(c *patientCase, post []scored) *Question {
	if len(c.present()) == 0 {
		return mainComplaint
	}
	if c.answers >= e.opts.MaxQuestions {
		return nil
	}
	if q := e.redFlagQuestion(c); q != nil && c.answers < maxRedFlagQuestions {
		return q
	}
	if len(post) == 0 || post[0].prob >= e.opts.ConfidentPosterior {
		return nil
	}
	cand := post
	if len(cand) > questionCandidates {
		cand = cand[:questionCandidates]
	}
	var z float64
	for _, s := range cand {
		z += s.prob
	}
	p := make([]float64, len(cand))
	for i, s := range cand {
		p[i] = s.prob / z
	}
	h0 := entropy(p)
	syms := map[string]bool{}
	for _, s := range cand {
		for id := range e.nb.diseases[s.idx].Symptoms {
			if !c.asked[id] {
				syms[id] = true
			}
		}
	}
	ids := make([]string, 0, len(syms))
	for id := range syms {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	best, bestGain := "", minGain
	yes, no := make([]float64, len(cand)), make([]float64, len(cand))
	for _, id := range ids {
		sym, ok := e.kg.Symptom(id)
		if !ok || sym.Question == "" {
			continue
		}
		var py float64
		for i, s := range cand {
			f := freq(e.nb.diseases[s.idx], id)
			yes[i], no[i] = p[i]*f, p[i]*(1-f)
			py += yes[i]
		}
		if py <= 0 || py >= 1 {
			continue
		}
		gain := h0 - py*scaledEntropy(yes, py) - (1-py)*scaledEntropy(no, 1-py)
		if gain > bestGain+1e-12 {
			best, bestGain = id, gain
		}
	}
	if best == "" {
		return nil
	}
	sym, _ := e.kg.Symptom(best)
	return &Question{SymptomID: sym.ID, Name: sym.Name, Text: sym.Question}
}

// redFlagQuestion returns the question for a missing symptom of an
// emergency rule whose other symptom conditions already hold.
func (e *Engine) redFlagQuestion(c *patientCase) *Question {
	for _, rf := range e.kg.RedFlags() {
		if rf.Urgency != LevelEmergency || len(rf.All) == 0 {
			continue
		}
		missing := ""
		ok := true
		for _, id := range rf.All {
			if c.has(id) {
				continue
			}
			if missing != "" || c.asked[id] {
				ok = false
				break
			}
			missing = id
		}
		if !ok {
			continue
		}
		if missing == "" && len(rf.Any) > 0 {
			anyHit := false
			for _, id := range rf.Any {
				anyHit = anyHit || c.has(id)
			}
			if anyHit {
				continue // already fired
			}
			for _, id := range rf.Any {
				if !c.asked[id] {
					missing = id
					break
				}
			}
		}
		// Only ask when at least one of the rule's findings is present;
		// otherwise every chest-pain rule would be asked of every patient.
		if missing == "" || len(rf.All) == 1 && rf.All[0] == missing {
			continue
		}
		if rf.Pregnant && !c.pregnant || rf.AgeMax > 0 && !c.isChild() && !(c.age >= 0 && c.age <= rf.AgeMax) {
			continue
		}
		if sym, ok := e.kg.Symptom(missing); ok && sym.Question != "" {
			return &Question{SymptomID: sym.ID, Name: sym.Name, Text: sym.Question}
		}
	}
	return nil
}

// scaledEntropy is entropy(v / z) without allocating the normalised copy:
// H(v/z) = log2 z − (1/z) Σ v log2 v.
func scaledEntropy(v []float64, z float64) float64 {
	var s float64
	for _, x := range v {
		if x > 0 {
			s += x * math.Log2(x)
		}
	}
	return math.Log2(z) - s/z
}

func entropy(p []float64) float64 {
	var h float64
	for _, x := range p {
		if x > 0 {
			h -= x * math.Log2(x)
		}
	}
	return h
}
