package triage

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EvalCase is one labelled text. Department is an official code or any
// alias the KG knows (呼吸科, 五官科 …); Urgency is optional.
type EvalCase struct {
	Text       string   `json:"text"`
	Department string   `json:"department"`
	Urgency    string   `json:"urgency,omitempty"`
	Age        *float64 `json:"age,omitempty"`
	Sex        string   `json:"sex,omitempty"`
}

// EvalResult summarises a run. A prediction counts as correct when its
// code equals the expected one or is a sub-department of it (03.02 for an
// expected 03 内科).
type EvalResult struct {
	N         int     `json:"n"`
	Skipped   int     `json:"skipped"` // unmapped department label
	NoSymptom int     `json:"no_symptom"`
	Top1      float64 `json:"top1"`
	Top3      float64 `json:"top3"`
	// Top1Routed also accepts the paediatric counterpart of the expected
	// department (07.03 for 03.02): the engine sends children under 14 to
	// 儿科 by policy, while platform labels name the adult clinic.
	Top1Routed   float64            `json:"top1_routed"`
	Recall       map[string]float64 `json:"recall"`
	Support      map[string]int     `json:"support"`
	UrgencyN     int                `json:"urgency_n"`
	UrgencyAcc   float64            `json:"urgency_accuracy"`
	UnderTriage  int                `json:"under_triage"`
	EmergencyMis int                `json:"emergency_under_triage"`
	// Confusion counts expected code → top-1 code ("" when none).
	Confusion map[string]map[string]int `json:"confusion"`
}

// ReadEvalFile reads CSV (header with text, department or
// expected_department, optional urgency/age/sex) or JSONL (.jsonl/.json).
func ReadEvalFile(path string) ([]EvalCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval data: %w", err)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".jsonl" || ext == ".json" {
		var out []EvalCase
		dec := json.NewDecoder(f)
		for n := 1; ; n++ {
			var c EvalCase
			if err := dec.Decode(&c); errors.Is(err, io.EOF) {
				return out, nil
			} else if err != nil {
				return nil, fmt.Errorf("%s: record %d: %w", path, n, err)
			}
			out = append(out, c)
		}
	}
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	ti, ok := col["text"]
	di, ok2 := col["department"]
	if !ok2 {
		di, ok2 = col["expected_department"]
	}
	if !ok || !ok2 {
		return nil, fmt.Errorf("%s: need columns text and department (or expected_department), have %v", path, head)
	}
	ui, hasU := col["urgency"]
	var out []EvalCase
	for n := 2; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		if ti >= len(rec) || di >= len(rec) {
			return nil, fmt.Errorf("%s: line %d: too few columns", path, n)
		}
		c := EvalCase{Text: rec[ti], Department: rec[di]}
		if hasU && ui < len(rec) {
			c.Urgency = rec[ui]
		}
		out = append(out, c)
	}
}

// Evaluate triages every case. Rows whose text fails validation (empty,
// too long) are truncated or skipped so one bad row never stops a run.
func (e *Engine) Evaluate(ctx context.Context, cases []EvalCase) (*EvalResult, error) {
	res := &EvalResult{Recall: map[string]float64{}, Support: map[string]int{}, Confusion: map[string]map[string]int{}}
	var top1, top1r, top3, urgOK int
	hits := map[string]int{}
	for _, c := range cases {
		want, ok := e.kg.DepartmentByAlias(strings.TrimSpace(c.Department))
		if !ok || strings.TrimSpace(c.Text) == "" {
			res.Skipped++
			continue
		}
		text := c.Text
		if r := []rune(text); len(r) > MaxTextRunes {
			text = string(r[:MaxTextRunes])
		}
		resp, err := e.Triage(ctx, Request{Text: text, Age: c.Age, Sex: c.Sex, TopK: 3})
		var re *RequestError
		if errors.As(err, &re) {
			res.Skipped++
			continue
		} else if err != nil {
			return nil, err
		}
		res.N++
		res.Support[want.Code]++
		if len(resp.Symptoms) == 0 {
			res.NoSymptom++
		}
		got := ""
		for i, d := range resp.Departments {
			if d.Code == emergencyCode && want.Code != emergencyCode && resp.Urgency.Level == LevelEmergency && len(resp.Departments) > i+1 {
				continue // 急诊 first is a safety override, not a routing answer
			}
			if got == "" {
				got = d.Code
			}
		}
		match := func(code string) bool {
			if code == want.Code {
				return true
			}
			d, ok := e.kg.Department(code)
			return ok && d.ParentCode == want.Code
		}
		if got != "" && match(got) {
			top1++
			top1r++
			hits[want.Code]++
		} else if got != "" && childRouted(want.Code, got) {
			top1r++
		}
		for i, d := range resp.Departments {
			if i < 3 && match(d.Code) {
				top3++
				break
			}
		}
		if res.Confusion[want.Code] == nil {
			res.Confusion[want.Code] = map[string]int{}
		}
		res.Confusion[want.Code][got]++
		if c.Urgency != "" {
			if _, ok := levelRank[c.Urgency]; !ok {
				return nil, fmt.Errorf("urgency %q: want emergency, urgent, routine or self_care", c.Urgency)
			}
			res.UrgencyN++
			if resp.Urgency.Level == c.Urgency {
				urgOK++
			}
			if levelRank[resp.Urgency.Level] < levelRank[c.Urgency] {
				res.UnderTriage++
				if c.Urgency == LevelEmergency {
					res.EmergencyMis++
				}
			}
		}
	}
	if res.N > 0 {
		res.Top1 = float64(top1) / float64(res.N)
		res.Top3 = float64(top3) / float64(res.N)
		res.Top1Routed = float64(top1r) / float64(res.N)
	}
	if res.UrgencyN > 0 {
		res.UrgencyAcc = float64(urgOK) / float64(res.UrgencyN)
	}
	for code, n := range res.Support {
		res.Recall[code] = float64(hits[code]) / float64(n)
	}
	return res, nil
}

// Print writes the result as a readable report.
func (r *EvalResult) Print(w io.Writer) {
	fmt.Fprintf(w, "cases %d (skipped %d, no symptom recognised %d)\n", r.N, r.Skipped, r.NoSymptom)
	fmt.Fprintf(w, "department top-1 %.4f  top-3 %.4f  top-1 counting paediatric routing %.4f\n", r.Top1, r.Top3, r.Top1Routed)
	if r.UrgencyN > 0 {
		fmt.Fprintf(w, "urgency accuracy %.4f on %d, under-triage %d (emergency missed %d)\n", r.UrgencyAcc, r.UrgencyN, r.UnderTriage, r.EmergencyMis)
	}
	codes := make([]string, 0, len(r.Support))
	for c := range r.Support {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	fmt.Fprintln(w, "per department: recall  n   top-1 predictions")
	for _, c := range codes {
		preds := make([]string, 0, len(r.Confusion[c]))
		for p := range r.Confusion[c] {
			preds = append(preds, p)
		}
		sort.Slice(preds, func(i, j int) bool { return r.Confusion[c][preds[i]] > r.Confusion[c][preds[j]] })
		var parts []string
		for _, p := range preds {
			name := p
			if name == "" {
				name = "none"
			}
			parts = append(parts, fmt.Sprintf("%s:%d", name, r.Confusion[c][p]))
		}
		fmt.Fprintf(w, "  %-6s %.4f %4d  %s\n", c, r.Recall[c], r.Support[c], strings.Join(parts, " "))
	}
}

// childRouted: got is where the engine sends a child with a complaint of
// department want.
func childRouted(want, got string) bool {
	if k, ok := childCode[want]; ok {
		return got == k || got == "07" && strings.HasPrefix(k, "07")
	}
	return got == "07" && (want == "03" || strings.HasPrefix(want, "03."))
}

// ChildRouted reports whether got is where the engine sends a child whose
// complaint belongs to department want (07.03 for 03.02).
func ChildRouted(want, got string) bool { return childRouted(want, got) }
