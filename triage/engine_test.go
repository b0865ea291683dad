package triage

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

var (
	testOnce sync.Once
	testKG   *knowledge.KG
	testX    *nlp.Extractor
	testErr  error
)

func kgAndExtractor(t testing.TB) (*knowledge.KG, *nlp.Extractor) {
	t.Helper()
	testOnce.Do(func() {
		testKG, testErr = knowledge.LoadDefault()
		if testErr == nil {
			testX, testErr = nlp.NewExtractor(testKG)
		}
	})
	if testErr != nil {
		t.Fatalf("load KG: %v", testErr)
	}
	return testKG, testX
}

// kgEngine is an Engine without the ONNX classifier.
func kgEngine(t testing.TB) *Engine {
	t.Helper()
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type vignette struct {
	line  int
	level string
	req   Request
}

func loadVignettes(t testing.TB, path string) []vignette {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vignette
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			t.Fatalf("%s:%d: want 4 tab-separated columns, got %d", path, n, len(cols))
		}
		v := vignette{line: n, level: cols[0], req: Request{Text: cols[3]}}
		if cols[1] != "-" {
			a, err := strconv.ParseFloat(cols[1], 64)
			if err != nil {
				t.Fatalf("%s:%d: age: %v", path, n, err)
			}
			v.req.Age = &a
		}
		if cols[2] != "-" {
			v.req.Sex = cols[2]
		}
		out = append(out, v)
	}
	return out
}

// TestUrgencyVignettes is the safety gate: every emergency vignette must
// come out emergency (zero under-triage) and overall accuracy ≥ 0.90.
func TestUrgencyVignettes(t *testing.T) {
	for _, f := range []string{"testdata/urgency_vignettes.tsv", "testdata/urgency_holdout.tsv"} {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(f, "testdata/"), ".tsv"), func(t *testing.T) { testVignettes(t, f) })
	}
}

func testVignettes(t *testing.T, path string) {
	e := kgEngine(t)
	vs := loadVignettes(t, path)
	var correct, emerg, under, over int
	for _, v := range vs {
		r, err := e.Triage(context.Background(), v.req)
		if err != nil {
			t.Fatalf("line %d: %v", v.line, err)
		}
		got := r.Urgency.Level
		if got == v.level {
			correct++
		}
		if v.level == LevelEmergency {
			emerg++
		}
		if levelRank[got] < levelRank[v.level] {
			under++
			ids := []string{}
			for _, m := range r.Symptoms {
				ids = append(ids, m.ID+"/"+m.State)
			}
			if v.level == LevelEmergency {
				t.Errorf("line %d: UNDER-TRIAGE %q: got %s want %s (symptoms %v)", v.line, v.req.Text, got, v.level, ids)
			} else {
				t.Logf("line %d: under-triage %q: got %s want %s (symptoms %v)", v.line, v.req.Text, got, v.level, ids)
			}
		} else if got != v.level {
			over++
			t.Logf("line %d: over-triage %q: got %s want %s", v.line, v.req.Text, got, v.level)
		}
		if got == LevelEmergency && (len(r.Departments) == 0 || r.Departments[0].Code != emergencyCode) {
			t.Errorf("line %d: emergency but first department is %v", v.line, r.Departments)
		}
	}
	acc := float64(correct) / float64(len(vs))
	t.Logf("urgency vignettes: n=%d (emergency %d) accuracy=%.3f under-triage=%d over-triage=%d", len(vs), emerg, acc, under, over)
	if emerg < 60 && strings.Contains(path, "vignettes") {
		t.Errorf("only %d emergency vignettes, want ≥ 60", emerg)
	}
	if acc < 0.90 {
		t.Errorf("urgency accuracy %.3f < 0.90", acc)
	}
}

func TestValidation(t *testing.T) {
	e := kgEngine(t)
	age := func(a float64) *float64 { return &a }
	long := strings.Repeat("头", MaxTextRunes+1)
	cases := []struct {
		name string
		req  Request
		want error
	}{
		{"empty text", Request{Text: ""}, ErrInvalid},
		{"blank text", Request{Text: "  \n"}, ErrInvalid},
		{"too long", Request{Text: long}, ErrInvalid},
		{"max length ok", Request{Text: long[:len(long)-len("头")]}, nil},
		{"negative age", Request{Text: "头痛", Age: age(-1)}, ErrInvalid},
		{"age 121", Request{Text: "头痛", Age: age(121)}, ErrInvalid},
		{"infant age ok", Request{Text: "发烧", Age: age(0.5)}, nil},
		{"bad sex", Request{Text: "头痛", Sex: "other"}, ErrInvalid},
		{"top_k 21", Request{Text: "头痛", TopK: 21}, ErrInvalid},
		{"top_k -1", Request{Text: "头痛", TopK: -1}, ErrInvalid},
		{"unknown symptom", Request{Text: "头痛", Evidence: []Answer{{ID: "no_such_symptom", State: "present"}}}, ErrUnprocessable},
		{"bad state", Request{Text: "头痛", Evidence: []Answer{{ID: "fever", State: "maybe"}}}, ErrUnprocessable},
		{"unknown state ok", Request{Text: "头痛", Evidence: []Answer{{ID: "fever", State: "unknown"}}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Triage(context.Background(), c.req)
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			var re *RequestError
			if !errors.As(err, &re) || re.Field == "" {
				t.Fatalf("error %v carries no field", err)
			}
		})
	}
}

func TestNoSymptom(t *testing.T) {
	e := kgEngine(t)
	r, err := e.Triage(context.Background(), Request{Text: "你好，请问医院几点开门？"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Symptoms) != 0 || len(r.Departments) != 0 || len(r.Diseases) != 0 {
		t.Fatalf("want empty lists, got %d symptoms %d departments %d diseases", len(r.Symptoms), len(r.Departments), len(r.Diseases))
	}
	if r.Urgency.Level != LevelRoutine || r.NextQuestion == nil || r.NextQuestion.SymptomID != "" {
		t.Fatalf("want routine and a main-complaint question, got %s %+v", r.Urgency.Level, r.NextQuestion)
	}
	if r.Disclaimer != Disclaimer {
		t.Fatal("missing disclaimer")
	}
}

// TestSafetyTermsRead: every safety phrase must reach its symptom through
// an extractor built with ExtractorOptions, or New would rebuild for nothing.
func TestSafetyTermsRead(t *testing.T) {
	kg, _ := kgAndExtractor(t)
	x, err := nlp.NewExtractor(kg, ExtractorOptions(kg)...)
	if err != nil {
		t.Fatal(err)
	}
	if miss := missingSafetyTerms(kg, x); len(miss) > 0 {
		t.Fatalf("extractor does not read safety terms %v", miss)
	}
}
