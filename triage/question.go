package triage

import (
	"math"
	"strings"
)

// mainComplaint is asked when nothing recognisable was said yet.
var mainComplaint = &Question{Name: "主要症状", Text: "请问您哪里不舒服？主要症状是什么，持续多久了？"}

const (
	questionCandidates = 40   // diseases considered for information gain
	minGain            = 1e-3 // below this no question changes the answer
	// maxRedFlagQuestions bounds the safety questions so the interview
	// still reaches the differential.
	maxRedFlagQuestions = 4
	// redFlagPlausible: a red-flag companion is asked first only when the
	// candidate diseases listing it hold at least this share of the
	// posterior, or when no candidate list is known yet.
	redFlagPlausible = 0.02
	// askGainFloor keeps a likely-answerable question worth asking when the
	// KG frequencies see little gain in it.
	askGainFloor = 0.5
	// askBase softens the ranker's answerability estimate: the score is
	// (askBase + P(answerable)) · (gain + askGainFloor). The ask head is
	// trained mostly on the paediatric benchmarks, so used alone (askBase
	// 0) it asks children's symptoms of adults (interview vignettes 18/26).
	// 0.5 with a floor of 0.5, chosen on the benchmarks' val parts, asks
	// what patients can answer more often (hits DXY 8 → 10 %, Muzhi 24 →
	// 29 %) with 22/26 vignettes, as 3 with a floor of 0.05 did.
	askBase = 0.5
	// askInclude adds symptoms the ranker expects the patient to report
	// even when no leading candidate lists them.
	askInclude = 0.1
	// departmentGainWeight weighs the information about the department
	// against the information about the disease.
	departmentGainWeight = 1.0
)

// nextQuestion picks what to ask. Red flags come first when one is
// plausible: a symptom that would complete an emergency rule is asked
// before any information-gain question when the candidate diseases give it
// some weight (redFlagPlausible), because missing an emergency costs more
// than a longer interview. Otherwise it is the unasked symptom of the
// leading candidates with the highest expected information gain over the
// candidate distribution, weighted, when the disease ranker is loaded, by
// its estimate that the patient can answer (a question nobody can answer
// gains nothing).
func (e *Engine) nextQuestion(c *patientCase, post []scored, ro *rankerOut) (*Question, string) {
	if len(c.present()) == 0 {
		return mainComplaint, StopNoComplaint
	}
	if c.answers >= c.maxQuestions {
		return nil, StopMaxQuestion
	}
	if q := e.redFlagQuestion(c, post); q != nil && c.answers < maxRedFlagQuestions {
		return e.phrase(c, q), StopNone
	}
	if len(post) == 0 {
		return nil, StopNoGain
	}
	if post[0].prob >= e.opts.ConfidentPosterior {
		return nil, StopConfident
	}
	q := e.gainQuestion(c, post, ro)
	if q == nil {
		return nil, StopNoGain
	}
	return e.phrase(c, q), StopNone
}

// gainQuestion is the question of highest expected gain, or nil. Its
// tables (gainTable) and working memory (gainScratch) are in gaintable.go.
func (e *Engine) gainQuestion(c *patientCase, post []scored, ro *rankerOut) *Question {
	t := e.gain
	s := t.get()
	defer t.put(s)
	cand := post
	if len(cand) > questionCandidates {
		cand = cand[:questionCandidates]
	}
	var z float64
	for _, s := range cand {
		z += s.prob
	}
	p := resize(s.p, len(cand))
	logP := resize(s.logP, len(cand))
	s.p, s.logP = p, logP
	for i, s := range cand {
		p[i] = s.prob / z
	}
	var sumP, sumPLogP float64
	for i, x := range p {
		if x > 0 {
			logP[i] = math.Log2(x)
			sumP += x
			sumPLogP += x * logP[i]
		}
	}
	h0 := -sumPLogP // entropy(p)
	// The symptoms worth asking: the candidates' own findings and those the
	// ranker expects the patient to report, less what was already asked.
	for id, asked := range c.asked {
		if k, ok := t.index[id]; ok && asked {
			s.asked[k] = true
		}
	}
	for _, sc := range cand {
		for _, k := range t.own[sc.idx] {
			s.wanted[k] = true
		}
	}
	hasAsk := ro != nil && ro.ask != nil
	if hasAsk {
		for k, j := range t.ask {
			if j >= 0 && float64(ro.ask[j]) >= askInclude {
				s.wanted[k] = true
			}
		}
	}
	// For each symptom, the candidates whose likelihood is not the leak
	// (what bayes.like returns), grouped once so the loop below does no
	// look-up per candidate and symptom. A symptom with none has the leak
	// likelihood everywhere: an answer changes nothing and its gain is 0
	// without computing it.
	t.group(s, cand)
	// Departments of the candidates: the gain also counts what an answer
	// tells about where to send the patient (several diseases of one
	// department are one routing answer).
	dep := resize(s.dep, len(cand))
	s.dep = dep
	for i, sc := range cand {
		code := e.nb.diseases[sc.idx].Department
		k, ok := s.depIdx[code]
		if !ok {
			k = len(s.depIdx)
			s.depIdx[code] = k
		}
		dep[i] = k
	}
	nd := len(s.depIdx)
	s.pd = resize(s.pd, 5*nd)
	pd, yesD, noD := s.pd[:nd], s.pd[nd:2*nd], s.pd[2*nd:3*nd]
	// The x·log2 x terms of every department at the leak, the value a
	// department none of a symptom's candidates belongs to keeps: only the
	// departments an answer moves need a logarithm (departmentEntropy).
	baseYes, baseNo := s.pd[3*nd:4*nd], s.pd[4*nd:]
	s.touched = resize(s.touched, nd)
	for i := range cand {
		pd[dep[i]] += p[i]
	}
	hd0 := entropy(pd)
	for d, x := range pd {
		baseYes[d], baseNo[d] = xLog2x(leak*x), xLog2x((1-leak)*x)
	}
	best, bestScore := -1, minGain
	logLeak, logNotLeak := math.Log2(leak), math.Log2(1-leak)
	for k, want := range s.wanted {
		if !want || s.asked[k] || !t.question[k] {
			continue
		}
		likes := s.likesOf(k)
		clear(s.touched)
		if len(likes) == 0 {
			if hasAsk {
				if j := t.ask[k]; j >= 0 {
					if score := (askBase + float64(ro.ask[j])) * askGainFloor; score > bestScore+1e-12 {
						best, bestScore = k, score
					}
				}
			}
			continue
		}
		// Every candidate outside likes answers with the leak, so the sums
		// over them come from the precomputed totals (sumP, sumPLogP); only
		// the few candidates with their own likelihood cost a term each.
		var inP, inPLogP, pyIn, sYes, sNo float64
		for d := range yesD {
			yesD[d], noD[d] = leak*pd[d], (1-leak)*pd[d]
		}
		for _, l := range likes {
			pi := p[l.i]
			s.touched[dep[l.i]] = true
			if pi <= 0 {
				continue
			}
			y, n := pi*l.f, pi*(1-l.f)
			inP += pi
			inPLogP += pi * logP[l.i]
			pyIn += y
			sYes += y * (logP[l.i] + l.logF)
			sNo += n * (logP[l.i] + l.logNotF)
			yesD[dep[l.i]] += y - leak*pi
			noD[dep[l.i]] += n - (1-leak)*pi
		}
		restP, restPLogP := sumP-inP, sumPLogP-inPLogP
		py := leak*restP + pyIn
		if py <= 0 || py >= 1 {
			continue
		}
		sYes += leak * (restPLogP + logLeak*restP)
		sNo += (1 - leak) * (restPLogP + logNotLeak*restP)
		hYes := math.Log2(py) - sYes/py
		hNo := math.Log2(1-py) - sNo/(1-py)
		score := h0 - py*hYes - (1-py)*hNo
		score += departmentGainWeight * (hd0 - py*departmentEntropy(yesD, baseYes, s.touched, py) - (1-py)*departmentEntropy(noD, baseNo, s.touched, 1-py))
		if hasAsk {
			if j := t.ask[k]; j >= 0 {
				score = (askBase + float64(ro.ask[j])) * (score + askGainFloor)
			}
		}
		if score > bestScore+1e-12 {
			best, bestScore = k, score
		}
	}
	if best < 0 {
		return nil
	}
	sym, _ := e.kg.Symptom(t.ids[best])
	return &Question{SymptomID: sym.ID, Name: sym.Name, Text: sym.Question}
}

// redFlagQuestion returns the question for a missing symptom of an
// emergency rule whose other symptom conditions already hold.
func (e *Engine) redFlagQuestion(c *patientCase, post []scored) *Question {
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
		if !e.plausible(missing, post) {
			continue
		}
		if sym, ok := e.kg.Symptom(missing); ok && sym.Question != "" {
			return &Question{SymptomID: sym.ID, Name: sym.Name, Text: sym.Question}
		}
	}
	return nil
}

// plausible reports whether the candidate diseases listing symptom id
// hold at least redFlagPlausible of the posterior.
func (e *Engine) plausible(id string, post []scored) bool {
	if len(post) == 0 {
		return true
	}
	var m float64
	for _, s := range post {
		if _, ok := e.nb.diseases[s.idx].Symptoms[id]; ok {
			m += s.prob
		}
	}
	return m >= redFlagPlausible
}

// departmentEntropy is scaledEntropy(v, z) with the term of every
// department not touched taken from base (its value at the leak, computed
// once per request): the same terms added in the same order, so the same
// sum, with a logarithm only for the departments a symptom's candidates
// belong to.
func departmentEntropy(v, base []float64, touched []bool, z float64) float64 {
	var s float64
	for d, x := range v {
		if !touched[d] {
			s += base[d]
		} else if x > 0 {
			s += x * math.Log2(x)
		}
	}
	return math.Log2(z) - s/z
}

// xLog2x is the term scaledEntropy adds for x (nothing for x ≤ 0).
func xLog2x(x float64) float64 {
	if x > 0 {
		return x * math.Log2(x)
	}
	return 0
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

// candLike is one candidate's likelihood of a symptom, as bayes.like gives
// it, with the logarithms the information gain needs.
type candLike struct {
	i                int
	f, logF, logNotF float64
}

func newCandLike(i int, f float64) candLike {
	return candLike{i: i, f: f, logF: math.Log2(f), logNotF: math.Log2(1 - f)}
}

// phrase fits a question to the patient: 有没有发烧？ asked about a child
// is 孩子有没有发烧？ (宝宝 for an infant).
func (e *Engine) phrase(c *patientCase, q *Question) *Question {
	if !c.isChild() || strings.ContainsAny(q.Text, "孩宝") {
		return q
	}
	who := "孩子"
	if c.age >= 0 && c.age < 1 || c.age < 0 && c.ageGroup == "infant" {
		who = "宝宝"
	}
	out := *q
	out.Text = who + q.Text
	return &out
}
