package nlp

import (
	"unicode"
	"unicode/utf8"
)

// maxGramRunes bounds the wording the classifiers see: n-grams are read from
// the first maxGramRunes letters and digits (consultations average about
// 80 characters; the rest of a long text repeats itself).
const maxGramRunes = 400

// grams hashes the 1-, 2- and 3-grams of the letters and digits of the
// normalized text with 32-bit FNV-1a over their UTF-8 bytes.
func grams(norm []rune) []uint32 {
	rs := make([]rune, 0, min(len(norm), maxGramRunes))
	for _, r := range norm {
		if len(rs) == maxGramRunes {
			break
		}
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			rs = append(rs, r)
		}
	}
	out := make([]uint32, 0, 3*len(rs))
	var buf [12]byte
	for i := range rs {
		b := buf[:0]
		for n := 0; n < 3 && i+n < len(rs); n++ {
			b = utf8.AppendRune(b, rs[i+n])
			out = append(out, fnv32a(b))
		}
	}
	return out
}

func fnv32a(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
