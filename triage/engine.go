package triage

import (
	"context"
	"fmt"
	"sort"
)

// Triage runs the whole pipeline for one request. Errors are *RequestError
// for bad input (see ErrInvalid, ErrUnprocessable) or a wrapped inference
// error; patient text never appears in an error.
func (e *Engine) Triage(ctx context.Context, req Request) (*Response, error) {
	if err := e.Validate(&req); err != nil {
		return nil, err
	}
	topK := req.TopK
	if topK == 0 {
		topK = DefaultTopK
	}
	c := e.buildCase(&req)
	resp := &Response{
		Symptoms: c.mentions, Departments: []Department{}, Diseases: []Disease{},
		Models: []ModelRef{}, Disclaimer: Disclaimer,
	}
	post := e.nb.posterior(c, c.state)
	resp.Urgency = e.assessUrgency(c, post)
	medical := c.medical()
	hasSymptom := len(c.present()) > 0
	// Inputs are computed before the goroutines start: they share a memo.
	in := newInputs(c)
	var deptIdx, disIdx, urgIdx []int64
	if medical && e.dept != nil {
		deptIdx = in.of(e.dept)
	}
	if hasSymptom && e.disease != nil {
		disIdx = in.of(e.disease)
	}
	if medical && e.urgency != nil {
		urgIdx = in.of(e.urgency)
	}
	// The three heads run side by side (each is an embedding sum and a
	// one-row ONNX Runtime call, bag.go, or a batcher queue of its own): a
	// request waits for the slowest, not for their sum.
	deptCh := make(chan deptResult, 1)
	if e.dept != nil && medical {
		go func() {
			probs, _, err := e.dept.predict(ctx, deptIdx)
			deptCh <- deptResult{probs, err}
		}()
	}
	rankCh := make(chan rankResult, 1)
	if hasSymptom {
		go func() {
			ro, err := e.rank(ctx, disIdx)
			rankCh <- rankResult{ro, err}
		}()
	} else {
		rankCh <- rankResult{}
	}
	if e.urgency != nil && medical {
		// The urgency classifier may only raise the rules' level.
		probs, _, err := e.urgency.predict(ctx, urgIdx)
		if err != nil {
			return nil, fmt.Errorf("triage: %w", err)
		}
		raiseUrgency(&resp.Urgency, e.urgencyLevels(probs), e.opts.UrgencyThreshold)
		resp.Models = append(resp.Models, e.urgency.ref())
	}
	rr := <-rankCh
	if rr.err != nil {
		return nil, fmt.Errorf("triage: %w", rr.err)
	}
	ranked := rr.ro
	dpost := e.blend(c, post, ranked)
	var stop string
	resp.NextQuestion, stop = e.nextQuestion(c, dpost, ranked)
	resp.Interview = Interview{Answered: c.answers, MaxQuestions: c.maxQuestions, Stop: stop, Reason: stopReasons[stop]}
	if resp.NextQuestion != nil && stop != StopNoComplaint {
		resp.Interview.Stop, resp.Interview.Reason = "", ""
	}
	if !medical {
		// No medical content at all (你好, asdf): empty lists, and the next
		// question asks for the main complaint.
		return resp, nil
	}
	var model map[string]float64
	if e.dept != nil {
		dr := <-deptCh
		if dr.err != nil {
			return nil, fmt.Errorf("triage: %w", dr.err)
		}
		model = make(map[string]float64, len(dr.probs))
		for i, p := range dr.probs {
			model[e.dept.labels[i]] += float64(p)
		}
		resp.Models = append(resp.Models, e.dept.ref())
	}
	if ranked != nil {
		resp.Models = append(resp.Models, e.disease.ref())
	}
	deps := e.rankDepartments(c, post, model, resp.Urgency.Level)
	if len(deps) > topK {
		deps = deps[:topK]
	}
	resp.Departments = deps
	if hasSymptom {
		resp.Diseases = e.differential(c, dpost, topK)
	}
	return resp, nil
}

// differential formats the top diseases with the findings for and against
// each (standard symptom names).
func (e *Engine) differential(c *patientCase, post []scored, topK int) []Disease {
	out := make([]Disease, 0, topK)
	for _, s := range post {
		if len(out) == topK {
			break
		}
		d := e.nb.diseases[s.idx]
		dd := Disease{
			ID: d.ID, Name: d.Name, Probability: round4(s.prob),
			DepartmentCode: routeForAge(d.Department, c), EvidenceFor: []string{}, EvidenceAgainst: []string{},
		}
		ids := make([]string, 0, len(c.state))
		for id := range c.state {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			f, listed := d.Symptoms[id]
			sym, ok := e.kg.Symptom(id)
			if !ok {
				continue
			}
			switch {
			case c.state[id] == StatePresent && listed:
				dd.EvidenceFor = append(dd.EvidenceFor, sym.Name)
			case c.state[id] == StatePresent && !listed:
				dd.EvidenceAgainst = append(dd.EvidenceAgainst, sym.Name)
			case c.state[id] == StateAbsent && listed && f >= 0.5:
				dd.EvidenceAgainst = append(dd.EvidenceAgainst, sym.Name)
			}
		}
		out = append(out, dd)
	}
	return out
}

// deptResult is the department classifier's answer, from its goroutine.
type deptResult struct {
	probs []float32
	err   error
}
