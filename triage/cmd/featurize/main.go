// Command featurize turns texts into the department classifier's feature
// vectors with the server's own extractor, so models/triage/train.py never
// reimplements extraction.
//
// Input (stdin): JSON lines {"text": "…", "label": "<platform department name or code>"}.
// Output (stdout): JSON lines {"label": "<official code or empty>", "x": [indices of 1-valued features]}.
// The first output line is a header {"dim": F, "symptoms": S, "ngram_buckets": 4096}.
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
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/triage"
)

type in struct {
	Text  string `json:"text"`
	Label string `json:"label"`
}

type out struct {
	Label string `json:"label"`
	X     []int  `json:"x"`
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
	x, err := nlp.NewExtractor(kg, triage.ExtractorOptions(kg)...)
	if err != nil {
		return err
	}
	f := triage.NewFeaturizer(kg)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	if err := enc.Encode(map[string]int{"dim": f.Dim(), "symptoms": (f.Dim() - 7 - triage.NgramBuckets) / 2, "ngram_buckets": triage.NgramBuckets}); err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var row in
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		o := out{X: triage.TextFeatureIndices(f, x, row.Text)}
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
