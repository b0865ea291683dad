package triage

import (
	"sort"

	"github.com/fenzhen/fenzhen/nlp"
)

// patientCase is everything known about one request after extraction and
// merging the client's answers. It is built from the extractor's data
// alone: triage never reads the request text itself.
type patientCase struct {
	mentions []nlp.Mention
	// state per symptom id of the current complaint: present or absent.
	// Asked holds every id the patient already talked about, including
	// "unknown" answers and findings in the history.
	state map[string]string
	asked map[string]bool
	// evidence: per present finding, the spans of the text that state it
	// (empty for a finding known only from an interview answer).
	evidence map[string][]nlp.Span
	// answered: findings the patient confirmed in an interview answer.
	answered map[string]bool
	spans    map[string]string // symptom id → patient's wording
	answers  int
	// maxQuestions is the request's cap (or the engine's default).
	maxQuestions int
	age          float64 // -1 unknown
	ageGroup     string
	sex          string
	pregnant     bool
	tempC        float64
	// extraction keeps the extractor's full result (terms, vitals,
	// patient spans) for the rules and the record.
	extraction nlp.Result
	// ageFromText: the age (or age group) was read from the text, so a
	// rule may cite its span; false when the request's age field gave it.
	ageFromText bool
}

func (e *Engine) buildCase(req *Request) *patientCase {
	r := e.x.Extract(req.Text)
	c := &patientCase{
		mentions: r.Symptoms, state: r.Evidence(), asked: map[string]bool{},
		evidence: map[string][]nlp.Span{}, answered: map[string]bool{},
		spans: map[string]string{}, age: r.Patient.AgeYears, ageGroup: r.Patient.AgeGroup,
		sex: r.Patient.Sex, pregnant: r.Patient.Pregnant, tempC: r.TemperatureC, extraction: r,
		ageFromText: r.Patient.AgeSpan != nil,
	}
	if c.mentions == nil {
		c.mentions = []nlp.Mention{}
	}
	for i := range r.Symptoms {
		m := &r.Symptoms[i]
		c.asked[m.ID] = true
		if !m.Now() {
			continue
		}
		if _, ok := c.spans[m.ID]; !ok || m.State == nlp.Present {
			c.spans[m.ID] = m.Text
		}
		if m.State == nlp.Present {
			c.evidence[m.ID] = append(c.evidence[m.ID], m.Span())
		}
	}
	// Answers to earlier questions are explicit, so they override what was
	// read from the free text.
	for _, a := range req.Evidence {
		c.asked[a.ID] = true
		c.answers++
		switch a.State {
		case StatePresent, StateAbsent:
			c.state[a.ID] = a.State
			if a.State == StatePresent {
				c.answered[a.ID] = true
			} else {
				delete(c.evidence, a.ID)
			}
			if _, ok := c.spans[a.ID]; !ok || a.State == StatePresent {
				if s, ok := e.kg.Symptom(a.ID); ok {
					c.spans[a.ID] = s.Name
				}
			}
		}
	}
	c.maxQuestions = e.opts.MaxQuestions
	if req.MaxQuestions > 0 {
		c.maxQuestions = req.MaxQuestions
	}
	// The request's age is the patient's, unless it contradicts a child's
	// age the text states (孩子三岁半 with age 25: the account holder's age
	// was sent).
	if req.Age != nil && !(c.ageFromText && c.age >= 0 && c.age < 14 && *req.Age >= 18) {
		c.age = *req.Age
		c.ageGroup = ageGroup(c.age)
		c.ageFromText = false
	}
	if req.Sex != "" {
		c.sex = req.Sex
	}
	if c.state["pregnancy"] == StatePresent {
		c.pregnant = true
	}
	if c.pregnant && c.sex == "" {
		c.sex = "female"
	}
	e.deriveFindings(c)
	return c
}

func ageGroup(age float64) string {
	switch {
	case age < 1:
		return "infant"
	case age < 14:
		return "child"
	case age >= 60:
		return "elderly"
	}
	return "adult"
}

// isChild reports an age under 14, from the stated age or, without one,
// from words such as 宝宝 or 孩子.
func (c *patientCase) isChild() bool {
	if c.age >= 0 {
		return c.age < 14
	}
	return c.ageGroup == "infant" || c.ageGroup == "child"
}

func (c *patientCase) present() []string {
	var ids []string
	for id, s := range c.state {
		if s == StatePresent {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (c *patientCase) has(id string) bool { return c.state[id] == StatePresent }

// current returns the current, present mentions of a symptom id.
func (c *patientCase) current(id string) []*nlp.Mention {
	var out []*nlp.Mention
	for i := range c.mentions {
		m := &c.mentions[i]
		if m.ID == id && m.State == nlp.Present && m.Now() {
			out = append(out, m)
		}
	}
	return out
}

// maxDays is the longest stated duration of a present finding (0 when none
// is stated, or the finding came from an answer).
func (c *patientCase) maxDays(id string) float64 {
	var d float64
	for _, m := range c.current(id) {
		if m.DurationDays > d {
			d = m.DurationDays
		}
	}
	return d
}

// sudden reports a finding stated with a sudden onset.
func (c *patientCase) sudden(id string) bool {
	for _, m := range c.current(id) {
		if m.Onset == "sudden" {
			return true
		}
	}
	return false
}

// hasDisease reports a named disease the patient has now or had (not
// someone else's, not only asked about, not negated).
func (c *patientCase) hasDisease(ids ...string) (nlp.Span, bool) {
	for _, d := range c.extraction.Diseases {
		if d.State != nlp.Present || d.Context == nlp.CtxOther || d.Context == nlp.CtxAsked {
			continue
		}
		for _, id := range ids {
			if d.ID == id {
				return d.Span(), true
			}
		}
	}
	return nlp.Span{}, false
}

// hasDrug reports a drug the patient takes (named, not negated).
func (c *patientCase) hasDrug(ids ...string) (nlp.Span, bool) {
	for _, d := range c.extraction.Drugs {
		if d.State != nlp.Present || d.Context == nlp.CtxOther || d.Context == nlp.CtxAsked {
			continue
		}
		for _, id := range ids {
			if d.ID == id {
				return d.Span(), true
			}
		}
	}
	return nlp.Span{}, false
}

// vitals returns the current measured values of kind.
func (c *patientCase) vitals(kind string) []nlp.Vital {
	var out []nlp.Vital
	for _, v := range c.extraction.Vitals {
		if v.Kind == kind && v.Context == nlp.CtxCurrent {
			out = append(out, v)
		}
	}
	return out
}

// medical reports content about health: anything the extractor read, or an
// interview answer.
func (c *patientCase) medical() bool { return c.extraction.Medical || c.answers > 0 }

// severe reports a finding stated as severe (喘得厉害, 高烧).
func (c *patientCase) severe(id string) bool {
	for _, m := range c.current(id) {
		if m.Severity == "severe" {
			return true
		}
	}
	return false
}

// recent reports a finding stated as new: a duration of at most a week, a
// sudden onset or a first time (今天, 突然, 第一次).
func (c *patientCase) recent(id string) bool {
	for _, m := range c.current(id) {
		if m.Onset != "" || m.DurationDays > 0 && m.DurationDays <= 7 {
			return true
		}
	}
	return false
}

// ownConcern reports anything of the patient's own now besides symptoms: a
// disease, medicine or test of theirs (not only asked about, not someone
// else's), a measured value, or a body part they talk about.
func (c *patientCase) ownConcern() bool {
	for _, list := range [][]nlp.Term{c.extraction.Diseases, c.extraction.Drugs, c.extraction.Checks, c.extraction.BodyParts} {
		for _, t := range list {
			if t.State == nlp.Present && (t.Context == nlp.CtxCurrent || t.Context == nlp.CtxHistory) {
				return true
			}
		}
	}
	for _, v := range c.extraction.Vitals {
		if v.Context == nlp.CtxCurrent {
			return true
		}
	}
	return c.pregnant || c.tempC > 0 || c.extraction.Results
}

// recurring reports a finding described as coming and going (经常, 有时,
// 反复) — an episode, not something happening now — and nowhere as sudden.
func (c *patientCase) recurring(id string) bool {
	rec := false
	for _, m := range c.current(id) {
		if m.Onset != "" {
			return false
		}
		rec = rec || m.Recurring || m.Severity == "intermittent"
	}
	return rec
}
