package eval

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"

	"github.com/fenzhen/fenzhen/eval/corpus"
	"github.com/fenzhen/fenzhen/triage"
)

// TestRecordsGrounded: the record drafted from every text of
// xfyun_train.jsonl (9,888 real consultations) invents nothing — every
// statement from the text cites spans of it, and every number, time, side
// and template phrase it writes is in those spans (triage.CheckRecord).
func TestRecordsGrounded(t *testing.T) {
	cases, err := corpus.Load(corpus.DataDir(), corpus.Xfyun)
	if errors.Is(err, corpus.ErrNoData) {
		t.Skipf("real consultations not available, the invented-statement check over xfyun is skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	st := rulesStack(t)
	var mu sync.Mutex
	var bad []string
	statements := 0
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
				d, err := st.Record(context.Background(), triage.Request{Text: text})
				mu.Lock()
				if err != nil {
					bad = append(bad, fmt.Sprintf("%s: %v", c.Key, err))
				} else {
					statements += len(d.Patient.Statements)
					for _, s := range d.Sections {
						statements += len(s.Statements)
					}
					for _, b := range triage.CheckRecord(text, d) {
						bad = append(bad, c.Key+": "+b) // the key and the check's words, never the text
					}
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
	for i, b := range bad {
		if i == 30 {
			t.Errorf("… and %d more", len(bad)-30)
			break
		}
		t.Error(b)
	}
	t.Logf("%d records, %d statements, %d invented", len(cases), statements, len(bad))
}

// TestRecordDevFloor keeps the dev part of the reference records from
// sliding back (the test part is scored once, by `fenzhen eval record
// --split test`, never here).
func TestRecordDevFloor(t *testing.T) {
	refs, err := LoadRecordRefs("../models/triage/labels/records_ref.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := RecordTexts(corpus.DataDir(), refs)
	if errors.Is(err, corpus.ErrNoData) {
		t.Skipf("texts of the reference records not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	st := rulesStack(t)
	sc, err := EvalRecords(context.Background(), st, refs, texts, "dev")
	if err != nil {
		t.Fatal(err)
	}
	cc := float64(sc.CCAcceptable) / float64(sc.Records)
	pos := sc.Sections["positives"]
	t.Logf("dev: %d records, 主诉 %.3f, positives P %.3f R %.3f, invented %d", sc.Records, cc, pos.Precision(), pos.Recall(), sc.Invented)
	if cc < 0.65 || pos.Precision() < 0.75 || pos.Recall() < 0.70 || sc.Invented > 0 {
		t.Errorf("dev record figures fell below the floor (主诉 0.65, positives P 0.75 R 0.70, 0 invented)")
	}
}
