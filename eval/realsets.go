package eval

import (
	"fmt"
	"os"
	"strings"

	"github.com/fenzhen/fenzhen/eval/corpus"
)

// RealUrgencyFile is the hand-labelled urgency reference set: keys of real
// consultations with their final level (docs/labelling/urgency.md).
const RealUrgencyFile = "models/triage/labels/urgency_real.tsv"

// RealUrgency reads the labelled set and the texts it names from the data
// folder. Each case's split is its source's (eval/corpus), so a text never
// trains one head and tests another; sample is random or enriched.
func RealUrgency(dataDir, path string) ([]UrgencyCase, map[string]string, map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	type row struct{ key, sha, sample, level string }
	var rows []row
	keys := map[string]string{}
	for n, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "key\t") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 6 || levelRank(f[5]) < 0 {
			return nil, nil, nil, fmt.Errorf("%s:%d: want key, sha8, sample, pass1, pass2, final[, note]", path, n+1)
		}
		rows = append(rows, row{f[0], f[1], f[2], f[5]})
		keys[f[0]] = f[1]
	}
	cases, err := corpus.ByKey(dataDir, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]UrgencyCase, 0, len(rows))
	split, sample := map[string]string{}, map[string]string{}
	for _, r := range rows {
		c := cases[r.key]
		uc := UrgencyCase{Key: r.key, Text: c.Text, Level: r.level}
		if c.Source == corpus.Xfyun {
			uc.Age = c.Age
		}
		out = append(out, uc)
		split[r.key], sample[r.key] = c.Split, r.sample
	}
	return out, split, sample, nil
}
