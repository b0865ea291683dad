package eval

import (
	"fmt"

	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/triage"
)

// Grounding checks that every red flag of an answer rests on the text:
// each flag has evidence spans (none only when every finding it needs came
// from an interview answer), each span is the patient's own words for a
// finding the extractor reads as present now — a present, current symptom
// (or the cue that gave its onset, side, character, radiation or extent), a
// measured value, the body part a derived finding is about, or the words
// that tell the patient's age, temperature or pregnancy — and no span is a negated finding, one in the history, one
// only asked about, or someone else's. It returns one line per violation.
func Grounding(text string, resp *triage.Response, r nlp.Result, answered bool) []string {
	type span struct{ start, end int }
	ok := map[span]bool{}
	bad := map[span]string{}
	for _, m := range r.Symptoms {
		s := span{m.Start, m.End}
		switch {
		case m.State != nlp.Present:
			bad[s] = "negated " + m.ID
		case m.Context != nlp.CtxCurrent:
			bad[s] = m.Context + " " + m.ID
		default:
			ok[s] = true
			for _, c := range m.Cues {
				ok[span{c.Start, c.End}] = true
			}
		}
	}
	// The body part a derived finding rests on (被车撞了…肚子: abdominal trauma).
	for _, b := range r.BodyParts {
		if b.State == nlp.Present && b.Context == nlp.CtxCurrent {
			ok[span{b.Start, b.End}] = true
		}
	}
	for _, v := range r.Vitals {
		if v.Context == nlp.CtxCurrent {
			ok[span{v.Start, v.End}] = true
		}
	}
	for _, p := range []*nlp.Span{r.Patient.AgeSpan, r.Patient.PregSpan, r.TempSpan} {
		if p != nil {
			ok[span{p.Start, p.End}] = true
		}
	}
	runes := []rune(text)
	var out []string
	for _, f := range resp.Urgency.RedFlags {
		if len(f.Evidence) == 0 && !answered {
			out = append(out, fmt.Sprintf("flag %s cites no span", f.ID))
		}
		for _, e := range f.Evidence {
			s := span{e.Start, e.End}
			switch {
			case e.Start < 0 || e.End > len(runes) || e.Start >= e.End:
				out = append(out, fmt.Sprintf("flag %s: span [%d,%d) outside the text", f.ID, e.Start, e.End))
			case string(runes[e.Start:e.End]) != e.Text:
				out = append(out, fmt.Sprintf("flag %s: span [%d,%d) says %q, not %q", f.ID, e.Start, e.End, string(runes[e.Start:e.End]), e.Text))
			case bad[s] != "" && !ok[s]:
				out = append(out, fmt.Sprintf("flag %s cites %q, a %s", f.ID, e.Text, bad[s]))
			case !ok[s]:
				out = append(out, fmt.Sprintf("flag %s cites %q, which states no current finding", f.ID, e.Text))
			}
		}
	}
	return out
}
