package eval

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/triage"
)

// RoutingCase is one text with the department it should go to.
type RoutingCase struct {
	Key  string
	Text string
	Code string // official code (a sub-department of it also counts)
	Age  *float64
	Sex  string
}

// RoutingResult is department routing through the whole engine.
type RoutingResult struct {
	Name string  `json:"name"`
	N    int     `json:"n"`
	Top1 float64 `json:"top1"`
	Top3 float64 `json:"top3"`
	// Empty is the share answered with no department at all.
	Empty float64 `json:"empty"`
	// Top1Routed also accepts the paediatric counterpart of the expected
	// department (07.03 for 03.02): children are routed to 儿科 by policy.
	Top1Routed float64 `json:"top1_routed"`
	// Emergency is the share answered with urgency emergency.
	Emergency float64                `json:"emergency"`
	PerCode   map[string]*CodeResult `json:"per_code"`
	Failed    []string               `json:"-"` // keys answered wrongly, for debugging
}

// CodeResult is the recall of one expected department and what it was
// most often confused with.
type CodeResult struct {
	N          int            `json:"n"`
	Top1       float64        `json:"top1"`
	Top3       float64        `json:"top3"`
	Predicted  map[string]int `json:"predicted"` // top-1 code → count ("" = none)
	MostWrong  string         `json:"most_common_wrong"`
	WrongCount int            `json:"most_common_wrong_n"`
}

// Routing posts every case to /v1/triage and scores the departments. A
// prediction matches when its code is the expected one or one of its
// sub-departments (03.02 for an expected 03). 急诊医学科 put first by an
// emergency is a safety override, not a routing answer: the next
// department is scored.
func Routing(ctx context.Context, s *Stack, name string, cases []RoutingCase, progress func(), explain ...func(RoutingCase, *triage.Response)) (*RoutingResult, error) {
	res := &RoutingResult{Name: name, PerCode: map[string]*CodeResult{}}
	var top1, top3, top1r, empty, emerg int
	for _, c := range cases {
		if progress != nil {
			progress()
		}
		text := c.Text
		if r := []rune(text); len(r) > triage.MaxTextRunes {
			text = string(r[:triage.MaxTextRunes])
		}
		resp, err := s.Triage(ctx, triage.Request{Text: text, Age: c.Age, Sex: c.Sex, TopK: 3})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", name, c.Key, err)
		}
		for _, f := range explain {
			f(c, resp)
		}
		res.N++
		cr := res.PerCode[c.Code]
		if cr == nil {
			cr = &CodeResult{Predicted: map[string]int{}}
			res.PerCode[c.Code] = cr
		}
		cr.N++
		deps := routingAnswer(resp)
		if len(resp.Departments) == 0 {
			empty++
		}
		if resp.Urgency.Level == triage.LevelEmergency {
			emerg++
		}
		got := ""
		if len(deps) > 0 {
			got = deps[0].Code
		}
		cr.Predicted[got]++
		switch {
		case got != "" && matches(s.KG, got, c.Code):
			top1++
			top1r++
			cr.Top1++
		case got != "" && triage.ChildRouted(c.Code, got):
			top1r++
			res.Failed = append(res.Failed, c.Key)
		default:
			res.Failed = append(res.Failed, c.Key)
		}
		for i, d := range deps {
			if i < 3 && matches(s.KG, d.Code, c.Code) {
				top3++
				cr.Top3++
				break
			}
		}
	}
	if res.N == 0 {
		return res, nil
	}
	n := float64(res.N)
	res.Top1, res.Top3, res.Top1Routed = float64(top1)/n, float64(top3)/n, float64(top1r)/n
	res.Empty, res.Emergency = float64(empty)/n, float64(emerg)/n
	for code, cr := range res.PerCode {
		for p, k := range cr.Predicted {
			if !matches(s.KG, p, code) && (k > cr.WrongCount || k == cr.WrongCount && p < cr.MostWrong) {
				cr.MostWrong, cr.WrongCount = p, k
			}
		}
		cr.Top1 /= float64(cr.N)
		cr.Top3 /= float64(cr.N)
	}
	return res, nil
}

// routingAnswer drops a leading 急诊医学科 that an emergency put first.
func routingAnswer(r *triage.Response) []triage.Department {
	d := r.Departments
	if len(d) > 1 && d[0].Code == "20" && r.Urgency.Level == triage.LevelEmergency {
		return d[1:]
	}
	return d
}

func matches(kg *knowledge.KG, got, want string) bool {
	if got == want {
		return true
	}
	d, ok := kg.Department(got)
	return ok && d.ParentCode == want
}

// Print writes the result as a table: headline figures, then per expected
// department its recall and most common wrong answer.
func (r *RoutingResult) Print(w io.Writer, kg *knowledge.KG) {
	fmt.Fprintf(w, "%s: n %d  top-1 %.3f  top-3 %.3f  no department %.1f%%  top-1 counting paediatric routing %.3f  emergency %.1f%%\n",
		r.Name, r.N, r.Top1, r.Top3, 100*r.Empty, r.Top1Routed, 100*r.Emergency)
	codes := make([]string, 0, len(r.PerCode))
	for c := range r.PerCode {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	name := func(code string) string {
		if code == "" {
			return "(none)"
		}
		if d, ok := kg.Department(code); ok {
			return code + " " + d.Name
		}
		return code
	}
	fmt.Fprintf(w, "  %-22s %5s %6s %6s  %s\n", "expected", "n", "top-1", "top-3", "most common wrong top-1")
	for _, c := range codes {
		cr := r.PerCode[c]
		wrong := "-"
		if cr.WrongCount > 0 {
			wrong = fmt.Sprintf("%s (%d)", name(cr.MostWrong), cr.WrongCount)
		}
		fmt.Fprintf(w, "  %-22s %5d %6.3f %6.3f  %s\n", name(c), cr.N, cr.Top1, cr.Top3, wrong)
	}
}

// Summary is one line for logs and model cards.
func (r *RoutingResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s n=%d top1=%.3f top3=%.3f empty=%.3f", r.Name, r.N, r.Top1, r.Top3, r.Empty)
	return b.String()
}
