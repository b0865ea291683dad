// Command rankerdata writes the DXY / Muzhi diagnosis records as the disease
// ranker's training reads them: the seeded train/val/test split, the KG
// disease each label trains as, the symptoms known before any question
// (extractor on the text + explicit symptoms mapped to KG ids) and the
// implicit answers, all computed by the server's own code so that
// models/triage/train_disease.py never reimplements extraction or the split.
//
// Output (stdout): a header {"dim": F, "symptoms": [sorted KG symptom ids]},
// then one triage.RankerRecord per line, DXY first, then Muzhi.
//
//	go run ./triage/cmd/rankerdata --data ../shared/data > records.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/triage"
)

func main() {
	def := os.Getenv("FENZHEN_DATA")
	if def == "" {
		def = filepath.Join("..", "shared", "data")
	}
	data := flag.String("data", def, "shared data folder (env FENZHEN_DATA)")
	flag.Parse()
	if err := run(*data); err != nil {
		fmt.Fprintln(os.Stderr, "rankerdata:", err)
		os.Exit(1)
	}
}

func run(data string) error {
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
	ids := make([]string, 0, len(kg.Symptoms()))
	for _, s := range kg.Symptoms() {
		ids = append(ids, s.ID)
	}
	sort.Strings(ids)
	bw := bufio.NewWriter(os.Stdout)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	f := triage.NewFeaturizer(kg)
	if err := enc.Encode(map[string]any{"layout": triage.FeatureLayout, "vocab": f.Vocab(), "width": f.Width(), "symptoms": ids, "diseases": f.Diseases()}); err != nil {
		return err
	}
	for _, set := range []string{"dxy", "mz"} {
		cases, err := triage.ReadInterviewFile(filepath.Join(data, "diagnosis", set+"_train.jsonl"))
		if err != nil {
			return err
		}
		for _, r := range e.RankerRecords(set, cases) {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}
