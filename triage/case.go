package triage

import (
	"sort"

	"github.com/fenzhen/fenzhen/nlp"
)

// patientCase is everything known about one request after extraction and
// merging the client's answers.
type patientCase struct {
	mentions []nlp.Mention
	// state per symptom id: present or absent. Asked holds every id the
	// patient already talked about, including "unknown" answers.
	state    map[string]string
	asked    map[string]bool
	spans    map[string]string // symptom id → patient's wording
	answers  int
	age      float64 // -1 unknown
	ageGroup string
	sex      string
	pregnant bool
	tempC    float64
	// textFeatures reuses the extraction for the classifier.
	extraction nlp.Result
}

func (e *Engine) buildCase(req *Request) *patientCase {
	r := e.x.Extract(req.Text)
	c := &patientCase{
		mentions: r.Symptoms, state: r.Evidence(), asked: map[string]bool{},
		spans: map[string]string{}, age: r.Patient.AgeYears, ageGroup: r.Patient.AgeGroup,
		sex: r.Patient.Sex, pregnant: r.Patient.Pregnant, tempC: r.TemperatureC, extraction: r,
	}
	if c.mentions == nil {
		c.mentions = []nlp.Mention{}
	}
	for _, m := range r.Symptoms {
		c.asked[m.ID] = true
		if _, ok := c.spans[m.ID]; !ok || m.State == nlp.Present {
			c.spans[m.ID] = m.Text
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
			if _, ok := c.spans[a.ID]; !ok || a.State == StatePresent {
				if s, ok := e.kg.Symptom(a.ID); ok {
					c.spans[a.ID] = s.Name
				}
			}
		}
	}
	if req.Age != nil {
		c.age = *req.Age
		c.ageGroup = ageGroup(c.age)
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
	e.deriveFindings(c, req.Text)
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
