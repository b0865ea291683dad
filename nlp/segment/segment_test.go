package segment

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCutWithTerms(t *testing.T) {
	t0 := time.Now()
	s, err := New([]string{"拉肚子", "心口疼", "咳黄痰", "bad term"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("segmenter load: %v", time.Since(t0))
	tests := []struct {
		in   string
		want []string
	}{
		{"不拉肚子", []string{"不", "拉肚子"}},
		{"心口疼得厉害", []string{"心口疼", "得", "厉害"}},
		{"咳黄痰三天", []string{"咳黄痰", "三天"}},
	}
	for _, tc := range tests {
		if got := s.Cut(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Cut(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := s.Cut(""); got != nil {
		t.Errorf("Cut(\"\") = %q", got)
	}
}

func TestTokensOffsets(t *testing.T) {
	s, err := New([]string{"肚子疼"})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"我肚子疼，ABC 123！", "\x00\xff坏字节", "", strings.Repeat("头痛😀", 100)} {
		b := []byte(strings.ToValidUTF8(in, "\uFFFD"))
		for _, tok := range s.Tokens(b) {
			if tok.Start < 0 || tok.End > len(b) || tok.Start >= tok.End {
				t.Fatalf("%q: bad offsets %+v", in, tok)
			}
		}
	}
	toks := s.Tokens([]byte("我肚子疼"))
	if len(toks) != 2 || toks[1].Text != "肚子疼" || toks[1].Start != 3 || toks[1].End != 12 {
		t.Errorf("tokens = %+v", toks)
	}
}
