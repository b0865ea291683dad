package nlp

import (
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
)

// complaintRunes mark a leftover span as worth a fuzzy lookup.
const complaintRunes = "疼痛痒肿胀麻酸晕吐泻咳喘闷烧热红血痰涕汗抖抽憋慌"

// pregnancyRunes: a wording with one of these names a pregnancy finding,
// and a span without one (体检血压 against 产检血压高) must not be read
// as one; the characters it shares are the common half.
const pregnancyRunes = "孕产胎怀"

// maxFuzzyLookups bounds the bleve queries per text.
const maxFuzzyLookups = 4

// fuzzyFill looks up leftover Han spans that look like complaints in the
// bleve index and accepts a symptom whose wording shares at least two
// characters and half the span, its last character among them.
func (x *Extractor) fuzzyFill(text []rune, toks []token) []token {
	covered := make([]bool, len(text))
	for _, t := range toks {
		for p := t.start; p < t.end && p < len(covered); p++ {
			covered[p] = true
		}
	}
	var added []token
	lookups := 0
	for i := 0; i < len(text) && lookups < maxFuzzyLookups; {
		if covered[i] || !isHanRune(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && !covered[j] && isHanRune(text[j]) && j-i < 8 {
			j++
		}
		span := string(text[i:j])
		if j-i >= 2 && strings.ContainsAny(span, complaintRunes) {
			lookups++
			if id, ok := x.fuzzyLookup(span); ok {
				added = append(added, token{kind: kSymptom, start: i, end: j, entry: x.symptomEntry(id), clause: clauseAt(toks, i), guessed: true})
			}
		}
		i = j
	}
	if len(added) == 0 {
		return toks
	}
	for _, a := range added {
		if a.entry < 0 {
			continue
		}
		k := 0
		for k < len(toks) && toks[k].start < a.start {
			k++
		}
		toks = append(toks, token{})
		copy(toks[k+1:], toks[k:])
		a.kind = kSymptom
		toks[k] = a
	}
	return toks
}

func (x *Extractor) fuzzyLookup(span string) (string, bool) {
	hits, err := x.fuzzy.Search(span, 3, knowledge.TypeSymptom)
	if err != nil || len(hits) == 0 {
		return "", false
	}
	for _, h := range hits {
		s, ok := x.kg.Symptom(h.ID)
		if !ok || x.noGuess[h.ID] {
			continue
		}
		for _, term := range append([]string{s.Name}, s.Synonyms...) {
			if strings.ContainsAny(term, pregnancyRunes) && !strings.ContainsAny(span, pregnancyRunes) {
				continue
			}
			// The last character carries the complaint (血管瘤, 头痛): a
			// span without it shares only the qualifier (心血管).
			tr := []rune(term)
			if !strings.ContainsRune(span, tr[len(tr)-1]) {
				continue
			}
			if shared(span, term) >= 2 && 2*shared(span, term) >= len([]rune(span)) {
				return s.ID, true
			}
		}
	}
	return "", false
}

func shared(a, b string) int {
	n := 0
	for _, r := range a {
		if strings.ContainsRune(b, r) {
			n++
		}
	}
	return n
}

func isHanRune(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF }

func clauseAt(toks []token, pos int) int {
	c := 0
	for _, t := range toks {
		if t.start > pos {
			break
		}
		c = t.clause
		if t.kind == kBoundary {
			c++
		}
	}
	return c
}
