package triage

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/nlp"
)

// TestUrgencyHoldout2 gates the second hold-out set (issue #5): written
// before the rules were changed for it, never trained on.
func TestUrgencyHoldout2(t *testing.T) {
	testVignettes(t, "testdata/urgency_holdout2.tsv")
}

func TestUrgencyHoldout3(t *testing.T) {
	testVignettes(t, "testdata/urgency_holdout3.tsv")
}

// TestUrgencyHoldout4 gates the fourth set once its first run is recorded.
func TestUrgencyHoldout4(t *testing.T) {
	testVignettes(t, "testdata/urgency_holdout4.tsv")
}

// TestSafetyPhrases: every red-flag phrasing of testdata/safety_phrases.tsv
// reaches its symptom through the KG-built extractor.
func TestSafetyPhrases(t *testing.T) {
	kg, _ := kgAndExtractor(t)
	x, err := nlp.NewExtractor(kg, ExtractorOptions(kg)...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/safety_phrases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		cols := strings.Split(l, "\t")
		if len(cols) != 2 {
			t.Fatalf("line %d: want phrase<TAB>id", line)
		}
		if _, ok := kg.Symptom(cols[1]); !ok {
			t.Errorf("line %d: unknown symptom id %q", line, cols[1])
			continue
		}
		n++
		if got := x.Extract(cols[0]).Evidence()[cols[1]]; got != nlp.Present {
			t.Errorf("line %d: %q does not read as %s (got %q)", line, cols[0], cols[1], got)
		}
	}
	if n < 50 {
		t.Fatalf("only %d phrases", n)
	}
}
