package triage

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/nlp"
)

// templatePhrases are stock record phrases a draft may write only when the
// patient said them.
var templatePhrases = []string{"无明显诱因", "否认", "未见异常", "精神食欲可", "精神可", "二便正常", "睡眠可", "饮食可", "无特殊"}

// recordGlue are the only characters a section's text may add to its
// statements (joins, 伴 before associated findings, 无 before negatives).
const recordGlue = "，。、伴无"

// CheckRecord returns one line per statement of r that the request does not
// support (empty when every statement is grounded): a statement from the
// text must cite valid spans of it, and every number, time word, side and
// template phrase it writes must come from those spans; an answered one
// must carry its answer. Each section's text must be its statements joined
// by punctuation, 伴 and 无 alone, and 主诉 at most 20 characters.
func CheckRecord(text string, r *RecordResponse) []string {
	runes := []rune(text)
	var out []string
	check := func(where string, st RecordStatement) {
		switch st.Source {
		case SourceText:
			if len(st.Evidence) == 0 {
				out = append(out, fmt.Sprintf("%s: %q cites no span", where, st.Text))
				return
			}
		case SourceAnswer:
			if st.Answer == nil {
				out = append(out, fmt.Sprintf("%s: %q cites no answer", where, st.Text))
			}
			return
		case SourceRequest:
			return
		default:
			out = append(out, fmt.Sprintf("%s: %q has source %q", where, st.Text, st.Source))
			return
		}
		var said, raw strings.Builder
		for _, e := range st.Evidence {
			if e.Start < 0 || e.End > len(runes) || e.Start >= e.End {
				out = append(out, fmt.Sprintf("%s: %q: span [%d,%d) outside the text", where, st.Text, e.Start, e.End))
				return
			}
			if got := string(runes[e.Start:e.End]); got != e.Text {
				out = append(out, fmt.Sprintf("%s: %q: span [%d,%d) says %q, not %q", where, st.Text, e.Start, e.End, got, e.Text))
				return
			}
			raw.WriteString(e.Text + "|")
			said.WriteString(nlp.SaidTime(e.Text) + "|")
		}
		// The extractor reads folded text (沒 as 没), so a statement may
		// rest on either form.
		ev := raw.String() + nlp.Fold(raw.String()) + said.String()
		for _, n := range digitRuns(st.Text) {
			if !strings.Contains(ev, n) {
				out = append(out, fmt.Sprintf("%s: %q: the number %s is not in its evidence", where, st.Text, n))
			}
		}
		for _, p := range templatePhrases {
			if strings.Contains(st.Text, p) && !strings.Contains(ev, p) {
				out = append(out, fmt.Sprintf("%s: %q: %q was not said", where, st.Text, p))
			}
		}
		for _, t := range timeWords {
			if strings.Contains(st.Text, t) && !strings.Contains(ev, t) {
				out = append(out, fmt.Sprintf("%s: %q: the time %q was not said", where, st.Text, t))
			}
		}
		if st.Kind == "negative" && !strings.ContainsAny(ev, "不没无否未") && !strings.Contains(ev, "排除") {
			out = append(out, fmt.Sprintf("%s: the negative %q cites no denial", where, st.Text))
		}
		for side, words := range sideWords {
			if strings.Contains(st.Text, side) && !strings.ContainsAny(ev, words) {
				out = append(out, fmt.Sprintf("%s: %q: the side %q was not said", where, st.Text, side))
			}
		}
	}
	for _, st := range r.Patient.Statements {
		check("patient", st)
	}
	for _, s := range r.Sections {
		for _, st := range s.Statements {
			check(s.Key, st)
		}
		if rest := stripStatements(s.Text, s.Statements); strings.Trim(rest, recordGlue) != "" {
			out = append(out, fmt.Sprintf("%s: the text adds %q to its statements", s.Key, rest))
		}
		if s.Key == SecChiefComplaint && utf8.RuneCountInString(s.Text) > maxChiefComplaint {
			out = append(out, fmt.Sprintf("主诉 %q is longer than %d characters", s.Text, maxChiefComplaint))
		}
	}
	return out
}

// timeWords are the short forms of points in time a record writes.
var timeWords = []string{"今晨", "今日", "今晚", "昨日", "昨晚", "昨夜", "昨晨", "前日", "前晚", "上周", "上月", "去年", "半夜"}

var sideWords = map[string]string{"左侧": "左", "右侧": "右", "双侧": "双两"}

// digitRuns lists the numbers a statement writes, leaving out those that
// are part of a name (2型糖尿病, 维生素B12).
func digitRuns(s string) []string {
	var out []string
	r := []rune(s)
	for i := 0; i < len(r); {
		if r[i] < '0' || r[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
		}
		name := (i > 0 && (r[i-1] >= 'A' && r[i-1] <= 'Z' || r[i-1] >= 'a' && r[i-1] <= 'z')) || (j < len(r) && r[j] == '型')
		if !name {
			out = append(out, string(r[i:j]))
		}
		i = j
	}
	return out
}

// stripStatements removes each statement's text from a section's text
// once, longest first, and returns what is left.
func stripStatements(t string, sts []RecordStatement) string {
	texts := make([]string, 0, len(sts))
	for _, st := range sts {
		texts = append(texts, st.Text)
	}
	sort.Slice(texts, func(i, j int) bool { return len(texts[i]) > len(texts[j]) })
	for _, s := range texts {
		if s != "" {
			t = strings.Replace(t, s, "", 1)
		}
	}
	return t
}
