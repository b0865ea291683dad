package nlp

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every pattern has a prefilter (else it runs on every text), and the
// prefilters of a few shapes are what they should be.
func TestPrefilterShapes(t *testing.T) {
	for _, list := range [][]safetyPattern{safetyPatterns, exposurePatterns} {
		for _, p := range list {
			if p.pre == nil {
				t.Errorf("pattern %s (%s) has no prefilter", p.id, p.re)
			}
		}
	}
	for _, c := range []struct {
		expr string
		want prefilter
	}{
		{`吐[了出]?` + clause + `{0,8}血`, prefilter{"吐"}},
		{`(胸口|胸部|胸前|心口)` + clause + `{0,6}(疼|痛)`, nil}, // checked below by behaviour only
		{`a*`, nil},
		{`(ab|c*)d`, prefilter{"d"}},
	} {
		got := newPrefilter(c.expr)
		if c.want != nil && strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("newPrefilter(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// A prefilter never rejects a text its pattern matches: checked on the
// extraction test sentences and, when the data set is present, on real
// consultations.
func TestPrefilterNeverRejectsAMatch(t *testing.T) {
	texts := prefilterTexts(t)
	checked := 0
	for _, list := range [][]safetyPattern{safetyPatterns, exposurePatterns} {
		for _, p := range list {
			for _, s := range texts {
				s = string(normalize(s, nil))
				if p.re.MatchString(s) {
					checked++
					if !p.pre.mayMatch(s) {
						t.Errorf("pattern %s matches a text its prefilter %q rejects", p.id, p.pre)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no pattern matched any text: the check checked nothing")
	}
}

func prefilterTexts(t *testing.T) []string {
	var texts []string
	raw, err := os.ReadFile("testdata/sentences.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			texts = append(texts, strings.Split(line, "\t")[0])
		}
	}
	dir := os.Getenv("FENZHEN_DATA")
	if dir == "" {
		dir = "../../shared/data"
	}
	f, err := os.Open(filepath.Join(dir, "consultations", "xfyun_train.jsonl"))
	if err != nil {
		t.Logf("xfyun consultations not checked: %v", err)
		return texts
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 0; sc.Scan() && n < 3000; n++ { // 3,000 texts keep the test short
		var row struct{ Text string }
		if json.Unmarshal(sc.Bytes(), &row) == nil {
			texts = append(texts, row.Text)
		}
	}
	return texts
}
