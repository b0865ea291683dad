package nlp

import (
	"regexp/syntax"
	"strings"
)

// A prefilter is a set of literal strings at least one of which every match
// of a pattern contains: a text holding none of them cannot match, so the
// regular expression is not run on it. Most texts name none of the ~50
// pattern findings, and running every expression over every text was about
// a tenth of a triage request's CPU; a substring test is a small fraction
// of that. A nil prefilter means "always run" (no literal is required).
type prefilter []string

// maxClassRunes bounds a character class read as alternative literals
// ([了出] → 了 or 出).
const maxClassRunes = 8

// newPrefilter derives the prefilter of a pattern from its syntax tree.
func newPrefilter(expr string) prefilter {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil // the pattern itself fails to compile elsewhere
	}
	return required(re.Simplify())
}

// mayMatch reports whether s holds one of the literals (always true for a
// nil prefilter).
func (p prefilter) mayMatch(s string) bool {
	if p == nil {
		return true
	}
	for _, lit := range p {
		if strings.Contains(s, lit) {
			return true
		}
	}
	return false
}

// required returns literals one of which any match of re contains, or nil
// when it cannot tell.
func required(re *syntax.Regexp) prefilter {
	if re.Flags&syntax.FoldCase != 0 {
		return nil
	}
	switch re.Op {
	case syntax.OpLiteral:
		return prefilter{string(re.Rune)}
	case syntax.OpCapture:
		return required(re.Sub[0])
	case syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpCharClass:
		return classLiterals(re.Rune)
	case syntax.OpAlternate:
		var out prefilter
		for _, sub := range re.Sub {
			r := required(sub)
			if r == nil {
				return nil // one branch needs nothing
			}
			out = append(out, r...)
		}
		return out
	case syntax.OpConcat:
		// Every part must match, so any part's literals will do; the
		// longest shortest literal is the most selective.
		var best prefilter
		for _, sub := range re.Sub {
			if r := required(sub); r != nil && (best == nil || shortest(r) > shortest(best)) {
				best = r
			}
		}
		return best
	}
	return nil
}

// classLiterals lists the runes of a small character class (pairs of
// inclusive ranges).
func classLiterals(ranges []rune) prefilter {
	var out prefilter
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			if len(out) == maxClassRunes {
				return nil
			}
			out = append(out, string(r))
		}
	}
	return out
}

// shortest is the byte length of the shortest literal.
func shortest(p prefilter) int {
	n := -1
	for _, s := range p {
		if n < 0 || len(s) < n {
			n = len(s)
		}
	}
	return n
}
