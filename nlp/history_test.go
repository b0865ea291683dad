package nlp

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestFacts runs testdata/history.tsv: the facts each text gives (or must
// not give), with every span a span of the text.
func TestFacts(t *testing.T) {
	x := defaultExtractor(t)
	f, err := os.Open("testdata/history.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		row := sc.Text()
		if row == "" || strings.HasPrefix(row, "#") {
			continue
		}
		text, want, ok := strings.Cut(row, "\t")
		if !ok {
			t.Fatalf("line %d: want text<TAB>facts", line)
		}
		r := x.Extract(text)
		runes := []rune(text)
		got := map[string]bool{}
		for _, fa := range r.Facts {
			got[fa.Kind+"="+fa.Item] = true
			for _, s := range fa.Spans {
				if s.Start < 0 || s.End > len(runes) || string(runes[s.Start:s.End]) != s.Text {
					t.Errorf("line %d: fact %s=%s cites %+v, not a span of the text", line, fa.Kind, fa.Item, s)
				}
			}
		}
		if r.ComplaintTime != nil {
			got["time="+r.ComplaintTime.Text] = true
		}
		for _, w := range strings.Split(want, ";") {
			not := strings.HasPrefix(w, "!")
			w = strings.TrimPrefix(w, "!")
			if got[w] == not {
				t.Errorf("line %d %q: fact %s read %v, want %v (facts %+v)", line, text, w, got[w], !not, r.Facts)
			}
		}
	}
}

func TestSaidTime(t *testing.T) {
	for said, want := range map[string]string{
		"两天": "2天", "三个月": "3个月", "一年多": "1年多", "十年": "10年", "半个多月": "半个多月", "大半年": "大半年",
		"今天早上": "今晨", "昨天晚上": "昨晚", "这两天": "近2天", "2-3年": "2-3年", "十几天": "十几天", "一个半月": "1个半月",
	} {
		if got := SaidTime(said); got != want {
			t.Errorf("SaidTime(%q) = %q, want %q", said, got, want)
		}
	}
	for _, p := range []string{"今晨", "昨晚", "20号晚"} {
		if !IsPointTime(p) {
			t.Errorf("%s is a point in time", p)
		}
	}
	for _, d := range []string{"3天", "半年余", "近2天"} {
		if IsPointTime(d) {
			t.Errorf("%s is no point in time", d)
		}
	}
}

// TestNegationReach: a negation stops at another verb phrase.
func TestNegationReach(t *testing.T) {
	x := defaultExtractor(t)
	for text, want := range map[string]map[string]string{
		"宝宝不睡觉一晚哭闹":  {"crying": Present},
		"不呕吐又开始拉稀便了": {"vomiting": Absent, "diarrhea": Present},
		"没有发烧、咳嗽和头痛": {"fever": Absent, "cough": Absent, "headache": Absent},
		"没有明显的咳嗽":    {"cough": Absent},
		"不怎么咳嗽":      {"cough": Absent},
	} {
		got := map[string]string{}
		for _, m := range x.Extract(text).Symptoms {
			got[m.ID] = m.State
		}
		for id, st := range want {
			if got[id] != st {
				t.Errorf("%s: %s is %q, want %q", text, id, got[id], st)
			}
		}
	}
}
