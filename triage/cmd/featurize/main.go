// Command featurize turns texts into the triage heads' feature indices with
// the server's own extractor (fuzzy fallback included), so the training
// scripts never reimplement extraction.
//
// Input (stdin): JSON lines {"text": "…", "label": "<department name or code>", "age": 3, "sex": "male"}
// (age and sex optional, as the request's fields). Output (stdout): a header
// {"layout", "vocab", "width", "symptoms", "diseases", "ngram_buckets"}, then one JSON line per
// input {"label": "<official code or empty>", "x": [feature indices, sorted, no padding]}.
//
//	go run ./triage/cmd/featurize < texts.jsonl > features.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/triage"
)

type in struct {
	Text  string   `json:"text"`
	Label string   `json:"label"`
	Age   *float64 `json:"age"`
	Sex   string   `json:"sex"`
}

type out struct {
	Label string  `json:"label"`
	X     []int64 `json:"x"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "featurize:", err)
		os.Exit(1)
	}
}

func run(r io.Reader, w io.Writer) error {
	kg, err := knowledge.LoadDefault()
	if err != nil {
		return err
	}
	x, done, err := triage.ServingExtractor(kg)
	if err != nil {
		return err
	}
	defer done()
	e, err := triage.New(kg, x, nil, triage.Options{})
	if err != nil {
		return err
	}
	f := triage.NewFeaturizer(kg)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	head := map[string]any{"layout": triage.FeatureLayout, "vocab": f.Vocab(), "width": f.Width(),
		"symptoms": f.Symptoms(), "diseases": f.Diseases(), "ngram_buckets": triage.NgramBuckets}
	if err := enc.Encode(head); err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var row in
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		idx, err := e.RequestIndices(triage.Request{Text: row.Text, Age: row.Age, Sex: row.Sex})
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		o := out{X: idx}
		if row.Label != "" {
			if d, ok := kg.DepartmentByAlias(row.Label); ok {
				o.Label = d.Code
			}
		}
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	return sc.Err()
}
