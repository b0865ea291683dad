package nlp

import (
	"math"
	"strings"
	"unicode"
)

// complements follow 不 in potential complements (拉不出, 睡不着, 烧不退),
// which are not negations of what follows.
var complements = map[rune]bool{
	'出': true, '下': true, '着': true, '上': true, '动': true, '开': true, '清': true, '见': true,
	'到': true, '了': true, '住': true, '起': true, '进': true, '好': true, '退': true, '来': true,
}

// sentenceEnders may follow a post-negation: 发烧没有了吧.
func onlyEnders(text []rune, from int) bool {
	for j := from; j < len(text); j++ {
		r := text[j]
		if isHardBoundary(r) {
			return true
		}
		switch r {
		case '了', '的', '啊', '呢', '过', '吧', '呀', '哦', '啦', '嘛':
			continue
		}
		return false
	}
	return true
}

type mstate struct {
	tok       int // index of the symptom token
	state     string
	protected bool // inside 除了…: stays present
	days      float64
	sev       string
	sevDist   int
	part      string
	ctx       string
	onset     string
	side      string
	char      string
	radiates  string
	extent    string
	durText   string
	cues      []Span
	said      Said
}

// patientHint is a patient cue waiting for its clause's context: a
// relative named in a clause about someone else's illness (我妈得过乳腺癌)
// says nothing of the patient.
type patientHint struct {
	cue    patientCue
	clause int
	span   Span
	sex    string // from a sex-telling body part
}

// mentions resolves negation, context, duration, severity, body part,
// temperature and patient hints over the token stream and the cues, and
// fills res.
func (x *Extractor) mentions(text, orig []rune, toks []token, cues []cue, res *Result) {
	scopes := newScopes(cues, sentences(text, toks))
	var ms []mstate
	var hints []patientHint
	var terms []termState
	neg, except := false, false
	negFrom := 0 // where the words a negation reaches over start
	var negSpan Span
	lastBreak := 0
	span := func(t token) Span { return Span{Text: string(orig[t.start:t.end]), Start: t.start, End: t.end} }
	for i, t := range toks {
		if t.kind == kBoundary {
			neg, except = false, false
			lastBreak = len(ms)
			continue
		}
		var e entry
		if t.entry >= 0 {
			e = x.entries[t.entry]
		}
		switch t.kind {
		case kNeg:
			if x.postNegation(text, toks, i, ms, lastBreak) {
				for k := lastBreak; k < len(ms); k++ {
					if !ms[k].protected {
						ms[k].state = Absent
						sp := span(t)
						ms[k].said.Negation = &sp
					}
				}
				continue
			}
			if t.end-t.start == 1 && text[t.start] == '不' && t.start > 0 && t.end < len(text) &&
				unicode.Is(unicode.Han, text[t.start-1]) && complements[text[t.end]] {
				continue // 拉不出, 睡不着
			}
			neg, except = true, false
			negFrom = t.end
			negSpan = span(t)
		case kPostNeg:
			if len(ms) > lastBreak {
				last := &ms[len(ms)-1]
				if t.start-toks[last.tok].end <= 4 && !last.protected && !strings.ContainsRune("很些一点多", next(text, t.end)) {
					last.state = Absent
					sp := span(t)
					last.said.Negation = &sp
				}
			}
		case kBreak:
			neg, except = false, false
			lastBreak = len(ms)
		case kExcept:
			except = true
			lastBreak = len(ms)
		case kExceptEnd:
			except = false
		case kSymptom:
			st := Present
			if neg && !except && !t.pattern && negReaches(text, negFrom, t.start) {
				st = Absent
				negFrom = t.end
			} else if neg && !except && !t.pattern {
				neg = false
			}
			ctx := scopes.at(t.start, t.clause)
			if t.inner {
				// 是不是小儿哮喘: the wheeze is asked about with the disease.
				if ctx = scopes.atTerm(t.start, t.clause); ctx == CtxCurrent {
					ctx = scopes.after(t.end, t.clause)
				}
			}
			ms = append(ms, mstate{tok: i, state: st, protected: except, sevDist: math.MaxInt, ctx: ctx})
			if st == Absent {
				sp := negSpan
				ms[len(ms)-1].said.Negation = &sp
			}
			if st == Present {
				hints = append(hints, patientHint{cue: e.patient, clause: t.clause, span: span(t)})
				if sym, ok := x.kg.Symptom(e.id); ok {
					hints = append(hints, patientHint{clause: t.clause, span: span(t), sex: partSex[sym.BodyPart]})
				}
			}
		case kDisease, kDrug, kCheck:
			st := Present
			if neg && !except {
				st = Absent
			}
			ctx := scopes.atTerm(t.start, t.clause)
			if ctx == CtxCurrent {
				ctx = scopes.after(t.end, t.clause)
			}
			terms = append(terms, termState{tok: i, state: st, ctx: ctx})
		case kBodyPart:
			hints = append(hints, patientHint{clause: t.clause, span: span(t), sex: partSex[e.id]})
			terms = append(terms, termState{tok: i, state: Present, ctx: scopes.at(t.start, t.clause)})
		case kSeverity:
			if text[t.start] == '还' { // 还有点 also ends a negation
				neg, except = false, false
				lastBreak = len(ms)
			}
		case kPatient:
			if neg && e.patient.pregnant {
				continue // 没有怀孕
			}
			hints = append(hints, patientHint{cue: e.patient, clause: t.clause, span: span(t)})
		case kQuantity:
			switch t.q.kind {
			case qTemperature:
				if scopes.at(t.start, t.clause) == CtxCurrent && t.q.value > res.TemperatureC {
					res.TemperatureC = t.q.value
					sp := span(t)
					res.TempSpan = &sp
				}
			case qAge:
				if !scopes.other[t.clause] && res.Patient.AgeYears < 0 {
					res.Patient.AgeYears = math.Round(t.q.value*100) / 100
					sp := span(t)
					res.Patient.AgeSpan = &sp
				}
			case qGestation:
				if !scopes.other[t.clause] {
					res.Patient.Pregnant = true
					res.Patient.Sex = "female"
					sp := span(t)
					if res.Patient.PregSpan == nil {
						res.Patient.PregSpan = &sp
					}
					if res.Patient.SexSpan == nil {
						res.Patient.SexSpan = &sp
					}
					if res.Patient.GestationWeeks == 0 {
						res.Patient.GestationWeeks = int(math.Round(t.q.value))
						res.Patient.GestationSpan = &sp
					}
				}
			}
		}
	}
	for _, h := range hints {
		if scopes.other[h.clause] {
			continue
		}
		applyPatient(&res.Patient, h.cue, h.span)
		if h.sex != "" && res.Patient.Sex == "" {
			res.Patient.Sex = h.sex
			sp := h.span
			res.Patient.SexSpan = &sp
		}
	}
	x.addFeverFromTemperature(text, toks, &ms, scopes)
	x.attachDurations(text, orig, toks, ms)
	x.attachSeverity(text, toks, ms)
	x.attachBodyParts(text, toks, ms)
	x.attachCues(orig, toks, ms, cues)
	recurring := map[int]bool{}
	for _, t := range toks {
		if t.kind == kSeverity && x.entries[t.entry].sev == "intermittent" {
			recurring[t.clause] = true
		}
	}
	x.sputumBlood(toks, ms)
	x.stoolBlood(text, toks, ms)
	x.readPatient(orig, cues, scopes, &res.Patient)
	finishPatient(&res.Patient)

	out := make([]Mention, 0, len(ms))
	for _, m := range ms {
		t := toks[m.tok]
		e := x.entries[t.entry]
		s, ok := x.kg.Symptom(e.id)
		if !ok {
			continue
		}
		sev := m.sev
		if sev == "" {
			sev = e.sev
		}
		if sev == "" && e.id == x.feverID && res.TemperatureC >= 37.3 {
			sev = feverSeverity(res.TemperatureC)
		}
		for _, sp := range []*Span{m.said.Time, m.said.Severity, m.said.Side, m.said.Character, m.said.Onset, m.said.Radiation, m.said.Negation} {
			if sp != nil {
				sp.Text = string(orig[sp.Start:sp.End]) // spans are read in the normalized text
			}
		}
		for i := range m.said.MoreCharacters {
			sp := &m.said.MoreCharacters[i]
			sp.Text = string(orig[sp.Start:sp.End])
		}
		part := m.part
		if part == "" {
			part = e.part
		}
		if part == "" {
			part = s.BodyPart
		}
		out = append(out, Mention{
			ID: s.ID, Name: s.Name, Text: string(orig[t.start:t.end]), Start: t.start, End: t.end,
			State: m.state, DurationDays: m.days, Severity: sev, BodyPart: part, Fuzzy: t.kind == kHead,
			Context: m.ctx, Onset: m.onset, Side: m.side, Character: m.char, RadiatesTo: m.radiates, Extent: m.extent, Cues: m.cues,
			DurationText: m.durText, Recurring: recurring[t.clause] && m.onset == "", Said: m.said, Guessed: t.guessed,
		})
	}
	res.Symptoms = out
	x.termMentions(text, orig, toks, terms, res)
	res.Vitals = readVitals(text, orig, cues, scopes)
	x.readFacts(text, orig, toks, cues, scopes, res)
	res.Medical = len(res.Symptoms) > 0 || len(res.Diseases) > 0 || len(res.Drugs) > 0 || len(res.Checks) > 0 ||
		len(res.BodyParts) > 0 || len(res.Vitals) > 0 || res.TemperatureC > 0 || res.Patient.Pregnant
	for _, c := range cues {
		switch c.kind {
		case cHealth, cVital, cPostpartum, cProcedure:
			res.Medical = true
		case cResult:
			res.Medical = true
			res.Results = res.Results || scopes.at(c.start, c.clause) == CtxCurrent
		}
	}
}

// negReaches reports whether a negation (or the finding it negated) ending
// at from reaches a finding starting at to. It reaches to the end of the
// clause (没有任何出血肚子疼, 没有溃疡和发烧) unless a new predicate starts in
// between: 又 or 开始 (不呕吐又开始拉稀便), or a length of time (不睡觉一晚哭闹).
func negReaches(text []rune, from, to int) bool {
	if from >= to || to > len(text) {
		return true
	}
	between := string(text[from:to])
	for _, w := range negStops {
		if strings.Contains(between, w) {
			return false
		}
	}
	return true
}

// negStops start a new predicate that a negation before them does not reach.
var negStops = []string{"又", "开始", "却", "一晚", "一夜", "整晚", "整夜", "一整天"}

// termState is a disease, drug, check or body part token with its state.
type termState struct {
	tok   int
	state string
	ctx   string
}

// termMentions turns term tokens into res.Diseases, Drugs, Checks and
// BodyParts (one entry per id: the first current present one, else the first).
func (x *Extractor) termMentions(text, orig []rune, toks []token, terms []termState, res *Result) {
	for _, ts := range terms {
		t := toks[ts.tok]
		e := x.entries[t.entry]
		tm := Term{ID: e.id, Text: string(orig[t.start:t.end]), Start: t.start, End: t.end, State: ts.state, Context: ts.ctx}
		var list *[]Term
		switch t.kind {
		case kDisease:
			d, ok := x.kg.Disease(e.id)
			if !ok {
				continue
			}
			tm.Name, list = d.Name, &res.Diseases
		case kDrug:
			d, ok := x.kg.Drug(e.id)
			if !ok {
				continue
			}
			tm.Name, list = d.Name, &res.Drugs
		case kCheck:
			c, ok := x.kg.Check(e.id)
			if !ok {
				continue
			}
			tm.Name, list = c.Name, &res.Checks
			tm.Value = termValue(text, t.end)
		case kBodyPart:
			b, ok := x.kg.BodyPart(e.id)
			if !ok {
				continue
			}
			tm.Name, list = b.Name, &res.BodyParts
		}
		dup := false
		for k := range *list {
			if (*list)[k].ID == tm.ID {
				dup = true
				if (*list)[k].State != Present || (*list)[k].Context != CtxCurrent {
					if tm.State == Present && tm.Context == CtxCurrent {
						(*list)[k] = tm
					}
				}
				break
			}
		}
		if !dup {
			*list = append(*list, tm)
		}
	}
}

func next(text []rune, i int) rune {
	if i < len(text) {
		return text[i]
	}
	return 0
}

// postNegation: a negation word right after mentions and at the end of the
// clause negates them (发烧咳嗽都没有).
func (x *Extractor) postNegation(text []rune, toks []token, i int, ms []mstate, lastBreak int) bool {
	if len(ms) <= lastBreak {
		return false
	}
	last := toks[ms[len(ms)-1].tok]
	if last.clause != toks[i].clause || toks[i].start-last.end > 3 {
		return false
	}
	return onlyEnders(text, toks[i].end)
}

// partSex: body parts that tell the patient's sex.
var partSex = map[string]string{"scrotum": "male", "penis": "male", "vagina": "female"}

func applyPatient(p *Patient, c patientCue, sp Span) {
	if p.Sex == "" && c.sex != "" {
		p.Sex = c.sex
		p.SexSpan = &sp
	}
	if c.pregnant {
		p.Pregnant = true
		if p.PregSpan == nil {
			p.PregSpan = &sp
		}
	}
	if p.AgeGroup == "" && c.group != "" {
		p.AgeGroup = c.group
		if p.AgeSpan == nil {
			p.AgeSpan = &sp
		}
	}
	// A stated age (a quantity) always wins over one implied by a word.
	if p.AgeYears < 0 && c.age > 0 {
		p.AgeYears = c.age
		p.AgeSpan = &sp
	}
}

func finishPatient(p *Patient) {
	if p.AgeYears >= 0 {
		switch {
		case p.AgeYears < 1:
			p.AgeGroup = "infant"
		case p.AgeYears < 14:
			p.AgeGroup = "child"
		case p.AgeYears < 60:
			p.AgeGroup = "adult"
		default:
			p.AgeGroup = "elderly"
		}
	}
	if p.Pregnant {
		p.Sex = "female"
		if p.AgeGroup == "" {
			p.AgeGroup = "adult"
		}
	}
}

// addFeverFromTemperature: 最高39度 implies fever even without the word.
func (x *Extractor) addFeverFromTemperature(text []rune, toks []token, ms *[]mstate, scopes *contextScopes) {
	if x.feverID == "" {
		return
	}
	fe := x.symptomEntry(x.feverID)
	if fe < 0 {
		return
	}
	for i, t := range toks {
		if t.kind != kQuantity || t.q.kind != qTemperature || t.q.value < 37.3 {
			continue
		}
		covered := false
		for _, m := range *ms {
			mt := toks[m.tok]
			if mt.clause == t.clause || (abs(mt.clause-t.clause) <= 1 && x.isFever(mt)) {
				if x.isFever(mt) {
					covered = true
					break
				}
			}
		}
		if covered {
			continue
		}
		toks[i].kind = kSymptom
		toks[i].entry = fe
		m := mstate{tok: i, state: Present, sevDist: math.MaxInt, ctx: scopes.at(t.start, t.clause)}
		*ms = append(*ms, m)
	}
	// Keep mentions in text order.
	sortMentions(*ms, toks)
	// Restore the quantity for severity from temperature.
	for k := range *ms {
		t := toks[(*ms)[k].tok]
		if t.q.kind == qTemperature {
			(*ms)[k].sev = feverSeverity(t.q.value)
			(*ms)[k].sevDist = 0
		}
	}
}

func (x *Extractor) isFever(t token) bool {
	return t.entry >= 0 && x.entries[t.entry].id == x.feverID
}

func feverSeverity(c float64) string {
	switch {
	case c >= 39.1:
		return "severe"
	case c >= 38.1:
		return "moderate"
	default:
		return "mild"
	}
}

func sortMentions(ms []mstate, toks []token) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && toks[ms[j].tok].start < toks[ms[j-1].tok].start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// attachDurations gives each mention the nearest duration of its clause;
// a clause holding only a duration (发烧，两天了) serves the clause before.
func (x *Extractor) attachDurations(text, orig []rune, toks []token, ms []mstate) {
	type dur struct {
		pos, clause int
		days        float64
		text        string
		end         int
	}
	var ds []dur
	for _, t := range toks {
		switch {
		case t.kind == kQuantity && t.q.kind == qDuration:
			s, e := t.start, t.end
			// 大半年, 一年多: the words around the number are the patient's too.
			if s > 0 && orig[s-1] == '大' && text[s] == '半' {
				s--
			}
			if e < len(orig) && (orig[e] == '多' || orig[e] == '余') && !strings.ContainsRune(string(orig[t.start:e]), '多') {
				e++
			}
			ds = append(ds, dur{s, t.clause, t.q.value, string(orig[s:e]), e})
		case t.kind == kRelTime:
			ds = append(ds, dur{t.start, t.clause, x.entries[t.entry].days, string(orig[t.start:t.end]), t.end})
		}
	}
	if len(ds) == 0 {
		return
	}
	hasMention := map[int]bool{}
	for _, m := range ms {
		hasMention[toks[m.tok].clause] = true
	}
	for k := range ms {
		t := toks[ms[k].tok]
		best, bestDist, bestText := -1.0, math.MaxInt, ""
		var bestSpan *Span
		for _, d := range ds {
			c := d.clause
			if c != t.clause && !(c == t.clause+1 && !hasMention[c]) {
				continue
			}
			dist := abs(d.pos - t.start)
			if c != t.clause {
				dist += 1000
			}
			if dist < bestDist {
				best, bestDist, bestText = d.days, dist, d.text
				bestSpan = &Span{Text: d.text, Start: d.pos, End: d.end}
			}
		}
		if best > 0 {
			ms[k].days = math.Round(best*1000) / 1000
			ms[k].durText = bestText
			ms[k].said.Time = bestSpan
		}
	}
	// 背心痛，胸口也痛，喉咙不舒服，有20天左右: a clause holding only a
	// duration also serves the earlier mentions of its sentence that have
	// none of their own.
	sent := sentences(text, toks)
	for _, d := range ds {
		if hasMention[d.clause] || d.clause >= len(sent) {
			continue
		}
		for k := range ms {
			c := toks[ms[k].tok].clause
			if ms[k].days == 0 && c < d.clause && c < len(sent) && sent[c] == sent[d.clause] {
				ms[k].days = math.Round(d.days*1000) / 1000
				ms[k].durText = d.text
				ms[k].said.Time = &Span{Text: d.text, Start: d.pos, End: d.end}
			}
		}
	}
}

// attachSeverity gives each severity cue to the nearest mention in its
// clause within 6 runes, not across a break word. Cues starting with 得
// (疼得厉害) look back only; a clause holding only a cue (胃疼，一阵阵的)
// serves the clause before.
func (x *Extractor) attachSeverity(text []rune, toks []token, ms []mstate) {
	if len(ms) == 0 {
		return
	}
	hasMention := map[int]bool{}
	for _, m := range ms {
		hasMention[toks[m.tok].clause] = true
	}
	for i, t := range toks {
		if t.kind != kSeverity {
			continue
		}
		sev := x.entries[t.entry].sev
		backOnly := text[t.start] == '得'
		best, bestDist := -1, 7
		for k := range ms {
			mt := toks[ms[k].tok]
			dist := 0
			switch {
			case mt.clause == t.clause:
				if blocked(toks, ms[k].tok, i) {
					continue
				}
				if mt.start >= t.end {
					if backOnly {
						continue
					}
					dist = mt.start - t.end
				} else {
					dist = t.start - mt.end + 1 // prefer the mention after the cue
				}
			case mt.clause == t.clause-1 && !hasMention[t.clause]:
				dist = 6
			default:
				continue
			}
			if dist < bestDist || (dist == bestDist && dist == 6) {
				best, bestDist = k, dist
			}
		}
		if best >= 0 && bestDist < ms[best].sevDist {
			ms[best].sev, ms[best].sevDist = sev, bestDist
			ms[best].said.Severity = &Span{Text: string(text[t.start:t.end]), Start: t.start, End: t.end}
		}
	}
}

func blocked(toks []token, a, b int) bool {
	if a > b {
		a, b = b, a
	}
	for k := a + 1; k < b; k++ {
		if toks[k].kind == kBreak || toks[k].kind == kSymptom {
			return true
		}
	}
	return false
}

// attachBodyParts: a body part right before a mention (手 + 发麻) makes it
// specific; otherwise the KG's body part is used.
func (x *Extractor) attachBodyParts(text []rune, toks []token, ms []mstate) {
	for k := range ms {
		i := ms[k].tok
		for j := i - 1; j >= 0 && j >= i-3; j-- {
			t := toks[j]
			if t.kind == kBodyPart && t.clause == toks[i].clause && toks[i].start-t.end <= 3 {
				if t.end <= toks[i].start || toks[i].start == t.start {
					ms[k].part = x.entries[t.entry].id
				}
				break
			}
			if t.kind != kSeverity {
				break
			}
		}
	}
}

// stoolWords place a bleeding at the bowel: 大便时出现少量鲜血 is blood in
// the stool, not a bleeding of unknown site.
var stoolWords = []string{"大便", "排便", "解便", "便后", "拉屎", "拉完", "上厕所", "肛门", "屁股", "粑粑"}

// reread gives the mentions of finding from the entry of finding to when
// their context says so (where: the bowel, the airway).
func (x *Extractor) reread(toks []token, ms []mstate, from, to string, where func(t *token) bool) {
	entry := x.symptomEntry(to)
	if entry < 0 {
		return
	}
	for k := range ms {
		t := &toks[ms[k].tok]
		if x.entries[t.entry].id == from && where(t) {
			t.entry = entry
		}
	}
}

// stoolBlood reads a bleeding of no named site as bloody stool when its
// sentence is about passing stool.
func (x *Extractor) stoolBlood(text []rune, toks []token, ms []mstate) {
	x.reread(toks, ms, "bleeding_unspecified", "bloody_stool", func(t *token) bool {
		lo, hi := t.start, t.end
		for lo > 0 && !sentenceEnd(text[lo-1]) {
			lo--
		}
		for hi < len(text) && !sentenceEnd(text[hi]) {
			hi++
		}
		sentence := string(text[lo:hi])
		for _, w := range stoolWords {
			if strings.Contains(sentence, w) {
				return true
			}
		}
		return false
	})
}

func sentenceEnd(r rune) bool {
	return r == '。' || r == '！' || r == '？' || r == '\n' || r == '!' || r == '?'
}

// sputumBlood: 吐痰会吐出血 is blood in the sputum (咯血), not vomited
// blood: a 吐血 in a clause about sputum or cough is read as hemoptysis.
func (x *Extractor) sputumBlood(toks []token, ms []mstate) {
	x.reread(toks, ms, "hematemesis", "hemoptysis", func(t *token) bool {
		for _, o := range toks {
			if o.clause != t.clause || o.kind != kSymptom {
				continue
			}
			if id := x.entries[o.entry].id; id == "cough" || strings.Contains(id, "sputum") {
				return true
			}
		}
		return false
	})
}
