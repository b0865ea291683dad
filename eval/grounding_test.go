package eval

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fenzhen/fenzhen/eval/corpus"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/triage"
)

// rulesStack is the server without models: red flags come from the rules
// alone, and the urgency model never adds a flag.
func rulesStack(t *testing.T) *Stack {
	return testStack(t, "", triage.Options{DepartmentModel: "-", DiseaseModel: "-", UrgencyModel: "-"})
}

func testStack(t *testing.T, models string, opts triage.Options) *Stack {
	t.Helper()
	st, err := NewStack(models, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// xfyunCases are the 9,888 real consultations; the test skips without them.
func xfyunCases(t *testing.T) []corpus.Case {
	t.Helper()
	cases, err := corpus.Load(corpus.DataDir(), corpus.Xfyun)
	if errors.Is(err, corpus.ErrNoData) {
		t.Skipf("real consultations not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// overXfyun runs check over every xfyun text (cut to the request limit) on
// all cores and returns how many it checked and the failures, each
// prefixed with the case key and sorted; never the text.
func overXfyun(t *testing.T, check func(c corpus.Case, text string) []string) (int, []string) {
	t.Helper()
	cases := xfyunCases(t)
	var mu sync.Mutex
	var bad []string
	work := make(chan corpus.Case)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				text := c.Text
				if r := []rune(text); len(r) > triage.MaxTextRunes {
					text = string(r[:triage.MaxTextRunes])
				}
				v := check(c, text)
				mu.Lock()
				for _, s := range v {
					bad = append(bad, c.Key+": "+s)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cases {
		work <- c
	}
	close(work)
	wg.Wait()
	sort.Strings(bad)
	return len(cases), bad
}

// reportBad fails the test with the first 30 failures.
func reportBad(t *testing.T, bad []string) {
	t.Helper()
	for i, b := range bad {
		if i == 30 {
			t.Errorf("… and %d more", len(bad)-30)
			break
		}
		t.Error(b)
	}
}

// TestGroundedRedFlagsOnRealText: over every text of xfyun_train.jsonl
// (9,888 real consultations), every red flag of every answer cites spans
// of the text, each span states a current, present finding, and none is
// negated, in the history, only asked about or someone else's (issue #13).
func TestGroundedRedFlagsOnRealText(t *testing.T) {
	st := rulesStack(t)
	var flags atomic.Int64
	n, bad := overXfyun(t, func(c corpus.Case, text string) []string {
		resp, err := st.Triage(context.Background(), triage.Request{Text: text, Age: c.Age})
		if err != nil {
			return []string{err.Error()}
		}
		flags.Add(int64(len(resp.Urgency.RedFlags)))
		return Grounding(text, resp, st.X.Extract(text), false)
	})
	t.Logf("%d texts, %d red flags, %d grounding violations", n, flags.Load(), len(bad))
	reportBad(t, bad)
	if flags.Load() == 0 {
		t.Error("no red flag at all over the corpus: the check checked nothing")
	}
}

// TestGroundingRejects: the check itself catches a flag that cites a
// negated, past or missing finding.
func TestGroundingRejects(t *testing.T) {
	st := rulesStack(t)
	text := "去年心梗过，现在没有胸痛"
	r := st.X.Extract(text)
	cite := func(s string, start int) *triage.Response {
		end := start + len([]rune(s))
		return &triage.Response{Urgency: triage.Urgency{RedFlags: []triage.RedFlag{{ID: "x", Evidence: []nlp.Span{{Text: s, Start: start, End: end}}}}}}
	}
	for _, c := range []struct {
		name string
		resp *triage.Response
	}{
		{"negated", cite("胸痛", 10)},
		{"no span", &triage.Response{Urgency: triage.Urgency{RedFlags: []triage.RedFlag{{ID: "x"}}}}},
		{"not a finding", cite("现在", 6)},
		{"wrong text", cite("心梗", 0)},
	} {
		if v := Grounding(text, c.resp, r, false); len(v) == 0 {
			t.Errorf("%s: a bad flag passed the check", c.name)
		}
	}
}
