package triage

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/nlp"
)

// maxChiefComplaint is the longest 主诉 a record holds, in characters.
const maxChiefComplaint = 20

// recordWriter turns one case into the record.
type recordWriter struct {
	e   *Engine
	c   *patientCase
	req *Request
	r   *nlp.Result
	out *RecordResponse
	sec map[string][]RecordStatement
	// pastDisease: known diseases written in 既往史.
	pastDisease map[string]bool
	found       []finding
}

// acute reports a finding of this illness stated to last under 30 days.
func (w *recordWriter) acute() bool {
	for _, f := range w.found {
		if f.m != nil && f.time != "" && f.m.DurationDays < 30 {
			return true
		}
	}
	return false
}

// finding is one present finding of this illness.
type finding struct {
	m    *nlp.Mention // nil for an answered finding
	id   string
	name string
	time string // as SaidTime writes it
	// more: later mentions of the same finding that describe it otherwise
	// (胸口闷痛，像压了块石头).
	more []*nlp.Mention
}

func (w *recordWriter) write() *RecordResponse {
	w.out = &RecordResponse{Positives: []string{}, Negatives: []string{}, Sections: []RecordSection{}, Disclaimer: Disclaimer}
	w.sec = map[string][]RecordStatement{}
	w.patient()
	w.pastDisease = map[string]bool{}
	found, negs := w.findings()
	w.found = found
	w.normalNegatives()
	w.history(len(found) > 0)
	w.presentIllness(found, negs)
	w.chiefComplaint(found)
	w.interview()
	w.layout()
	return w.out
}

func fromText(spans ...nlp.Span) RecordStatement {
	return RecordStatement{Source: SourceText, Evidence: spans}
}

// patient writes the patient line: sex, age and who reports.
func (w *recordWriter) patient() {
	p := &w.out.Patient
	p.Statements = []RecordStatement{}
	pt := w.r.Patient
	var parts []string
	switch {
	case pt.Sex != "" && pt.SexSpan != nil:
		p.Sex = pt.Sex
		st := fromText(*pt.SexSpan)
		st.Kind, st.Text = "sex", sexWord(pt.Sex)
		p.Statements = append(p.Statements, st)
	case w.req.Sex == "male" || w.req.Sex == "female":
		p.Sex = w.req.Sex
		p.Statements = append(p.Statements, RecordStatement{Kind: "sex", Text: sexWord(p.Sex), Source: SourceRequest, Evidence: []nlp.Span{}})
	}
	if p.Sex != "" {
		parts = append(parts, sexWord(p.Sex))
	}
	switch {
	case pt.AgeYears >= 0 && pt.AgeSpan != nil && w.c.ageFromText && hasNumber(pt.AgeSpan.Text):
		p.Age = nlp.SaidTime(pt.AgeSpan.Text)
		st := fromText(*pt.AgeSpan)
		st.Kind, st.Text = "age", p.Age
		p.Statements = append(p.Statements, st)
	case w.req.Age != nil && !w.c.ageFromText && w.c.age >= 0:
		p.Age = requestAge(*w.req.Age)
		p.Statements = append(p.Statements, RecordStatement{Kind: "age", Text: p.Age, Source: SourceRequest, Evidence: []nlp.Span{}})
	}
	if p.Age != "" {
		parts = append(parts, p.Age)
	}
	if pt.Reporter != "" && pt.ReporterSpan != nil {
		p.Reporter = pt.Reporter
		st := fromText(*pt.ReporterSpan)
		st.Kind, st.Text = "reporter", pt.Reporter
		p.Statements = append(p.Statements, st)
	}
	p.Text = strings.Join(parts, "，")
	switch p.Reporter {
	case "本人":
		p.Text += "（本人陈述）"
	case "家属":
		p.Text += "（家属代述）"
	}
	if p.Text == "" {
		p.Text = NotStated
	}
}

func sexWord(s string) string {
	if s == "male" {
		return "男"
	}
	return "女"
}

func hasNumber(s string) bool {
	for _, r := range s {
		if (r >= '0' && r <= '9') || strings.ContainsRune("一二两三四五六七八九十半", r) {
			return true
		}
	}
	return false
}

// requestAge writes the request's age field (years) as a record does.
func requestAge(y float64) string {
	switch {
	case y < 1:
		m := int(y*12 + 0.5)
		if m < 1 {
			m = 1
		}
		return strconv.Itoa(m) + "个月"
	case y == float64(int(y)):
		return strconv.Itoa(int(y)) + "岁"
	}
	return strconv.FormatFloat(y, 'f', 1, 64) + "岁"
}

// findings collects this illness's present findings in the order said (then
// answered ones) and its stated negatives; it fills Positives and Negatives.
func (w *recordWriter) findings() ([]finding, []*nlp.Mention) {
	found, negs := w.collect(false)
	if len(found) == 0 {
		// The allergy or the pregnancy is all the text complains of: it is
		// the finding too (螨虫过敏).
		w.out.Positives, w.out.Negatives = w.out.Positives[:0], w.out.Negatives[:0]
		found, negs = w.collect(true)
	}
	return found, negs
}

func (w *recordWriter) collect(factParts bool) ([]finding, []*nlp.Mention) {
	delete(w.sec, SecPastHistory) // chronic findings are written there afresh
	var found []finding
	var negs []*nlp.Mention
	seen := map[string]bool{}
	for i := range w.r.Symptoms {
		m := &w.r.Symptoms[i]
		// A bare 疼 or 痒 after other findings (肚脐眼左边疼…都疼) repeats one
		// of them.
		if utf8.RuneCountInString(m.Text) == 1 && sameQuality(found, m) {
			continue
		}
		// A fuzzy guess is left out: the record names what was said. A
		// finding that is part of a fact (the 过敏 of 对青霉素过敏, the 怀孕 of
		// 怀孕32周, the 抽烟 of 不抽烟) is written with that fact.
		if !m.Now() || m.Guessed || w.insideTerm(m) || (!factParts && w.partOfFact(m)) {
			continue
		}
		if seen[m.ID+m.State] {
			// A later mention may give the time the first one lacked
			// (反复咳嗽？…反复咳嗽1年多).
			for k := range found {
				if found[k].id != m.ID || m.State != nlp.Present {
					continue
				}
				if found[k].time == "" && m.Said.Time != nil && !w.timeOfFact(*m.Said.Time) {
					found[k].m, found[k].time = m, nlp.SaidTime(m.Said.Time.Text)
				} else if m.Said.Character != nil && found[k].m != nil && m.Character != found[k].m.Character {
					found[k].more = append(found[k].more, m)
				}
			}
			continue
		}
		if w.c.state[m.ID] != m.State && !(m.State == nlp.Absent && w.c.state[m.ID] == "") && !resolved(m) {
			continue // an answer overrode it, or it is present elsewhere
		}
		seen[m.ID+m.State] = true
		if m.State == nlp.Present && w.chronic(m, found) {
			continue
		}
		if resolved(m) && (seen[m.ID+nlp.Present] || w.c.state[m.ID] == StatePresent) {
			continue
		}
		if m.State == nlp.Present || resolved(m) {
			f := finding{m: m, id: m.ID, name: m.Name}
			if m.Said.Time != nil && !w.timeOfFact(*m.Said.Time) {
				f.time = nlp.SaidTime(m.Said.Time.Text)
			}
			found = append(found, f)
			w.out.Positives = append(w.out.Positives, m.Name)
		} else if w.c.state[m.ID] != StatePresent {
			negs = append(negs, m)
			w.out.Negatives = append(w.out.Negatives, m.Name)
		}
	}
	for _, a := range w.req.Evidence {
		name := a.ID
		if s, ok := w.e.kg.Symptom(a.ID); ok {
			name = s.Name
		}
		switch {
		case a.State == StatePresent && !seen[a.ID+nlp.Present]:
			seen[a.ID+nlp.Present] = true
			w.out.Positives = append(w.out.Positives, name)
		case a.State == StateAbsent && !seen[a.ID+nlp.Absent] && !seen[a.ID+nlp.Present]:
			seen[a.ID+nlp.Absent] = true
			w.out.Negatives = append(w.out.Negatives, name)
		}
	}
	// No finding has a time of its own: the first time the text gives for
	// the illness is the main complaint's (半个月前吃辣椒，胃疼胃胀).
	if ct := w.r.ComplaintTime; ct != nil && len(found) > 0 && found[0].m != nil {
		has := false
		for _, f := range found {
			has = has || f.time != ""
		}
		if !has {
			m := *found[0].m
			m.Said.Time = ct
			found[0].m, found[0].time = &m, nlp.SaidTime(ct.Text)
		}
	}
	return found, negs
}

// partOfFact reports a finding whose words touch an allergy, obstetric or
// personal fact, unless that fact is all there is.
func (w *recordWriter) partOfFact(m *nlp.Mention) bool {
	for _, f := range w.r.Facts {
		if f.Kind != nlp.FactAllergy && f.Kind != nlp.FactMenstrual && f.Kind != nlp.FactPersonal {
			continue
		}
		for _, sp := range f.Spans {
			if m.Start <= sp.End && sp.Start <= m.End {
				return true
			}
		}
	}
	return false
}

// normalNegatives adds the findings a normal function or result denies
// (精神好 → 精神萎靡, 肝功能正常 → 肝功能异常) to Negatives, unless present.
func (w *recordWriter) normalNegatives() {
	for _, f := range w.r.Facts {
		if f.Kind != nlp.FactNormal || w.c.state[f.ID] == StatePresent {
			continue
		}
		s, ok := w.e.kg.Symptom(f.ID)
		if ok && !slices.Contains(w.out.Negatives, s.Name) && !slices.Contains(w.out.Positives, s.Name) {
			w.out.Negatives = append(w.out.Negatives, s.Name)
		}
	}
}

// timeOfFact reports a time that belongs to an obstetric fact (生完小孩两个
// 月之后…疼: 产后2个月 is not how long it hurts).
func (w *recordWriter) timeOfFact(t nlp.Span) bool {
	for _, f := range w.r.Facts {
		if f.Kind != nlp.FactMenstrual {
			continue
		}
		for _, s := range f.Spans {
			if s.Start < t.End && t.Start < s.End {
				return true
			}
		}
	}
	return false
}

// sameQuality reports a finding said by a bare 疼, 痒 or 肿 when an earlier
// finding is already of that kind.
func sameQuality(found []finding, m *nlp.Mention) bool {
	q := m.Text
	if q == "疼" {
		q = "痛"
	}
	if !strings.Contains("痛痒肿胀麻", q) {
		return false
	}
	for _, f := range found {
		if strings.Contains(strings.ReplaceAll(f.name, "疼", "痛"), q) {
			return true
		}
	}
	return false
}

// resolvedWords end a finding that was there (烧退了, 已经好了): it is a
// finding of the course, not a denial.
var resolvedWords = []string{"退了", "已退", "已经退了", "消失了", "已消失", "好了", "已经好了"}

func resolved(m *nlp.Mention) bool {
	return m.State == nlp.Absent && m.Said.Negation != nil && slices.Contains(resolvedWords, m.Said.Negation.Text)
}

// insideTerm reports a finding read inside a disease's name (the 喘息 of
// 哮喘): the disease is what was said.
func (w *recordWriter) insideTerm(m *nlp.Mention) bool {
	for _, d := range w.r.Diseases {
		if d.Start <= m.Start && m.End <= d.End {
			return true
		}
	}
	return false
}

// chronic reports a finding that is a known disease of long standing said
// after an acute complaint (胸痛 … 有高血压十年): it is 既往史 under the
// disease's name (高血压10年), not a finding of this illness.
func (w *recordWriter) chronic(m *nlp.Mention, before []finding) bool {
	if m.DurationDays < 365 || m.Said.Time == nil || len(before) == 0 {
		return false
	}
	acute := false
	for _, f := range before {
		if f.m != nil && f.m.DurationDays < 30 {
			acute = true
		}
	}
	d, ok := w.e.kg.DiseaseByName(m.Text)
	if !acute || !ok {
		return false
	}
	st := fromText(m.Span(), *m.Said.Time)
	st.Kind, st.Text = "past", d.Name+nlp.SaidTime(m.Said.Time.Text)
	w.sec[SecPastHistory] = append(w.sec[SecPastHistory], st)
	return true
}

// history fills 既往史, 过敏史, 用药史, 月经婚育史 and 个人史. A known
// disease named as present is history when the visit is about findings,
// and the complaint itself when there are none.
func (w *recordWriter) history(haveFindings bool) {
	seen := map[string]bool{}
	add := func(sec, kind, item string, spans []nlp.Span) {
		if item == "" || seen[sec+item] {
			return
		}
		seen[sec+item] = true
		st := fromText(spans...)
		st.Kind, st.Text = kind, item
		w.sec[sec] = append(w.sec[sec], st)
	}
	for i := range w.r.Symptoms {
		m := &w.r.Symptoms[i]
		if m.Context != nlp.CtxHistory || m.State != nlp.Present {
			continue
		}
		spans := []nlp.Span{m.Span()}
		item := m.Name
		if m.Said.Time != nil {
			item += nlp.SaidTime(m.Said.Time.Text)
			spans = append(spans, *m.Said.Time)
		}
		add(SecPastHistory, "past", item, spans)
	}
	for _, f := range w.r.Facts {
		switch f.Kind {
		case nlp.FactPast:
			item := f.Item
			if f.Negated {
				item = "无" + f.Item
			}
			add(SecPastHistory, "past", item, f.Spans)
		case nlp.FactDisease:
			// A disease of long standing beside an illness of days is
			// history; otherwise it is what this visit is about.
			if haveFindings && f.Days >= 365 && w.acute() {
				add(SecPastHistory, "past", f.Item, f.Spans)
				w.pastDisease[f.ID] = true
			}
		case nlp.FactAllergy:
			add(SecAllergyHistory, "allergy", f.Item, f.Spans)
		case nlp.FactMedication:
			add(SecMedicationHistory, "medication", f.Item, f.Spans)
		case nlp.FactMenstrual:
			add(SecMenstrualObstetric, "menstrual", f.Item, f.Spans)
		case nlp.FactPersonal:
			add(SecPersonalHistory, "personal", f.Item, f.Spans)
		}
	}
}

// phrase writes one finding with its stated attributes: 今晨起胸痛，呈闷痛.
func (w *recordWriter) phrase(f finding, withTime bool) RecordStatement {
	st := RecordStatement{Kind: "finding", Finding: f.id, Source: SourceText, Evidence: []nlp.Span{}}
	if f.m == nil {
		st.Text, st.Source = f.name, SourceAnswer
		return st
	}
	m := f.m
	st.Evidence = append(st.Evidence, m.Span())
	var b strings.Builder
	if withTime && f.time != "" && nlp.IsPointTime(f.time) {
		b.WriteString(f.time + "起")
		st.Evidence = append(st.Evidence, *m.Said.Time)
	} else if withTime && nlp.IsRecentTime(f.time) {
		b.WriteString(f.time)
		st.Evidence = append(st.Evidence, *m.Said.Time)
	}
	if m.Onset == "sudden" && m.Said.Onset != nil {
		b.WriteString("突发")
		st.Evidence = append(st.Evidence, *m.Said.Onset)
	}
	if s := sideWord(m.Side); s != "" && m.Said.Side != nil && !strings.ContainsAny(f.name, "左右双") {
		b.WriteString(s)
		st.Evidence = append(st.Evidence, *m.Said.Side)
	}
	b.WriteString(f.name)
	if site := w.site(m); site != "" {
		b.WriteString("（" + site + "）")
	}
	if resolved(m) {
		b.WriteString("（" + m.Said.Negation.Text + "）")
		st.Evidence = append(st.Evidence, *m.Said.Negation)
	}
	if withTime && f.time != "" && !nlp.IsPointTime(f.time) && !nlp.IsRecentTime(f.time) {
		b.WriteString(f.time)
		st.Evidence = append(st.Evidence, *m.Said.Time)
	}
	if m.Character != "" && m.Said.Character != nil && !strings.Contains(f.name, m.Character) {
		b.WriteString("，呈" + m.Character)
		if q := m.Said.Character.Text; q != m.Character {
			b.WriteString("（“" + q + "”）")
		}
		st.Evidence = append(st.Evidence, *m.Said.Character)
		for i, sp := range m.Said.MoreCharacters {
			b.WriteString("、" + m.Said.CharacterNames[i])
			if sp.Text != m.Said.CharacterNames[i] {
				b.WriteString("（“" + sp.Text + "”）")
			}
			st.Evidence = append(st.Evidence, sp)
		}
	}
	for _, o := range f.more {
		if m.Character == "" {
			b.WriteString("，呈")
		} else {
			b.WriteString("、")
		}
		b.WriteString(o.Character)
		if q := o.Said.Character.Text; q != o.Character {
			b.WriteString("（“" + q + "”）")
		}
		st.Evidence = append(st.Evidence, *o.Said.Character)
	}
	if m.RadiatesTo != "" && m.Said.Radiation != nil {
		if bp, ok := w.e.kg.BodyPart(m.RadiatesTo); ok {
			b.WriteString("，放射至" + bp.Name)
			st.Evidence = append(st.Evidence, *m.Said.Radiation)
		}
	}
	if m.ID == "fever" && w.r.TempSpan != nil && w.r.TemperatureC > 0 {
		b.WriteString("，体温" + trimFloat(w.r.TemperatureC) + "℃")
		st.Evidence = append(st.Evidence, *w.r.TempSpan)
	}
	st.Text = b.String()
	return st
}

// site names the body part a finding was said of when its standard name
// does not (左胳膊发麻 → 肢体麻木（上肢）), and only when the patient's own
// words for the finding name that part.
func (w *recordWriter) site(m *nlp.Mention) string {
	sym, ok := w.e.kg.Symptom(m.ID)
	if !ok || m.BodyPart == "" || m.BodyPart == sym.BodyPart {
		return ""
	}
	bp, ok := w.e.kg.BodyPart(m.BodyPart)
	if !ok || strings.Contains(sym.Name, bp.Name) {
		return ""
	}
	for _, n := range append([]string{bp.Name}, bp.Synonyms...) {
		if n != "" && strings.Contains(m.Text, n) {
			return bp.Name
		}
	}
	return ""
}

func sideWord(s string) string {
	switch s {
	case "left":
		return "左侧"
	case "right":
		return "右侧"
	case "both":
		return "双侧"
	}
	return ""
}

// presentIllness writes 现病史: the findings with their times and
// attributes, associated findings, stated negatives, values, and what was
// done so far.
func (w *recordWriter) presentIllness(found []finding, negs []*nlp.Mention) {
	var sts []RecordStatement
	lead := -1
	for i, f := range found {
		if f.time != "" {
			lead = i
			break
		}
	}
	if lead < 0 && len(found) > 0 {
		lead = 0
	}
	// Findings with a time of their own open a clause; the rest follow
	// the first as associated findings (伴…).
	for i, f := range found {
		st := w.phrase(f, true)
		if i != lead && (f.time == "" || (lead >= 0 && f.time == found[lead].time)) {
			st = w.phrase(f, false)
			st.Kind = "associated"
		}
		sts = append(sts, st)
	}
	for _, m := range negs {
		st := fromText(m.Span())
		if m.Said.Negation != nil {
			st.Evidence = append([]nlp.Span{*m.Said.Negation}, st.Evidence...)
		}
		st.Kind, st.Text, st.Finding = "negative", m.Name, m.ID
		sts = append(sts, st)
	}
	for _, v := range w.r.Vitals {
		if v.Context != nlp.CtxCurrent {
			continue
		}
		st := fromText(v.Span())
		st.Kind, st.Text = "vital", vitalText(v)
		if st.Text != "" {
			sts = append(sts, st)
		}
	}
	for _, f := range w.r.Facts {
		var t string
		switch f.Kind {
		case nlp.FactTreatment:
			t = "用药：" + f.Item
		case nlp.FactResult, nlp.FactNormal:
			t = f.Item
		case nlp.FactDiagnosis:
			t = f.Spans[len(f.Spans)-1].Text + f.Item
		case nlp.FactSuspect:
			t = "自疑" + f.Item
		case nlp.FactDisease:
			if w.pastDisease[f.ID] {
				continue
			}
			t = f.Item
		default:
			continue
		}
		st := fromText(f.Spans...)
		st.Kind, st.Text = f.Kind, t
		sts = append(sts, st)
	}
	w.sec[SecPresentIllness] = sts
}

func vitalText(v nlp.Vital) string {
	switch v.Kind {
	case "bp":
		if v.Value2 > 0 {
			return "血压" + trimFloat(v.Value) + "/" + trimFloat(v.Value2) + "mmHg"
		}
		return "血压" + trimFloat(v.Value) + "mmHg"
	case "glucose":
		return "血糖" + trimFloat(v.Value) + "mmol/L"
	case "heart_rate":
		return "心率" + trimFloat(v.Value) + "次/分"
	case "spo2":
		return "血氧饱和度" + trimFloat(v.Value) + "%"
	case "resp_rate":
		return "呼吸" + trimFloat(v.Value) + "次/分"
	}
	return ""
}

// chiefComplaint writes 主诉: the main finding (the first one given a time,
// else the first said) and up to two more, with the one stated time, at
// most 20 characters; with no finding, the known disease or result the
// visit is about.
func (w *recordWriter) chiefComplaint(found []finding) {
	var sts []RecordStatement
	if len(found) == 0 {
		for _, f := range w.r.Facts {
			if f.Kind == nlp.FactDisease || f.Kind == nlp.FactDiagnosis || f.Kind == nlp.FactResult {
				st := fromText(f.Spans...)
				st.Kind, st.Text = f.Kind, f.Item
				if f.Kind == nlp.FactDiagnosis {
					st.Text = f.Spans[len(f.Spans)-1].Text + f.Item
				}
				if utf8.RuneCountInString(st.Text) <= maxChiefComplaint {
					sts = append(sts, st)
				}
				break
			}
		}
		w.sec[SecChiefComplaint] = sts
		return
	}
	main := 0
	for i, f := range found {
		if f.time != "" {
			main = i
			break
		}
	}
	order := []int{main}
	for i := range found {
		if i != main && len(order) < 3 {
			order = append(order, i)
		}
	}
	// Drop findings from the end until it fits.
	for ; len(order) > 1; order = order[:len(order)-1] {
		n := utf8.RuneCountInString(found[main].name+found[main].time) + 1
		if nlp.IsPointTime(found[main].time) {
			n++ // 起
		}
		for _, i := range order[1:] {
			n += utf8.RuneCountInString(found[i].name) + 1
		}
		if n-1 <= maxChiefComplaint {
			break
		}
	}
	for k, i := range order {
		f := found[i]
		st := RecordStatement{Kind: "finding", Finding: f.id, Text: f.name, Source: SourceText, Evidence: []nlp.Span{}}
		if f.m == nil {
			st.Source = SourceAnswer
		} else {
			st.Evidence = append(st.Evidence, f.m.Span())
		}
		if k == 0 && f.time != "" {
			if nlp.IsPointTime(f.time) {
				st.Text = f.time + "起" + f.name
			} else if nlp.IsRecentTime(f.time) {
				st.Text = f.time + f.name
			} else {
				st.Text = f.name + f.time
			}
			st.Evidence = append(st.Evidence, *f.m.Said.Time)
		}
		sts = append(sts, st)
	}
	w.sec[SecChiefComplaint] = sts
}

// interview writes 问诊补充 from the answers.
func (w *recordWriter) interview() {
	for i := range w.req.Evidence {
		a := w.req.Evidence[i]
		name := a.ID
		if s, ok := w.e.kg.Symptom(a.ID); ok {
			name = s.Name
		}
		var t string
		switch a.State {
		case StatePresent:
			t = "有" + name
		case StateAbsent:
			t = "无" + name
		default:
			t = name + "不详"
		}
		w.sec[SecInterview] = append(w.sec[SecInterview], RecordStatement{
			Kind: "answer", Finding: a.ID, Text: t, Source: SourceAnswer, Evidence: []nlp.Span{}, Answer: &a,
		})
	}
}

// layout joins the statements into section texts and the plain record.
func (w *recordWriter) layout() {
	var plain strings.Builder
	plain.WriteString("患者：" + w.out.Patient.Text + "\n")
	for _, s := range sectionTitles {
		sts := w.sec[s.key]
		if len(sts) == 0 && !s.always {
			continue
		}
		if sts == nil {
			sts = []RecordStatement{}
		}
		var t string
		switch s.key {
		case SecChiefComplaint:
			t = joinCC(sts)
		case SecPresentIllness:
			t = joinPI(sts)
		default:
			parts := make([]string, len(sts))
			for i, st := range sts {
				parts[i] = st.Text
			}
			if len(parts) > 0 {
				t = strings.Join(parts, "，") + "。"
			}
		}
		w.out.Sections = append(w.out.Sections, RecordSection{Key: s.key, Title: s.title, Text: t, Statements: sts})
		switch s.key {
		case SecChiefComplaint:
			w.out.ChiefComplaint = t
		case SecPresentIllness:
			w.out.PresentIllness = t
		}
		if t == "" {
			t = NotStated
		}
		plain.WriteString(s.title + "：" + t + "\n")
	}
	w.out.Text = plain.String()
}

// joinCC writes 主诉: the main complaint with its time, then the others
// (今晨起胸痛，出汗多、肢体麻木).
func joinCC(sts []RecordStatement) string {
	if len(sts) == 0 {
		return ""
	}
	rest := make([]string, 0, len(sts)-1)
	for _, st := range sts[1:] {
		rest = append(rest, st.Text)
	}
	if len(rest) == 0 {
		return sts[0].Text
	}
	return sts[0].Text + "，" + strings.Join(rest, "、")
}

// joinPI writes 现病史: clauses for the findings, 伴 the associated ones,
// 无 the negatives, then values and the course, one sentence.
func joinPI(sts []RecordStatement) string {
	var clauses, assoc, negs []string
	for _, st := range sts {
		switch st.Kind {
		case "associated":
			assoc = append(assoc, st.Text)
		case "negative":
			negs = append(negs, st.Text)
		default:
			if len(assoc) > 0 && st.Kind != "finding" {
				clauses = append(clauses, "伴"+strings.Join(assoc, "、"))
				assoc = nil
			}
			if len(negs) > 0 && st.Kind != "finding" {
				clauses = append(clauses, "无"+strings.Join(negs, "、"))
				negs = nil
			}
			clauses = append(clauses, st.Text)
		}
	}
	if len(assoc) > 0 {
		clauses = append(clauses, "伴"+strings.Join(assoc, "、"))
	}
	if len(negs) > 0 {
		clauses = append(clauses, "无"+strings.Join(negs, "、"))
	}
	if len(clauses) == 0 {
		return ""
	}
	return strings.Join(clauses, "，") + "。"
}
