// Package segment is Fenzhen's Chinese word segmenter: gse loaded with a
// small embedded general dictionary plus domain terms (from the KG), and a
// bleve tokenizer built on it.
//
// gse's full default dictionary takes ~3 s to load, which breaks the 2 s
// start-up budget, so general.txt keeps only the single characters and the
// 40,000 most frequent words of gse's zh/s_1.txt (Apache-2.0).
package segment

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ego/gse"
)

//go:embed general.txt
var generalDict string

// termFreq is the frequency given to domain terms: high enough that a
// domain term beats a split into common general words.
const termFreq = 50000

// Segmenter is safe for concurrent use once built.
type Segmenter struct {
	seg gse.Segmenter
}

// Token is one word with byte offsets into the segmented text.
type Token struct {
	Text       string
	Start, End int
}

// New builds a segmenter from the embedded general dictionary plus terms
// (symptom names, synonyms, disease names …). Empty and whitespace-bearing
// terms are skipped, since gse's dictionary format is space separated.
func New(terms []string) (*Segmenter, error) {
	s := &Segmenter{}
	s.seg.SkipLog = true
	var b strings.Builder
	b.Grow(len(generalDict) + len(terms)*16)
	b.WriteString(generalDict)
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if t == "" || strings.ContainsAny(t, " \t\r\n") {
			continue
		}
		fmt.Fprintf(&b, "%s %d n\n", t, termFreq)
	}
	if err := s.seg.LoadDictStr(b.String()); err != nil {
		return nil, fmt.Errorf("load segmenter dictionary: %w", err)
	}
	return s, nil
}

// Cut segments text in accurate mode (DAG + HMM for unknown words).
func (s *Segmenter) Cut(text string) []string {
	if text == "" {
		return nil
	}
	return s.seg.Cut(text, true)
}

// Tokens segments text into words with byte offsets, dropping whitespace
// and punctuation. Invalid UTF-8 is replaced by U+FFFD first; offsets then
// refer to the cleaned text.
func (s *Segmenter) Tokens(text []byte) []Token {
	if len(text) == 0 || !utf8.Valid(text) {
		text = []byte(strings.ToValidUTF8(string(text), "\uFFFD"))
	}
	segs := s.seg.Segment(text)
	out := make([]Token, 0, len(segs))
	for _, sg := range segs {
		st, en := sg.Start(), sg.End()
		if st < 0 || en > len(text) || st >= en {
			continue
		}
		w := text[st:en]
		if !hasWordRune(w) {
			continue
		}
		out = append(out, Token{Text: string(w), Start: st, End: en})
	}
	return out
}

func hasWordRune(b []byte) bool {
	for _, r := range string(b) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// IsHan reports whether r is a CJK ideograph.
func IsHan(r rune) bool { return unicode.Is(unicode.Han, r) }
