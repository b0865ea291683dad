package nlp

import (
	"strings"
	"unicode"

	"github.com/fenzhen/fenzhen/knowledge"
)

// Facts: what the text says about the patient beyond the symptom list —
// past illnesses and operations, allergies, regular medicines, menstrual
// and obstetric facts, personal history, and this illness's course
// (medicines taken, results quoted, doctors' diagnoses, the patient's own
// guesses). Each fact is an item as a record writes it, with the spans it
// rests on; nothing is added that the text does not say.

// Fact kinds.
const (
	FactPast       = "past"       // 既往史: a disease or operation before or apart from this illness
	FactDisease    = "disease"    // a known disease named as present: the record decides 主诉 or 既往史
	FactAllergy    = "allergy"    // 过敏史
	FactMedication = "medication" // 用药史: a medicine taken regularly
	FactMenstrual  = "menstrual"  // 月经婚育史
	FactPersonal   = "personal"   // 个人史
	FactTreatment  = "treatment"  // this illness: a medicine taken
	FactResult     = "result"     // this illness: a test and its result
	FactDiagnosis  = "diagnosis"  // this illness: a doctor's or hospital's diagnosis
	FactSuspect    = "suspect"    // the patient's own guess (自疑)
	FactNormal     = "normal"     // a function or result said to be normal (精神好, 肝功能正常): ID is the finding it denies
)

// Fact is one statement about the patient.
type Fact struct {
	Kind string `json:"kind"`
	// Item is the statement as a record writes it (高血压10年, 鸡蛋过敏).
	Item string `json:"item"`
	// ID is the KG id of the disease, drug or check, when there is one.
	ID string `json:"id,omitempty"`
	// Negated: the patient denies it (没有过敏史, 不抽烟).
	Negated bool `json:"negated,omitempty"`
	// Time is the time stated with it, as SaidTime writes it, and Days
	// that time in days (0 when none or a point).
	Time  string  `json:"time,omitempty"`
	Days  float64 `json:"days,omitempty"`
	Spans []Span  `json:"spans"`
}

// diagnosisCues lead to a diagnosis made by a doctor or a test.
var diagnosisCues = []string{
	"诊断为", "诊断是", "诊断", "确诊为", "确诊", "医生说是", "医生说", "大夫说", "医院说", "医生诊断", "查出", "检查出", "查出来",
	"检查说是", "说是", "考虑为", "考虑是", "显示", "提示", "示",
}

// regularCues tell a medicine taken regularly, not only for this illness.
var regularCues = []string{"长期", "常年", "一直在吃", "一直吃", "一直服用", "每天吃", "每天服", "规律服用", "按时吃", "天天吃", "多年"}

// askEndWords end a clause that asks (可以吃布洛芬吗).
var askEndWords = []string{"吗", "能不能", "可不可以", "可以吃", "能吃", "该吃", "要吃", "需要吃", "吃什么", "用什么", "怎么办"}

// resultWordsAfter follow a check to give its result.
var resultWordsAfter = []string{"正常", "未见异常", "没问题", "没有问题", "没事", "异常", "偏高", "偏低", "升高", "降低", "增高", "阳性", "阴性", "不正常", "超标", "高", "低"}

// normalWords: a result said to be normal denies the finding named by the
// check and 异常 or 阳性 (肝功能正常 → 肝功能异常, 幽门螺杆菌阴性 → 幽门螺杆菌阳性).
var normalWords = map[string]string{"正常": "异常", "未见异常": "异常", "没问题": "异常", "没有问题": "异常", "阴性": "阳性"}

// normalStates are functions said to be normal, with the finding they deny.
var normalStates = map[string]string{
	"精神好": "精神萎靡", "精神可": "精神萎靡", "精神挺好": "精神萎靡", "精神还好": "精神萎靡", "精神不错": "精神萎靡", "精神还可以": "精神萎靡",
	"精神状态好": "精神萎靡", "精神状态不错": "精神萎靡", "精神很好": "精神萎靡",
	"食欲正常": "食欲不振", "食欲好": "食欲不振", "食欲可": "食欲不振", "胃口好": "食欲不振", "胃口正常": "食欲不振", "胃口不错": "食欲不振",
	"吃饭正常": "食欲不振", "吃奶正常": "食欲不振",
	"幽门螺杆菌阴性": "幽门螺杆菌阳性", "幽门螺旋杆菌阴性": "幽门螺杆菌阳性", "HP阴性": "幽门螺杆菌阳性", "hp阴性": "幽门螺杆菌阳性",
}

// personalPhrases are stated habits and exposures kept as said.
var personalPhrases = []string{
	"抽烟", "吸烟", "喝酒", "饮酒", "酗酒", "熬夜", "经常熬夜", "饮食不规律", "饮食清淡", "久坐", "长期用嗓", "爱吃辣", "喜欢吃辣",
	"爱喝酒", "不爱喝",
}

// occupations the writer states (我是老师).
var occupations = []string{"教师", "老师", "司机", "厨师", "程序员", "工人", "农民", "会计", "护士", "销售", "文员", "学生", "军人", "警察", "保安", "快递员"}

func (x *Extractor) readFacts(text, orig []rune, toks []token, cues []cue, scopes *contextScopes, res *Result) {
	sp := func(a, b int) Span { return Span{Text: string(orig[a:b]), Start: a, End: b} }
	clauseOf := make([]int, len(text)+1)
	for _, t := range toks {
		for p := t.start; p < t.end && p < len(clauseOf); p++ {
			clauseOf[p] = t.clause
		}
	}
	// clauseEnd returns where the clause holding position p ends.
	clauseEnd := func(p int) int {
		for p < len(text) && !isHardBoundary(text[p]) {
			p++
		}
		return p
	}
	clauseStart := func(p int) int {
		for p > 0 && !isHardBoundary(text[p-1]) {
			p--
		}
		return p
	}
	// asks: the words at p are in a question (可以吃布洛芬吗, 是肺炎吗？), not
	// a statement: the clause ends with a question mark or particle, or an
	// asking word stands near.
	asks := func(p int) bool {
		s, e := clauseStart(p), clauseEnd(p)
		if e < len(text) && (text[e] == '？' || text[e] == '?') {
			return true
		}
		if e > s && strings.ContainsRune("吗么呢", text[e-1]) {
			return true
		}
		for k := max(s, p-4); k < min(e, p+8); k++ {
			if textPrefixAt(text, k, askEndWords) != "" {
				return true
			}
		}
		return false
	}
	var nearDays float64
	timeNear := func(start, end int) (string, *Span) {
		nearDays = 0
		for _, t := range toks {
			if t.kind != kQuantity || t.q.kind != qDuration || clauseStart(t.start) != clauseStart(start) {
				continue
			}
			if (t.start >= end && t.start-end <= 3) || (t.end <= start && start-t.end <= 2) {
				s := sp(t.start, t.end)
				nearDays = t.q.value
				return SaidTime(s.Text), &s
			}
		}
		return "", nil
	}
	// sentence-level presence of current findings, for medicines.
	currentAt := map[int]bool{}
	for _, m := range res.Symptoms {
		if m.Now() && m.State == Present {
			currentAt[scopes.sentenceOf(clauseOf[m.Start])] = true
		}
	}
	var facts []Fact

	// Diseases.
	for _, d := range res.Diseases {
		if d.Context == CtxOther {
			continue
		}
		// The standard name, unless it says more than the patient did (糖尿病
		// stays 糖尿病, not 2型糖尿病).
		name := d.Name
		if strings.Contains(d.Name, d.Text) && d.Text != "" {
			name = d.Text
		}
		f := Fact{ID: d.ID, Item: name, Spans: []Span{d.Span()}}
		if tm, ts := timeNear(d.Start, d.End); ts != nil && d.Context != CtxAsked {
			f.Time, f.Item, f.Days = tm, name+tm, nearDays
			f.Spans = append(f.Spans, *ts)
		}
		switch {
		case d.Context == CtxAsked || (d.State == Present && d.Context == CtxCurrent && askedRightAfter(text, d.End)):
			if d.State != Present {
				continue
			}
			f.Kind, f.Item, f.Time, f.Days = FactSuspect, name, "", 0
			f.Spans = f.Spans[:1]
		case d.State != Present && d.Context != CtxHistory:
			continue // 也没感冒: a denial about now, not a past illness
		case d.State != Present:
			f.Kind, f.Negated, f.Item = FactPast, true, name
		case d.Context == CtxHistory:
			f.Kind = FactPast
		default:
			f.Kind = FactDisease
			for _, t := range toks {
				if t.kind != kDisease || x.entries[t.entry].id != d.ID {
					continue
				}
				if c, ok := cueBefore(text, clauseStart(t.start), t.start, diagnosisCues); ok {
					f.Kind, f.Item, f.Time, f.Days = FactDiagnosis, name, "", 0
					f.Spans = []Span{sp(t.start, t.end), sp(c, c+runeLen(textPrefixAt(text, c, diagnosisCues)))}
					break
				}
			}
		}
		facts = append(facts, f)
	}

	chronicAt := map[int]bool{} // sentences naming a known disease of the patient
	for _, f := range facts {
		if (f.Kind == FactPast || f.Kind == FactDisease) && !f.Negated {
			chronicAt[scopes.sentenceOf(clauseOf[f.Spans[0].Start])] = true
		}
	}

	// Medicines.
	for _, d := range res.Drugs {
		if d.Context == CtxOther || d.Context == CtxAsked || d.State != Present || asks(d.Start) {
			continue
		}
		f := Fact{Kind: FactTreatment, ID: d.ID, Item: d.Name, Spans: []Span{d.Span()}}
		s, e := clauseStart(d.Start), clauseEnd(d.End)
		if c, ok := cueBefore(text, s, e, regularCues); ok && (!currentAt[scopes.sentenceOf(clauseOf[d.Start])] || chronicAt[scopes.sentenceOf(clauseOf[d.Start])]) {
			f.Kind = FactMedication
			f.Spans = append(f.Spans, sp(c, c+runeLen(textPrefixAt(text, c, regularCues))))
		}
		facts = append(facts, f)
	}

	// A medicine named as an allergen (对青霉素过敏) is not a treatment.
	kept := facts[:0]
	for _, f := range facts {
		allergen := false
		if f.Kind == FactTreatment || f.Kind == FactMedication {
			for _, sp := range f.Spans[:1] {
				e := sp.End
				for e < len(text) && e-sp.End < 2 && !isHardBoundary(text[e]) && !hasPrefix(text, e, "过敏") {
					e++
				}
				allergen = hasPrefix(text, e, "过敏")
			}
		}
		if !allergen {
			kept = append(kept, f)
		}
	}
	facts = kept

	// Checks with a result said right after them.
	for _, c := range res.Checks {
		if c.Context == CtxOther || c.Context == CtxAsked || c.State != Present {
			continue
		}
		end := clauseEnd(c.End)
		for p := c.End; p < end && p <= c.End+4; p++ {
			w := textPrefixAt(text, p, resultWordsAfter)
			if w == "" {
				continue
			}
			e := p + runeLen(w)
			f := Fact{Kind: FactResult, ID: c.ID, Item: c.Name + string(orig[c.End:e]), Spans: []Span{sp(c.Start, e)}}
			if abn, ok := normalWords[w]; ok && strings.Trim(string(text[c.End:p]), "是都也还均的") == "" {
				for _, name := range []string{c.Text + abn, c.Name + abn} {
					if id := x.symptomNamed(name); id != "" {
						f.Kind, f.ID, f.Negated = FactNormal, id, true
						break
					}
				}
			}
			facts = append(facts, f)
			break
		}
	}

	// Allergies: 对青霉素过敏, 鸡蛋过敏, 过敏体质, 没有过敏史.
	for i := 0; i+1 < len(text); i++ {
		if text[i] != '过' || text[i+1] != '敏' {
			continue
		}
		end := i + 2
		if end < len(text) && text[end] == '性' {
			continue // 过敏性鼻炎 is a disease
		}
		cl := clauseOf[i]
		if ctx := scopes.at(i, cl); ctx == CtxOther || ctx == CtxAsked || asks(i) {
			continue
		}
		s := clauseStart(i)
		neg := negatedIn(text, s, i)
		var f Fact
		switch {
		case hasPrefix(text, end, "体质"):
			f = Fact{Kind: FactAllergy, Item: "过敏体质", Spans: []Span{sp(i, end+2)}}
		case hasPrefix(text, end, "史"):
			from := i
			if n := negStart(text, s, i); n >= 0 {
				from = n
			}
			f = Fact{Kind: FactAllergy, Item: "有过敏史", Spans: []Span{sp(from, end+1)}}
			if neg {
				f.Item = "无过敏史"
			}
		default:
			a := allergenStart(text, s, i)
			if a < 0 {
				continue
			}
			what := string(orig[a:i])
			if x.isBodyPartAt(toks, a, i) {
				continue // 皮肤过敏 is a complaint, not an allergen
			}
			f = Fact{Kind: FactAllergy, Item: what + "过敏", Spans: []Span{sp(a, end)}}
			if a > 0 && text[a-1] == '对' {
				f.Spans[0] = sp(a-1, end)
			}
			if neg {
				f.Item = "无" + what + "过敏"
			}
		}
		f.Negated = neg
		facts = append(facts, f)
	}

	// A disease named in an allergy (青霉素过敏) is that allergy.
	kept = facts[:0]
	for _, f := range facts {
		drop := false
		if f.Kind != FactAllergy {
			for _, g := range facts {
				if g.Kind == FactAllergy && overlaps(f.Spans[0], g.Spans[0]) {
					drop = true
				}
			}
		}
		if !drop {
			kept = append(kept, f)
		}
	}
	facts = kept

	// Menstrual and obstetric facts.
	p := res.Patient
	switch {
	case p.GestationSpan != nil:
		// As said: 孕32周, 怀孕三个月 → 孕3个月.
		facts = append(facts, Fact{Kind: FactMenstrual, Item: "孕" + SaidTime(p.GestationSpan.Text), Spans: []Span{*p.GestationSpan}})
	case p.Pregnant && p.PregSpan != nil:
		facts = append(facts, Fact{Kind: FactMenstrual, Item: "妊娠", Spans: []Span{*p.PregSpan}})
	}
	for _, c := range cues {
		if c.kind != cPostpartum || scopes.other[c.clause] {
			continue
		}
		f := Fact{Kind: FactMenstrual, Item: "产后", Spans: []Span{sp(c.start, c.end)}}
		if tm, ts := timeNear(c.start, c.end); ts != nil && ts.Start >= c.end {
			f.Item, f.Time = "产后"+tm, tm
			f.Spans = append(f.Spans, *ts)
		}
		facts = append(facts, f)
		break
	}
	for _, w := range []string{"哺乳期", "母乳喂养期间"} {
		if k := indexRunes(text, w); k >= 0 {
			facts = append(facts, Fact{Kind: FactMenstrual, Item: "哺乳期", Spans: []Span{sp(k, k+runeLen(w))}})
			break
		}
	}

	// Functions said to be normal (精神好, 胃口正常).
	for i := 0; i < len(text); i++ {
		w := textPrefixAt(text, i, normalStateWords)
		if w == "" {
			continue
		}
		e := i + runeLen(w)
		if ctx := scopes.at(i, clauseOf[i]); ctx == CtxCurrent && !asks(i) && (e >= len(text) || text[e] != '吗') {
			if id := x.symptomNamed(normalStates[w]); id != "" {
				facts = append(facts, Fact{Kind: FactNormal, ID: id, Item: string(orig[i:e]), Negated: true, Spans: []Span{sp(i, e)}})
			}
		}
		i = e - 1
	}

	// Personal history.
	seen := map[string]bool{}
	for i := 0; i < len(text); i++ {
		w := textPrefixAt(text, i, personalPhrases)
		if w == "" {
			continue
		}
		if scopes.other[clauseOf[i]] || asks(i) || scopes.at(i, clauseOf[i]) == CtxAsked {
			i += runeLen(w) - 1
			continue
		}
		from := i
		neg := false
		if n := negStart(text, clauseStart(i), i); n >= 0 && i-n <= 3 {
			from, neg = n, true
		}
		item := string(orig[from : i+runeLen(w)])
		if !seen[item] {
			seen[item] = true
			facts = append(facts, Fact{Kind: FactPersonal, Item: item, Negated: neg, Spans: []Span{sp(from, i+runeLen(w))}})
		}
		i += runeLen(w) - 1
	}
	for _, lead := range []string{"我是", "本人是", "职业是", "工作是", "我是一名", "我是一个"} {
		k := indexRunes(text, lead)
		if k < 0 {
			continue
		}
		at := k + runeLen(lead)
		for _, suffix := range []string{"一名", "一个", "名", "个"} {
			if hasPrefix(text, at, suffix) {
				at += runeLen(suffix)
				break
			}
		}
		if w := textPrefixAt(text, at, occupations); w != "" {
			it := string(orig[at : at+runeLen(w)])
			if !seen[it] {
				seen[it] = true
				facts = append(facts, Fact{Kind: FactPersonal, Item: it, Spans: []Span{sp(at, at+runeLen(w))}})
			}
			break
		}
	}
	res.Facts = facts
	defer func() {
		if res.ComplaintTime != nil {
			return
		}
		// Vague lengths the number reader leaves (好多年, 好几年): as said.
		for i := 0; i < len(text); i++ {
			if w := textPrefixAt(text, i, vagueDurations); w != "" && !scopes.other[clauseOf[i]] && scopes.at(i, clauseOf[i]) == CtxCurrent {
				s := sp(i, i+runeLen(w))
				res.ComplaintTime = &s
				return
			}
		}
	}()
	for _, t := range toks {
		isTime := (t.kind == kQuantity && t.q.kind == qDuration && !isFrequency(text, t.q)) || t.kind == kRelTime
		if !isTime {
			continue
		}
		inFact := false // 产后两个月 is no time of the complaint
		for _, f := range facts {
			for _, s := range f.Spans {
				inFact = inFact || (f.Kind == FactMenstrual && s.Start < t.end && t.start < s.End)
			}
		}
		denied := false // 有一个月没有咳嗽了: the time of a denial
		for _, m := range res.Symptoms {
			denied = denied || (m.State == Absent && clauseOf[m.Start] == t.clause)
		}
		if isTime && !inFact && !denied && !scopes.other[t.clause] && scopes.at(t.start, t.clause) == CtxCurrent {
			s := sp(t.start, t.end)
			res.ComplaintTime = &s
			break
		}
	}
}

// askedRightAfter: the words before end are questioned (是肺炎吗？).
func askedRightAfter(text []rune, end int) bool {
	for end < len(text) && strings.ContainsRune("了的呢啊吧", text[end]) {
		end++
	}
	return end < len(text) && strings.ContainsRune("吗？?", text[end])
}

// vagueDurations are lengths of time without a number.
var vagueDurations = []string{"好多年", "好几年", "很多年", "十几年", "好几个月", "好多天", "好几天"}

// normalStateWords are the keys of normalStates, listed once.
var normalStateWords = mapKeys(normalStates)

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// symptomNamed returns the id of the symptom whose KG term is exactly name.
func (x *Extractor) symptomNamed(name string) string {
	key := []rune(knowledge.Normalize(name))
	if e, n := x.trie.longest(key, 0); e >= 0 && n == len(key) && x.entries[e].kind == kSymptom {
		return x.entries[e].id
	}
	return ""
}

func overlaps(a, b Span) bool { return a.Start < b.End && b.Start < a.End }

func (x *Extractor) isBodyPartAt(toks []token, a, b int) bool {
	for _, t := range toks {
		if t.kind == kBodyPart && t.start < b && a < t.end {
			return true
		}
	}
	return false
}

// allergenStart returns where the allergen named right before 过敏 at i
// starts (对鸡蛋过敏, 螨虫过敏), or -1 when none is named.
func allergenStart(text []rune, clauseStart, i int) int {
	for k := i - 1; k >= clauseStart && i-k <= 8; k-- {
		if text[k] == '对' {
			if i-k-1 >= 1 {
				return k + 1
			}
			return -1
		}
	}
	a := i
	for a > clauseStart && i-a < 4 && unicode.Is(unicode.Han, text[a-1]) && !strings.ContainsRune("有是会都也我他她就的了在易容不没无点", text[a-1]) {
		a--
	}
	if a == i {
		return -1
	}
	return a
}

// negations that deny what follows them in a clause.
var factNegations = []string{"否认", "没有", "没", "无", "不"}

// negStart returns where a negation before position i in the clause
// starting at s begins, or -1.
func negStart(text []rune, s, i int) int {
	for k := i - 1; k >= s; k-- {
		if w := textPrefixAt(text, k, factNegations); w != "" && k+runeLen(w) <= i {
			return k
		}
	}
	return -1
}

func negatedIn(text []rune, s, i int) bool { return negStart(text, s, i) >= 0 }

// cueBefore finds one of words between s and e; it returns where.
func cueBefore(text []rune, s, e int, words []string) (int, bool) {
	for k := s; k < e; k++ {
		if textPrefixAt(text, k, words) != "" {
			return k, true
		}
	}
	return 0, false
}

// textPrefixAt returns the longest of words that text[i:] starts with.
func textPrefixAt(text []rune, i int, words []string) string {
	best := ""
	for _, w := range words {
		if len(w) > len(best) && hasPrefix(text, i, w) {
			best = w
		}
	}
	return best
}

func indexRunes(text []rune, w string) int {
	for i := range text {
		if hasPrefix(text, i, w) {
			return i
		}
	}
	return -1
}

func runeLen(s string) int { return len([]rune(s)) }
