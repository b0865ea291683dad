package nlp

import (
	"sort"

	"github.com/fenzhen/fenzhen/knowledge"
)

// cueKind is a context or attribute cue (context.go), read in a trie of its
// own so that it never competes with the symptom vocabulary.
type cueKind uint8

const (
	cPast cueKind = iota + 1
	cHistory
	cHistoryAfter // 病史 after a term: 心梗病史
	cOngoing
	cCurrent
	cAsk
	cAskDiagnosis
	cKnowledge
	cAskEnd
	cFamily
	cFamilyAlways
	cThirdParty
	cRelative
	cOnset
	cNew
	cSide
	cSideFalse
	cChar
	cRadiate
	cExtent
	cReporterFamily
	cProcedure
	cPostpartum
	cVital
	cHealth
	cResult
)

type cueEntry struct {
	kind cueKind
	val  string
}

// cue is one cue found in the text.
type cue struct {
	kind       cueKind
	val        string
	start, end int
	clause     int
}

// historyAfterCues follow the term they put in the past.
var historyAfterCues = []string{"病史", "既往史", "手术史", "史"}

// vitalCues lead to a measured value.
var vitalCues = map[string]string{
	"血压": "bp", "量血压": "bp", "测血压": "bp", "高压": "bp", "收缩压": "bp", "舒张压": "bp_low", "低压": "bp_low", "bp": "bp",
	"血糖": "glucose", "空腹血糖": "glucose", "餐后血糖": "glucose", "随机血糖": "glucose", "指尖血糖": "glucose", "测血糖": "glucose",
	"餐后两小时血糖": "glucose", "餐后2小时血糖": "glucose",
	"心率": "heart_rate", "心跳": "heart_rate", "脉搏": "heart_rate", "脉率": "heart_rate",
	"血氧": "spo2", "血氧饱和度": "spo2", "氧饱和度": "spo2", "饱和度": "spo2", "spo2": "spo2", "指脉氧": "spo2",
	"呼吸频率": "resp_rate", "呼吸次数": "resp_rate",
}

func (x *Extractor) buildCues() {
	x.cues = newTrie()
	add := func(words []string, k cueKind) {
		for _, w := range words {
			x.cueEntries = append(x.cueEntries, cueEntry{kind: k})
			x.cues.insert([]rune(knowledge.Normalize(w)), len(x.cueEntries)-1)
		}
	}
	addMap := func(m map[string]string, k cueKind) {
		for w, v := range m {
			x.cueEntries = append(x.cueEntries, cueEntry{kind: k, val: v})
			x.cues.insert([]rune(knowledge.Normalize(w)), len(x.cueEntries)-1)
		}
	}
	// Later lists win a word spelled the same: the order is deliberate.
	add(pastCues, cPast)
	add(historyCues, cHistory)
	add(historyAfterCues, cHistoryAfter)
	add(ongoingCues, cOngoing)
	add(currentCues, cCurrent)
	add(askCues, cAsk)
	add(diagnosisAskCues, cAskDiagnosis)
	add(knowledgeCues, cKnowledge)
	add(askEnds, cAskEnd)
	add(familyCues, cFamily)
	add(familyAlways, cFamilyAlways)
	add(thirdParty, cThirdParty)
	add(reporterFamily, cReporterFamily)
	add(relatives, cRelative)
	add(onsetCues, cOnset)
	add(newCues, cNew)
	addMap(sideCues, cSide)
	add(sideFalse, cSideFalse)
	add([]string{"无明显诱因", "无诱因", "没有诱因"}, cSideFalse) // fixed phrases, no cue
	addMap(characterCues, cChar)
	add(radiateCues, cRadiate)
	add(extentCues, cExtent)
	add(procedureCues, cProcedure)
	add(postpartumCues, cPostpartum)
	addMap(vitalCues, cVital)
	add(healthWords, cHealth)
	add(resultWords, cResult)
}

// attributeCue: cues that describe a finding may sit inside its words
// (头突然疼, 胸口绞痛); context cues may not.
func attributeCue(k cueKind) bool {
	return k == cChar || k == cOnset || k == cNew || k == cExtent || k == cHealth || k == cResult
}

// termKinds are the token kinds a cue may not cut into.
func isTerm(k kind) bool {
	return k == kSymptom || k == kDisease || k == kDrug || k == kCheck || k == kBodyPart
}

// scanCues finds the cues of text. A cue that overlaps a term running past
// its end is part of that word (有过敏史: 过敏 is not 有过 + …) and is dropped.
func (x *Extractor) scanCues(text []rune, toks []token, clauseOf []int) []cue {
	// termEnd[p] is the end of a term token covering position p, or 0.
	termEnd := make([]int, len(text))
	for _, t := range toks {
		if isTerm(t.kind) && !t.guessed {
			for p := t.start; p < t.end && p < len(termEnd); p++ {
				if t.end > termEnd[p] {
					termEnd[p] = t.end
				}
			}
		}
	}
	var out []cue
	for i := 0; i < len(text); {
		e, n := x.cues.longest(text, i)
		if e < 0 {
			i++
			continue
		}
		end := i + n
		blocked := false
		for p := i; p < end; p++ {
			if termEnd[p] > end {
				blocked = true
				break
			}
		}
		ce := x.cueEntries[e]
		if blocked && !attributeCue(ce.kind) {
			i++
			continue
		}
		out = append(out, cue{kind: ce.kind, val: ce.val, start: i, end: end, clause: clauseOf[i]})
		i = end
	}
	return out
}

// clauses maps each rune to its clause number (boundaries belong to the
// clause they end).
func clauses(text []rune, toks []token) []int {
	out := make([]int, len(text)+1)
	c := 0
	k := 0
	for p := 0; p <= len(text); p++ {
		out[p] = c
		for k < len(toks) && toks[k].start == p {
			if toks[k].kind == kBoundary {
				c++
			}
			k++
		}
	}
	return out
}

// contextScopes answers, for a position, the context of a finding there.
type contextScopes struct {
	cues      []cue
	other     map[int]bool // clauses about someone else
	ongoing   map[int]bool // clauses whose past cue is an onset (去年开始)
	knowledge map[int]bool // clauses that ask a general question
	sentence  []int        // clause → its sentence (clauses up to 。！？)
}

func newScopes(cues []cue, sentence []int) *contextScopes {
	s := &contextScopes{cues: cues, other: map[int]bool{}, ongoing: map[int]bool{}, knowledge: map[int]bool{}, sentence: sentence}
	relative := map[int]bool{}
	family := map[int]bool{}
	for _, c := range cues {
		switch c.kind {
		case cOngoing:
			s.ongoing[c.clause] = true
		case cRelative, cReporterFamily:
			relative[c.clause] = true
		case cFamily:
			family[c.clause] = true
		case cFamilyAlways:
			s.other[c.clause] = true
		case cKnowledge:
			s.knowledge[c.clause] = true
		}
	}
	for _, c := range cues {
		if c.kind != cThirdParty {
			continue
		}
		for k := c.clause; k < len(sentence) && sentence[k] == sentence[c.clause]; k++ {
			s.other[k] = true
		}
	}
	for c := range family {
		if relative[c] {
			s.other[c] = true
		}
	}
	return s
}

// at returns the context of a finding starting at pos in clause.
func (s *contextScopes) at(pos, clause int) string { return s.context(pos, clause, false) }

// atTerm is at for a named disease, drug or check, which 是不是 also
// questions.
func (s *contextScopes) atTerm(pos, clause int) string { return s.context(pos, clause, true) }

func (s *contextScopes) context(pos, clause int, term bool) string {
	if s.other[clause] {
		return CtxOther
	}
	if s.knowledge[clause] {
		return CtxAsked
	}
	// A time in the past (去年, 十个月前) holds for the rest of its sentence
	// until a current time says otherwise (去年心梗过，现在胸口又疼); the other
	// cues hold to the end of their clause.
	asked, past := false, false
	for _, c := range s.cues {
		if c.start >= pos {
			break
		}
		sameClause := c.clause == clause
		if !sameClause && !(c.kind == cPast || c.kind == cCurrent) {
			continue
		}
		if !sameClause && s.sentenceOf(c.clause) != s.sentenceOf(clause) {
			continue
		}
		switch c.kind {
		case cAsk:
			asked = true
		case cAskDiagnosis:
			asked = asked || term
		case cAskEnd:
			asked = false
		case cCurrent:
			asked, past = false, false
		case cHistory:
			past = true
		case cPast:
			if !s.ongoing[c.clause] && !s.ongoing[clause] {
				past = true
			}
		}
	}
	switch {
	case asked:
		return CtxAsked
	case past:
		return CtxHistory
	}
	return CtxCurrent
}

// after returns the context a cue right after a term gives it (心梗病史,
// 痔疮术后): history, or "" when none follows within two runes.
func (s *contextScopes) after(end, clause int) string {
	for _, c := range s.cues {
		if c.clause != clause || c.start < end {
			continue
		}
		if c.start-end > 2 {
			break
		}
		if c.kind == cHistoryAfter || c.kind == cProcedure || c.kind == cHistory {
			return CtxHistory
		}
	}
	return ""
}

// timeAgoCues adds a past cue for each "N months/years ago" (十个月前,
// 三年前): what happened then is history unless the clause says it goes on.
// Shorter spans (三天前) date the current illness.
func (x *Extractor) timeAgoCues(text []rune, toks []token, cues []cue) []cue {
	var add []cue
	for _, t := range toks {
		if t.kind != kQuantity || t.q.kind != qDuration || t.q.value < 30 || t.end >= len(text) {
			continue
		}
		if text[t.end] == '前' || hasPrefix(text, t.end, "以前") || hasPrefix(text, t.end, "之前") {
			add = append(add, cue{kind: cPast, start: t.start, end: t.end + 1, clause: t.clause})
		}
	}
	if len(add) == 0 {
		return cues
	}
	out := append(cues, add...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

func (s *contextScopes) sentenceOf(clause int) int {
	if clause < len(s.sentence) {
		return s.sentence[clause]
	}
	return -1
}

// sentences maps each clause to its sentence: clauses end at every
// boundary, sentences only at 。！？!? and line breaks.
func sentences(text []rune, toks []token) []int {
	var out []int
	sent := 0
	for _, t := range toks {
		if t.kind != kBoundary {
			continue
		}
		out = append(out, sent)
		switch text[t.start] {
		case '。', '！', '？', '!', '?', '\n':
			sent++
		}
	}
	return append(out, sent)
}
