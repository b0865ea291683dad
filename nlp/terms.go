package nlp

import (
	"github.com/fenzhen/fenzhen/knowledge"
)

// minTermRunes: shorter disease, drug and check names are too ambiguous to
// match in free text (痔 alone, a one-letter abbreviation).
const minTermRunes = 2

// addTerms puts the KG's disease, drug and check names and aliases in the
// trie. They only fill free slots: a symptom, body part or cue spelled the
// same keeps its meaning (腹泻 stays a symptom).
func (x *Extractor) addTerms(kg *knowledge.KG) {
	add := func(word string, k kind, id string) {
		key := []rune(knowledge.Normalize(word))
		if len(key) < minTermRunes || unsafeTerms[string(key)] {
			return
		}
		if e, n := x.trie.longest(key, 0); e >= 0 && n == len(key) {
			return
		}
		x.entries = append(x.entries, entry{kind: k, id: id})
		x.trie.insert(key, len(x.entries)-1)
	}
	ds := kg.Diseases()
	for i := range ds {
		add(ds[i].Name, kDisease, ds[i].ID)
	}
	for i := range ds {
		for _, a := range ds[i].Aliases {
			add(a, kDisease, ds[i].ID)
		}
	}
	for _, d := range kg.Drugs() {
		add(d.Name, kDrug, d.ID)
		for _, s := range d.Synonyms {
			add(s, kDrug, d.ID)
		}
	}
	for _, c := range kg.Checks() {
		add(c.Name, kCheck, c.ID)
		for _, s := range c.Synonyms {
			add(s, kCheck, c.ID)
		}
	}
}

// innerSymptoms adds the symptoms a disease word contains (偏头痛 names a
// headache too), so naming a disease never hides the complaint in it.
func (x *Extractor) innerSymptoms(text []rune, toks []token) []token {
	var added []token
	for _, t := range toks {
		if t.kind != kDisease {
			continue
		}
		for i := t.start; i < t.end; {
			e, n := x.trie.longest(text[:t.end], i)
			if e >= 0 && x.entries[e].kind == kSymptom && i+n <= t.end && n < t.end-t.start {
				added = append(added, token{kind: kSymptom, start: i, end: i + n, entry: e, clause: t.clause, inner: true})
				i += n
				continue
			}
			i++
		}
	}
	if len(added) == 0 {
		return toks
	}
	return mergeTokens(toks, added)
}

// mergeTokens inserts sorted extra tokens into toks, keeping start order
// (an extra token goes after the ones starting at the same place).
func mergeTokens(toks, extra []token) []token {
	out := make([]token, 0, len(toks)+len(extra))
	i, j := 0, 0
	for i < len(toks) || j < len(extra) {
		if j == len(extra) || i < len(toks) && toks[i].start <= extra[j].start {
			out = append(out, toks[i])
			i++
		} else {
			out = append(out, extra[j])
			j++
		}
	}
	return out
}

// termValue reads a number right after a check name (甲胎蛋白43,
// 转氨酶是120): at most two fillers between.
func termValue(text []rune, end int) string {
	j := end
	for k := 0; k < 3 && j < len(text) && !isDigit(text[j]); k++ {
		switch text[j] {
		case '是', '为', ':', '：', '有', '到', '达', '高', '值':
			j++
		default:
			return ""
		}
	}
	start := j
	for j < len(text) && (isDigit(text[j]) || text[j] == '.') && j-start < 8 {
		j++
	}
	if j == start {
		return ""
	}
	return string(text[start:j])
}
