package triage

import (
	"context"
	"math"
	"strconv"
	"strings"
)

// RecordResponse is the 200 body of POST /v1/record (预问诊病历).
type RecordResponse struct {
	RequestID      string   `json:"request_id"`
	ChiefComplaint string   `json:"chief_complaint"`
	PresentIllness string   `json:"present_illness"`
	Positives      []string `json:"positives"`
	Negatives      []string `json:"negatives"`
	Disclaimer     string   `json:"disclaimer"`
}

// Record drafts the pre-consultation record from the same body as Triage.
// Findings use the KG's standard names; answers to earlier questions are
// included. With nothing recognisable the strings are empty.
func (e *Engine) Record(_ context.Context, req Request) (*RecordResponse, error) {
	if err := e.Validate(&req); err != nil {
		return nil, err
	}
	c := e.buildCase(&req)
	out := &RecordResponse{Positives: []string{}, Negatives: []string{}, Disclaimer: Disclaimer}
	// Findings in the order the patient said them, then answered ones.
	type finding struct {
		name string
		days float64
	}
	var pos []finding
	seen := map[string]bool{}
	addFinding := func(id string, days float64) {
		if seen[id] {
			return
		}
		seen[id] = true
		name := id
		if s, ok := e.kg.Symptom(id); ok {
			name = s.Name
		}
		switch c.state[id] {
		case StatePresent:
			pos = append(pos, finding{name, days})
			out.Positives = append(out.Positives, name)
		case StateAbsent:
			out.Negatives = append(out.Negatives, name)
		}
	}
	for _, m := range c.mentions {
		addFinding(m.ID, m.DurationDays)
	}
	for _, a := range req.Evidence {
		addFinding(a.ID, 0)
	}
	if len(pos) == 0 {
		return out, nil
	}
	// Chief complaint: the first finding with its duration, then the rest
	// grouped by duration (发热2天，咳嗽、咳黄痰).
	main := pos[0]
	cc := main.name + durationText(main.days)
	var rest []string
	var restDays float64
	for _, f := range pos[1:] {
		rest = append(rest, f.name)
		restDays = math.Max(restDays, f.days)
	}
	if len(rest) > 0 {
		cc += "，" + strings.Join(rest, "、")
		if restDays > 0 && restDays != main.days {
			cc += durationText(restDays)
		}
	}
	out.ChiefComplaint = cc

	var b strings.Builder
	if c.isChild() {
		b.WriteString("患儿")
	} else {
		b.WriteString("患者")
	}
	if main.days > 0 {
		b.WriteString(durationText(main.days) + "前")
	} else {
		b.WriteString("近期")
	}
	b.WriteString("无明显诱因出现" + main.name)
	if c.tempC > 0 {
		b.WriteString("，最高体温" + trimFloat(c.tempC) + "℃")
	}
	if len(rest) > 0 {
		b.WriteString("，伴" + strings.Join(rest, "、"))
	}
	if len(out.Negatives) > 0 {
		b.WriteString("，无" + strings.Join(out.Negatives, "、"))
	}
	b.WriteString("。")
	out.PresentIllness = b.String()
	return out, nil
}

// durationText writes days the way records do: 3小时, 2天, 2周, 3个月, 1年.
func durationText(days float64) string {
	switch {
	case days <= 0:
		return ""
	case days < 1:
		return strconv.Itoa(int(math.Max(1, math.Round(days*24)))) + "小时"
	case days >= 365 && math.Mod(days, 365) < 1:
		return strconv.Itoa(int(days/365)) + "年"
	case days >= 30 && math.Mod(days, 30) < 1:
		return strconv.Itoa(int(days/30)) + "个月"
	case days >= 7 && math.Mod(days, 7) == 0:
		return strconv.Itoa(int(days/7)) + "周"
	}
	return trimFloat(math.Round(days*10)/10) + "天"
}
