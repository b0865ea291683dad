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
	resp.Urgency = e.assessUrgency(c, post, req.Text)
	noSymptom := len(c.present()) == 0
	// Both models read the same features; the disease ranker re-scores
	// the differential and steers the questions (ranker.go).
	var feats []float32
	if e.model != nil || e.ranker != nil || e.urgency != nil {
		feats = e.caseFeatures(req.Text, c)
	}
	// The three models run side by side (each batcher queue is its own):
	// a request waits for the slowest, not for their sum.
	deptCh := make(chan deptResult, 1)
	needDept := e.model != nil && (!noSymptom || e.opts.ClassifyWithoutSymptoms)
	if needDept {
		go func() {
			probs, err := e.model.predict(ctx, feats)
			deptCh <- deptResult{probs, err}
		}()
	}
	rankCh := make(chan rankResult, 1)
	if !noSymptom {
		go func() {
			ro, err := e.rank(ctx, feats)
			rankCh <- rankResult{ro, err}
		}()
	} else {
		rankCh <- rankResult{}
	}
	if e.urgency != nil {
		// The urgency classifier may only raise the rules' level.
		probs, err := e.urgency.predict(ctx, feats)
		if err != nil {
			return nil, fmt.Errorf("triage: %w", err)
		}
		raiseUrgency(&resp.Urgency, probs, e.opts.UrgencyThreshold)
		resp.Models = append(resp.Models, ModelRef{Name: e.urgency.name, Version: e.urgency.version})
	}
	rr := <-rankCh
	if rr.err != nil {
		return nil, fmt.Errorf("triage: %w", rr.err)
	}
	ranked := rr.ro
	dpost := e.blend(post, ranked)
	resp.NextQuestion = e.nextQuestion(c, dpost, ranked)
	if noSymptom && (e.model == nil || !e.opts.ClassifyWithoutSymptoms) {
		return resp, nil
	}
	var model map[string]float64
	if needDept {
		dr := <-deptCh
		if dr.err != nil {
			return nil, fmt.Errorf("triage: %w", dr.err)
		}
		model = dr.probs
		resp.Models = append(resp.Models, ModelRef{Name: e.model.name, Version: e.model.version})
	}
	if ranked != nil {
		resp.Models = append(resp.Models, ModelRef{Name: e.ranker.name, Version: e.ranker.version})
	}
	deps := e.rankDepartments(c, post, model, resp.Urgency.Level)
	if len(deps) > topK {
		deps = deps[:topK]
	}
	resp.Departments = deps
	if !noSymptom {
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
	probs map[string]float64
	err   error
}
