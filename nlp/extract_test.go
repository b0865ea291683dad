package nlp

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fenzhen/fenzhen/knowledge"
)

var (
	defaultOnce sync.Once
	defaultX    *Extractor
	defaultErr  error
)

// defaultExtractor is built once from the real embedded KG.
func defaultExtractor(t testing.TB) *Extractor {
	t.Helper()
	defaultOnce.Do(func() {
		kg, err := knowledge.LoadDefault()
		var verr *knowledge.ValidationError
		if errors.As(err, &verr) && kg != nil {
			// Integrity is asserted by knowledge.TestDefaultKG; extraction
			// only needs the symptom vocabulary.
			fmt.Printf("warning: default KG has %d integrity problems\n", len(verr.Problems))
		} else if err != nil {
			defaultErr = err
			return
		}
		defaultX, defaultErr = NewExtractor(kg)
	})
	if defaultErr != nil {
		t.Fatalf("default extractor: %v", defaultErr)
	}
	return defaultX
}

type sentenceCase struct {
	line  int
	text  string
	want  map[string]string // symptom id → state
	attrs map[string]string
}

func readSentences(t testing.TB, path string) []sentenceCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sentenceCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 2 {
			t.Fatalf("%s:%d: want text<TAB>symptoms[<TAB>attrs]", path, n)
		}
		c := sentenceCase{line: n, text: cols[0], want: map[string]string{}, attrs: map[string]string{}}
		for _, s := range strings.Fields(cols[1]) {
			id, st := s[:len(s)-1], Present
			if s[len(s)-1] == '-' {
				st = Absent
			} else if s[len(s)-1] != '+' {
				t.Fatalf("%s:%d: symptom %q must end in + or -", path, n, s)
			}
			c.want[id] = st
		}
		if len(cols) > 2 {
			for _, a := range strings.Fields(cols[2]) {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					t.Fatalf("%s:%d: bad attribute %q", path, n, a)
				}
				c.attrs[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}

// TestSentenceTable measures extraction precision and recall over
// (sentence, symptom id, state) triples and the accuracy of attributes.
func TestSentenceTable(t *testing.T) {
	x := defaultExtractor(t)
	cases := readSentences(t, "testdata/sentences.tsv")
	if len(cases) < 150 {
		t.Fatalf("want at least 150 sentences, have %d", len(cases))
	}
	for _, c := range cases {
		for id := range c.want {
			if _, ok := x.kg.Symptom(id); !ok {
				t.Errorf("line %d: expected id %q is not in the KG", c.line, id)
			}
		}
	}
	var tp, fp, fn, attrOK, attrAll int
	var misses []string
	for _, c := range cases {
		r := x.Extract(c.text)
		got := r.Evidence()
		for id, st := range got {
			if c.want[id] == st {
				tp++
			} else {
				fp++
				misses = append(misses, fmt.Sprintf("line %d %q: unexpected %s%s", c.line, c.text, id, sign(st)))
			}
		}
		for id, st := range c.want {
			if got[id] != st {
				fn++
				misses = append(misses, fmt.Sprintf("line %d %q: missed %s%s (got %q)", c.line, c.text, id, sign(st), got[id]))
			}
		}
		for k, v := range c.attrs {
			attrAll++
			if g := attr(r, k); g == v || numEq(g, v) {
				attrOK++
			} else {
				misses = append(misses, fmt.Sprintf("line %d %q: %s = %q, want %q", c.line, c.text, k, g, v))
			}
		}
	}
	sort.Strings(misses)
	for _, m := range misses {
		t.Log(m)
	}
	p := float64(tp) / float64(max(tp+fp, 1))
	rc := float64(tp) / float64(max(tp+fn, 1))
	acc := float64(attrOK) / float64(max(attrAll, 1))
	t.Logf("sentences %d: precision %.3f recall %.3f (tp %d fp %d fn %d); attributes %d/%d = %.3f",
		len(cases), p, rc, tp, fp, fn, attrOK, attrAll, acc)
	fmt.Printf("extraction: sentences=%d precision=%.3f recall=%.3f attributes=%.3f\n", len(cases), p, rc, acc)
	if p < 0.9 || rc < 0.9 {
		t.Errorf("precision %.3f / recall %.3f below 0.9", p, rc)
	}
	if acc < 0.9 {
		t.Errorf("attribute accuracy %.3f below 0.9", acc)
	}
}

func sign(st string) string {
	if st == Absent {
		return "-"
	}
	return "+"
}

func numEq(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && math.Abs(x-y) <= 0.011*math.Max(1, math.Abs(y))
}

func attr(r Result, k string) string {
	p := r.Patient
	switch k {
	case "age":
		return strconv.FormatFloat(p.AgeYears, 'f', -1, 64)
	case "group":
		return p.AgeGroup
	case "sex":
		return p.Sex
	case "preg":
		if p.Pregnant {
			return "1"
		}
		return "0"
	case "gw":
		return strconv.Itoa(p.GestationWeeks)
	case "temp":
		return strconv.FormatFloat(r.TemperatureC, 'f', -1, 64)
	case "reporter":
		return p.Reporter
	case "postpartum":
		if p.Postpartum {
			return "1"
		}
		return "0"
	}
	if kind, id, ok := strings.Cut(k, ":"); ok && (kind == "dz" || kind == "drug" || kind == "check") {
		list := r.Diseases
		if kind == "drug" {
			list = r.Drugs
		} else if kind == "check" {
			list = r.Checks
		}
		for _, d := range list {
			if d.ID == id {
				return d.State + "/" + cmp.Or(d.Context, "current")
			}
		}
		return ""
	}
	if kind, id, ok := strings.Cut(k, ":"); ok && kind == "vital" {
		for _, v := range r.Vitals {
			if v.Kind == id {
				out := strconv.FormatFloat(v.Value, 'f', -1, 64)
				if v.Value2 != 0 {
					out += "/" + strconv.FormatFloat(v.Value2, 'f', -1, 64)
				}
				return out
			}
		}
		return ""
	}
	kind, id, _ := strings.Cut(k, ":")
	for _, m := range r.Symptoms {
		if m.ID != id {
			continue
		}
		switch kind {
		case "dur":
			if m.DurationDays > 0 {
				return strconv.FormatFloat(m.DurationDays, 'f', -1, 64)
			}
		case "sev":
			if m.Severity != "" {
				return m.Severity
			}
		case "part":
			return m.BodyPart
		case "ctx":
			return m.Context
		case "onset":
			return m.Onset
		case "side":
			return m.Side
		case "char":
			return m.Character
		case "rad":
			return m.RadiatesTo
		}
	}
	return ""
}
