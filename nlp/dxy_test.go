package nlp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestDXYExplicitRecall is an independent check on real parent reports
// (DXY, shared data): of the explicit symptoms whose label the KG knows,
// how many does extraction find with the right state. It only reports.
func TestDXYExplicitRecall(t *testing.T) {
	dir := os.Getenv("FENZHEN_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "diagnosis", "dxy_train.jsonl"))
	if err != nil {
		t.Skipf("DXY data not present (%v); set FENZHEN_DATA", err)
	}
	defer f.Close()
	x := defaultExtractor(t)
	var known, found, stateOK, unknown, extracted, onLabel int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			SelfReport string          `json:"self_report"`
			Explicit   map[string]bool `json:"explicit_symptoms"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		ev := x.Extract(rec.SelfReport).Evidence()
		extracted += len(ev)
		labelIDs := map[string]bool{}
		for label, present := range rec.Explicit {
			s, ok := x.kg.SymptomByName(label)
			if !ok {
				unknown++
				continue
			}
			known++
			labelIDs[s.ID] = true
			if st, ok := ev[s.ID]; ok {
				found++
				if (st == Present) == present {
					stateOK++
				}
			}
		}
		for id := range ev {
			if labelIDs[id] {
				onLabel++
			}
		}
	}
	msg := fmt.Sprintf("DXY explicit symptoms: %d labels known to the KG (%d unknown); found %d (recall %.3f), state right %d (%.3f); %d of %d extracted ids are labelled",
		known, unknown, found, float64(found)/float64(max(known, 1)), stateOK, float64(stateOK)/float64(max(found, 1)), onLabel, extracted)
	t.Log(msg)
	fmt.Println(msg)
}
