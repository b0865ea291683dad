// Package nlp understands Chinese symptom descriptions: it finds symptoms
// (as KG symptom ids with rune offsets), negation, duration, severity,
// body part, temperature and who the patient is.
//
// The hot path is one longest-match pass over a rune trie holding every KG
// term and cue word, plus cheap rule scans; the bleve fuzzy fallback runs
// only for leftover spans that look like a complaint.
package nlp

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/wire"
)

// Symptom states.
const (
	Present = "present"
	Absent  = "absent"
)

// Mention is one symptom found in the text. Start and End are rune
// offsets into the original text; Text is that span.
type Mention struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Text         string  `json:"text"`
	Start        int     `json:"start"`
	End          int     `json:"end"`
	State        string  `json:"state"`
	DurationDays float64 `json:"duration_days"`
	Severity     string  `json:"severity"`
	BodyPart     string  `json:"body_part"`
	Fuzzy        bool    `json:"fuzzy,omitempty"`
	// Guessed: found by the fuzzy fallback, not by a KG term or a body
	// part with its head.
	Guessed bool `json:"-"`
	// Context is "" for the patient's current complaint, else history,
	// asked or other (see CtxHistory …): such a mention is not a finding now.
	Context string `json:"context,omitempty"`
	// Onset is "sudden" when the patient says so (突然胸痛), "new" for a
	// first time (第一次便血).
	Onset string `json:"onset,omitempty"`
	// Side is left, right, both or one (一侧) when stated.
	Side string `json:"side,omitempty"`
	// Character describes a pain or discomfort (压榨样, 撕裂样, 绞痛 …).
	Character string `json:"character,omitempty"`
	// RadiatesTo is the body part a pain spreads to (疼到左肩 → shoulder).
	RadiatesTo string `json:"radiates_to,omitempty"`
	// Recurring: said in a clause of comings and goings (有时候, 经常,
	// 偶尔, 反复): an episode, not something happening now.
	Recurring bool `json:"recurring,omitempty"`
	// Extent is "widespread" for 一大片, 大面积, 全身.
	Extent string `json:"extent,omitempty"`
	// DurationText is the patient's own words for the duration or onset
	// time (3天, 半年多, 今天早上), as a record must quote them.
	DurationText string `json:"duration_text,omitempty"`
	// Cues are the spans of the words that gave the attributes above
	// (the 突然 of an onset, the 疼到左肩 of a radiation), for evidence.
	Cues []Span `json:"-"`
	// Said holds, per attribute, the span of the words it was read from
	// (the record quotes them; nil when the attribute was not stated).
	Said Said `json:"-"`
}

// Said is where each attribute of a mention was stated.
type Said struct {
	Time, Severity, Side, Character, Onset, Radiation *Span
	// Negation: the words that deny an absent finding (不, 没有).
	Negation *Span
	// MoreCharacters: further descriptions of the same pain (闷痛 … 像压了
	// 块石头), with CharacterNames their standard words.
	MoreCharacters []Span
	CharacterNames []string
}

// Span is a stretch of the original text, in runes; the wire type, so
// triage's red-flag evidence carries it unchanged.
type Span = wire.Span

// Span returns the mention's own span.
func (m *Mention) Span() Span { return Span{Text: m.Text, Start: m.Start, End: m.End} }

// Now reports a finding of the patient's current complaint.
func (m *Mention) Now() bool { return m.Context == CtxCurrent }

// Term is a named disease, drug, check or body part found in the text.
type Term struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Text    string `json:"text"`
	Start   int    `json:"start"`
	End     int    `json:"end"`
	State   string `json:"state"`
	Context string `json:"context,omitempty"`
	// Value is a number quoted right after a check (甲胎蛋白43 → "43").
	Value string `json:"value,omitempty"`
}

// Span returns the term's span.
func (t *Term) Span() Span { return Span{Text: t.Text, Start: t.Start, End: t.End} }

// Vital is a measured value the patient quotes.
type Vital struct {
	// Kind is bp, glucose, heart_rate, spo2 or resp_rate.
	Kind string `json:"kind"`
	// Value is systolic pressure for bp (Value2 diastolic, 0 when not
	// given), mmol/L for glucose, beats or breaths per minute, % for SpO2.
	Value   float64 `json:"value"`
	Value2  float64 `json:"value2,omitempty"`
	Text    string  `json:"text"`
	Start   int     `json:"start"`
	End     int     `json:"end"`
	Context string  `json:"context,omitempty"`
}

// Span returns the vital's span.
func (v *Vital) Span() Span { return Span{Text: v.Text, Start: v.Start, End: v.End} }

// Patient holds hints about who the patient is. AgeYears is -1 when no
// age was stated; AgeGroup is infant, child, adult, elderly or "".
type Patient struct {
	AgeYears       float64 `json:"age_years"`
	AgeGroup       string  `json:"age_group"`
	Sex            string  `json:"sex"`
	Pregnant       bool    `json:"pregnant"`
	GestationWeeks int     `json:"gestation_weeks"`
	// Postpartum: the patient has just given birth (产后, 坐月子).
	Postpartum bool `json:"postpartum,omitempty"`
	// Reporter is 本人 when the patient writes, 家属 when a relative does,
	// "" when the text does not tell.
	Reporter string `json:"reporter,omitempty"`
	// Spans of the words each hint was read from (age, sex, pregnancy).
	AgeSpan      *Span `json:"-"`
	ReporterSpan *Span `json:"-"`
	// GestationSpan: the words the gestation was read from (孕32周).
	GestationSpan *Span `json:"-"`
	SexSpan       *Span `json:"-"`
	PregSpan      *Span `json:"-"`
}

// Result of Extract.
type Result struct {
	Symptoms     []Mention `json:"symptoms"`
	TemperatureC float64   `json:"temperature_c"`
	// TempSpan is where the highest temperature was read.
	TempSpan  *Span   `json:"-"`
	Patient   Patient `json:"patient"`
	Diseases  []Term  `json:"diseases,omitempty"`
	Drugs     []Term  `json:"drugs,omitempty"`
	Checks    []Term  `json:"checks,omitempty"`
	BodyParts []Term  `json:"body_parts,omitempty"`
	Vitals    []Vital `json:"vitals,omitempty"`
	// Medical: the text is about health (a finding, term, value or health
	// word); text without is answered with empty lists.
	Medical bool `json:"medical"`
	// Results: the patient quotes results of their own tests (体检发现,
	// 化验单, 指标偏高), in a clause about them.
	Results bool `json:"results,omitempty"`
	// Facts are the statements about the patient beyond the symptoms
	// (history.go): past illnesses, allergies, regular medicines,
	// menstrual and personal history, and this illness's course.
	Facts []Fact `json:"facts,omitempty"`
	// ComplaintTime is the first time the text gives for the patient's
	// current illness (a duration or a point such as 今天早上), whether or
	// not it could be tied to a finding; nil when none.
	ComplaintTime *Span `json:"-"`
	// Grams are FNV-1a 32-bit hashes of the text's character 1-, 2- and
	// 3-grams (letters and digits of the normalized text, in text order,
	// repeats kept), the classifiers' view of the wording.
	Grams []uint32 `json:"-"`
}

// Evidence folds the current mentions into one state per symptom id; a
// symptom mentioned as present anywhere is present. Mentions in the
// history, asked about or about someone else are left out.
func (r Result) Evidence() map[string]string {
	ev := make(map[string]string, len(r.Symptoms))
	for _, m := range r.Symptoms {
		if m.Context != CtxCurrent {
			continue
		}
		if ev[m.ID] != Present {
			ev[m.ID] = m.State
		}
	}
	return ev
}

type kind uint8

const (
	kSymptom kind = iota + 1
	kBodyPart
	kHead
	kNeg
	kPseudo
	kBreak
	kExcept
	kExceptEnd
	kPostNeg
	kSeverity
	kPatient
	kRelTime
	kDisease
	kDrug
	kCheck
	// Token-only kinds.
	kQuantity
	kBoundary
)

type entry struct {
	kind    kind
	id      string // symptom id, body part id or folded head
	sev     string // severity for kSeverity, or implied by a symptom term
	days    float64
	patient patientCue
	part    string // body part named inside a symptom term (手麻 → hand)
}

type composeKey struct{ part, head string }

// Extractor is immutable after NewExtractor and safe for concurrent use.
type Extractor struct {
	kg       *knowledge.KG
	trie     *trie
	entries  []entry
	compose  map[composeKey]string
	feverID  string
	symEntry map[string]int // symptom id → an entry naming it
	fuzzy    *knowledge.Index
	maxRunes int
	// cues is the trie of context and attribute cues (scope.go).
	cues       *trie
	cueEntries []cueEntry
	// noGuess: findings of red-flag rules, which the fuzzy fallback never
	// guesses (出血 is not 大出血, 鲜红色 not 粉红色泡沫痰).
	noGuess map[string]bool
}

// Option configures an Extractor.
type Option func(*Extractor) error

// WithFuzzy enables the bleve fallback for phrasings not in the dictionary.
func WithFuzzy(idx *knowledge.Index) Option {
	return func(x *Extractor) error { x.fuzzy = idx; return nil }
}

// WithTerms adds colloquial phrases for existing symptom ids (phrase →
// symptom id), e.g. lexicons from the shared data. Unknown ids are an error.
func WithTerms(terms map[string]string) Option {
	return func(x *Extractor) error {
		keys := make([]string, 0, len(terms))
		for k := range terms {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, phrase := range keys {
			id := terms[phrase]
			if _, ok := x.kg.Symptom(id); !ok {
				return fmt.Errorf("term %q: unknown symptom id %q", phrase, id)
			}
			x.addSymptomTerm(phrase, id, false)
		}
		return nil
	}
}

// WithMaxRunes caps how much text is read (default 20,000 runes); the
// rest is ignored, which bounds the work per request.
func WithMaxRunes(n int) Option {
	return func(x *Extractor) error {
		if n <= 0 {
			return fmt.Errorf("max runes must be positive, got %d", n)
		}
		x.maxRunes = n
		return nil
	}
}

// DefaultMaxRunes is how much text Extract reads unless WithMaxRunes says otherwise.
const DefaultMaxRunes = 20000

// NewExtractor compiles the dictionary from the KG and the built-in cue
// words. Colloquial phrasings of symptoms live in the KG
// (knowledge/kg/symptoms.yaml synonyms), never in Go.
func NewExtractor(kg *knowledge.KG, opts ...Option) (*Extractor, error) {
	if kg == nil {
		return nil, fmt.Errorf("new extractor: nil KG")
	}
	x := &Extractor{kg: kg, trie: newTrie(), compose: map[composeKey]string{}, maxRunes: DefaultMaxRunes}
	add := func(word string, e entry) {
		x.entries = append(x.entries, e)
		x.trie.insert([]rune(knowledge.Normalize(word)), len(x.entries)-1)
	}
	// Cues first: KG terms inserted later replace a cue spelled the same.
	for _, w := range negationCues {
		add(w, entry{kind: kNeg})
	}
	for _, w := range pseudoNegations {
		add(w, entry{kind: kPseudo})
	}
	for _, w := range breakWords {
		add(w, entry{kind: kBreak})
	}
	for _, w := range exceptCues {
		add(w, entry{kind: kExcept})
	}
	for _, w := range exceptEnds {
		add(w, entry{kind: kExceptEnd})
	}
	for _, w := range postNegations {
		if e, _ := x.trie.longest([]rune(w), 0); e < 0 || x.entries[e].kind != kNeg {
			add(w, entry{kind: kPostNeg})
		}
	}
	for w, s := range severityCues {
		add(w, entry{kind: kSeverity, sev: s})
	}
	for w, p := range patientCues {
		add(w, entry{kind: kPatient, patient: p})
	}
	for w, d := range relTimes {
		add(w, entry{kind: kRelTime, days: d})
	}
	for _, h := range heads {
		f := h
		if a, ok := headAlias[h]; ok {
			f = a
		}
		add(h, entry{kind: kHead, id: f})
	}
	partByName := map[string]string{}
	for _, b := range kg.BodyParts() {
		for _, n := range append([]string{b.Name}, b.Synonyms...) {
			n = knowledge.Normalize(n)
			if _, ok := partByName[n]; !ok && n != "" {
				partByName[n] = b.ID
				add(n, entry{kind: kBodyPart, id: b.ID})
			}
		}
	}
	for _, s := range kg.Symptoms() {
		if s.ID == "fever" || (x.feverID == "" && s.Name == "发热") {
			x.feverID = s.ID
		}
	}
	// Standard names before synonyms, so a name is never taken by another
	// symptom's synonym.
	syms := kg.Symptoms()
	for i := range syms {
		x.addSymptomTerm(syms[i].Name, syms[i].ID, true)
	}
	for i := range syms {
		for _, t := range syms[i].Synonyms {
			x.addSymptomTerm(t, syms[i].ID, false)
		}
	}
	// Body part + head composition (膝盖 + 疼 → knee pain), learnt from
	// KG terms shaped "<body part><head>".
	for pass := 0; pass < 2; pass++ {
		for i := range syms {
			terms := syms[i].Synonyms
			if pass == 0 {
				terms = []string{syms[i].Name}
			}
			for _, t := range terms {
				x.learnCompose(knowledge.Normalize(t), syms[i].ID, partByName)
			}
		}
	}
	for _, o := range opts {
		if err := o(x); err != nil {
			return nil, fmt.Errorf("new extractor: %w", err)
		}
	}
	x.addTerms(kg)
	x.buildCues()
	x.noGuess = map[string]bool{}
	for _, rf := range kg.RedFlags() {
		for _, id := range append(append([]string{}, rf.All...), rf.Any...) {
			x.noGuess[id] = true
		}
	}
	x.symEntry = make(map[string]int, len(syms))
	for k, en := range x.entries {
		if _, ok := x.symEntry[en.id]; en.kind == kSymptom && !ok {
			x.symEntry[en.id] = k
		}
	}
	return x, nil
}

// addSymptomTerm adds a symptom phrase and its 疼/痛 twin. A name may
// replace a cue or an earlier synonym; a synonym only fills free slots.
func (x *Extractor) addSymptomTerm(term, id string, isName bool) {
	term = knowledge.Normalize(term)
	if term == "" || unsafeTerms[term] {
		return
	}
	variants := []string{term}
	if strings.Contains(term, "疼") {
		variants = append(variants, strings.ReplaceAll(term, "疼", "痛"))
	} else if strings.Contains(term, "痛") && !strings.Contains(term, "疼痛") {
		variants = append(variants, strings.ReplaceAll(term, "痛", "疼"))
	}
	for vi, v := range variants {
		key := []rune(v)
		if e, n := x.trie.longest(key, 0); e >= 0 && n == len(key) {
			old := x.entries[e]
			if old.kind == kSymptom && (!isName || vi > 0 || old.id == id) {
				continue // keep the first owner of a synonym
			}
			if old.kind != kSymptom && vi > 0 {
				continue // a generated variant never hides a cue
			}
		}
		x.entries = append(x.entries, entry{kind: kSymptom, id: id, sev: impliedSeverity(v), patient: impliedPatient(v), part: x.leadingPart(key)})
		x.trie.insert(key, len(x.entries)-1)
	}
}

// impliedSeverity reads a severity from the wording of a term itself
// (高烧 → severe, 低烧 → mild, 一阵一阵 → intermittent).
func impliedSeverity(term string) string {
	best, bestLen := "", 0
	for w, s := range severityCues {
		if s != "" && len(w) > bestLen && strings.Contains(term, w) {
			best, bestLen = s, len(w)
		}
	}
	return best
}

// leadingPart returns the body part a term starts with, if any.
func (x *Extractor) leadingPart(term []rune) string {
	e, n := x.trie.longest(term, 0)
	if e >= 0 && n < len(term) && x.entries[e].kind == kBodyPart {
		return x.entries[e].id
	}
	return ""
}

// impliedPatient reads patient hints contained in a symptom term
// (月经不调 → female, 孕期腹痛 → pregnant, 新生儿黄疸 → infant).
func impliedPatient(term string) patientCue {
	var best patientCue
	bestLen := 0
	for w, c := range patientCues {
		if len(w) > bestLen && len([]rune(w)) >= 2 && strings.Contains(term, w) {
			best, bestLen = c, len(w)
		}
	}
	return best
}

func (x *Extractor) learnCompose(term, id string, partByName map[string]string) {
	for _, h := range heads {
		if !strings.HasSuffix(term, h) || len(term) == len(h) {
			continue
		}
		part, ok := partByName[strings.TrimSuffix(strings.TrimSuffix(term, h), "部")]
		if !ok {
			part, ok = partByName[strings.TrimSuffix(term, h)]
		}
		if !ok {
			continue
		}
		f := h
		if a, ok := headAlias[h]; ok {
			f = a
		}
		k := composeKey{part, f}
		if _, dup := x.compose[k]; !dup {
			x.compose[k] = id
		}
	}
}

// token is one recognised span in the normalized text.
type token struct {
	kind       kind
	start, end int
	entry      int // index into entries, or -1
	q          quantity
	clause     int
	hard       bool // boundary: ends the clause
	pattern    bool // a pattern finding (patterns.go): negated only right before it
	inner      bool // a symptom inside a disease word (偏头痛): the disease's context
	guessed    bool // found by the fuzzy fallback: it never hides a cue (血压测了210)
}

// Extract analyses text. It never fails: empty or unusable text gives an
// empty result. Safe for concurrent use.
func (x *Extractor) Extract(text string) Result {
	res := Result{Patient: Patient{AgeYears: -1}}
	if text == "" {
		return res
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	orig := []rune(text)
	if len(orig) > x.maxRunes {
		orig = orig[:x.maxRunes]
	}
	norm := normalize(string(orig), make([]rune, 0, len(orig)))
	toks := x.scan(norm)
	toks = x.composeParts(norm, toks)
	if x.fuzzy != nil {
		toks = x.fuzzyFill(norm, toks)
	}
	toks = x.innerSymptoms(norm, toks)
	clauseOf := clauses(norm, toks)
	if pt := x.matchPatterns(norm, toks, clauseOf); len(pt) > 0 {
		toks = mergeTokens(toks, pt)
	}
	cues := x.scanCues(norm, toks, clauseOf)
	cues = x.timeAgoCues(norm, toks, cues)
	x.mentions(norm, orig, toks, cues, &res)
	res.Grams = grams(norm)
	return res
}

func isHardBoundary(r rune) bool {
	switch r {
	case '，', ',', '。', '.', '；', ';', '！', '!', '？', '?', '\n', '：', ':', '~', '～', '…', ' ', '(', ')', '（', '）':
		return true
	}
	return unicode.IsSpace(r)
}

// scan is the single longest-match pass.
func (x *Extractor) scan(text []rune) []token {
	toks := make([]token, 0, len(text)/3+4)
	clause := 0
	for i := 0; i < len(text); {
		r := text[i]
		if isHardBoundary(r) {
			toks = append(toks, token{kind: kBoundary, start: i, end: i + 1, entry: -1, clause: clause, hard: true})
			clause++
			i++
			continue
		}
		e, n := x.trie.longest(text, i)
		if isNumStart(r) {
			if q, ok := scanQuantity(text, i, x.quantityContext(text, toks, i)); ok && q.end-i >= n {
				if q.kind != qDuration || !isFrequency(text, q) {
					toks = append(toks, token{kind: kQuantity, start: i, end: q.end, entry: -1, q: q, clause: clause})
				}
				i = q.end
				continue
			}
		}
		if e >= 0 {
			toks = append(toks, token{kind: x.entries[e].kind, start: i, end: i + n, entry: e, clause: clause})
			i += n
			continue
		}
		i++
	}
	return toks
}

// quantityContext tells scanQuantity what precedes position i.
func (x *Extractor) quantityContext(text []rune, toks []token, i int) int {
	if i > 0 && text[i-1] == '孕' {
		return ctxPreg
	}
	if i >= 2 && hasPrefix(text, i-2, "今年") {
		return ctxPerson
	}
	// 生完孩子半个月 is time since the delivery, not the baby's age.
	for _, w := range []string{"生完孩子", "生孩子", "生完宝宝", "生完小孩", "生小孩", "生完", "产后", "剖腹产", "剖宫产", "顺产"} {
		if k := len([]rune(w)); i >= k && hasPrefix(text, i-k, w) {
			return ctxNone
		}
	}
	for _, w := range []string{"出生", "生下来", "出生后", "生了"} {
		if k := len([]rune(w)); i >= k && hasPrefix(text, i-k, w) {
			return ctxBirth
		}
	}
	if len(toks) == 0 {
		return ctxNone
	}
	// 男，7个月 / 女孩，13个月: a number right after the patient's sex is
	// their age.
	if n := len(toks); n >= 2 && toks[n-1].kind == kBoundary && i == toks[n-1].end && toks[n-2].entry >= 0 &&
		toks[n-2].end == toks[n-1].start && x.entries[toks[n-2].entry].kind == kPatient && x.entries[toks[n-2].entry].patient.sex != "" &&
		(text[toks[n-1].start] == '，' || text[toks[n-1].start] == ',') {
		return ctxChild
	}
	t := toks[len(toks)-1]
	gap := i - t.end
	if gap > 2 || t.entry < 0 {
		return ctxNone
	}
	e := x.entries[t.entry]
	if e.patient.pregnant {
		return ctxPreg
	}
	if e.patient.child {
		return ctxChild
	}
	if e.kind == kPatient {
		return ctxPerson
	}
	if e.kind == kSymptom {
		return ctxSymptom
	}
	return ctxNone
}

// isFrequency: 一天拉五六次 describes frequency, not duration.
func isFrequency(text []rune, q quantity) bool {
	if q.start > 0 && (text[q.start-1] == '每' || text[q.start-1] == '隔') {
		return true
	}
	if q.end < len(text) && text[q.end] == '比' {
		return true // 一天比一天重
	}
	for j := q.end; j < len(text) && j < q.end+6; j++ {
		if isHardBoundary(text[j]) {
			return false
		}
		if text[j] == '次' || text[j] == '回' || text[j] == '趟' || text[j] == '遍' {
			return j > q.end && isNumStart(text[j-1])
		}
	}
	return false
}

// composeParts turns body part + (fillers) + head into a symptom token
// (肚子有点疼, 头不疼了). A bare head borrows the body part mentioned just
// before (乳房有个肿块，不疼) or falls back to a generic symptom (很痒).
func (x *Extractor) composeParts(text []rune, toks []token) []token {
	out := make([]token, 0, len(toks))
	lastPart, lastPartEnd := "", -100
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == kHead {
			if len(out) > 0 && out[len(out)-1].kind == kSymptom && t.start-out[len(out)-1].end <= 2 {
				continue // 脚趾头红肿疼得厉害: the head belongs to that symptom
			}
			head := x.entries[t.entry].id
			if id, ok := x.compose[composeKey{lastPart, head}]; ok && t.start-lastPartEnd <= 10 {
				out = append(out, token{kind: kSymptom, start: t.start, end: t.end, entry: x.symptomEntry(id), clause: t.clause})
			} else if id, ok := headFallback[head]; ok && x.symptomEntry(id) >= 0 {
				out = append(out, token{kind: kSymptom, start: t.start, end: t.end, entry: x.symptomEntry(id), clause: t.clause})
			}
			continue
		}
		if t.kind == kSymptom {
			if s, ok := x.kg.Symptom(x.entries[t.entry].id); ok && s.BodyPart != "" && s.BodyPart != "whole_body" {
				lastPart, lastPartEnd = s.BodyPart, t.end
			}
		}
		if t.kind != kBodyPart {
			out = append(out, t)
			continue
		}
		part := x.entries[t.entry].id
		lastPart, lastPartEnd = part, t.end
		j, ok := i+1, false
		for ; j < len(toks) && j <= i+3; j++ {
			n := toks[j]
			if n.clause != t.clause || n.kind == kBoundary {
				break
			}
			if n.kind == kHead {
				ok = allFillers(text, toks, i, j)
				break
			}
			if n.kind != kSeverity && !(n.kind == kNeg && n.end-n.start == 1) {
				break
			}
		}
		if !ok {
			out = append(out, t)
			continue
		}
		head := x.entries[toks[j].entry].id
		id, found := x.compose[composeKey{part, head}]
		if !found {
			out = append(out, t)
			continue
		}
		out = append(out, t) // keep the body part for body_part attribution
		out = append(out, toks[i+1:j]...)
		out = append(out, token{kind: kSymptom, start: t.start, end: toks[j].end, entry: x.symptomEntry(id), clause: t.clause})
		lastPartEnd = toks[j].end
		i = j
	}
	return out
}

// allFillers checks that the runes between toks[i] and toks[j] are fillers
// or belong to severity tokens.
func allFillers(text []rune, toks []token, i, j int) bool {
	if toks[j].start-toks[i].end > 5 {
		return false
	}
	covered := map[int]bool{}
	for k := i + 1; k < j; k++ {
		for p := toks[k].start; p < toks[k].end; p++ {
			covered[p] = true
		}
	}
	for p := toks[i].end; p < toks[j].start; p++ {
		if !covered[p] && !fillers[text[p]] {
			return false
		}
	}
	return true
}

// symptomEntry returns the index of an entry naming symptom id, or -1.
func (x *Extractor) symptomEntry(id string) int {
	if k, ok := x.symEntry[id]; ok {
		return k
	}
	return -1
}
