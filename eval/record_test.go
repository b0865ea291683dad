package eval

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/fenzhen/fenzhen/eval/corpus"
	"github.com/fenzhen/fenzhen/triage"
)

// TestRecordsGrounded: the record drafted from every text of
// xfyun_train.jsonl (9,888 real consultations) invents nothing — every
// statement from the text cites spans of it, and every number, time, side
// and template phrase it writes is in those spans (triage.CheckRecord).
func TestRecordsGrounded(t *testing.T) {
	st := rulesStack(t)
	var statements atomic.Int64
	n, bad := overXfyun(t, func(_ corpus.Case, text string) []string {
		d, err := st.Record(context.Background(), triage.Request{Text: text})
		if err != nil {
			return []string{err.Error()}
		}
		k := len(d.Patient.Statements)
		for _, s := range d.Sections {
			k += len(s.Statements)
		}
		statements.Add(int64(k))
		return triage.CheckRecord(text, d) // the check's words, never the text
	})
	reportBad(t, bad)
	t.Logf("%d records, %d statements, %d invented", n, statements.Load(), len(bad))
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
