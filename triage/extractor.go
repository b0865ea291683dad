package triage

import (
	"fmt"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// NewExtractor builds the symptom extractor triage is meant to run with: the
// KG dictionary, the red-flag safety phrases and, when idx is given, the
// bleve fuzzy fallback for phrasings the dictionary lacks. The server and
// the tests use this one constructor so they extract alike.
func NewExtractor(kg *knowledge.KG, idx *knowledge.Index) (*nlp.Extractor, error) {
	opts := ExtractorOptions(kg)
	if idx != nil {
		opts = append(opts, nlp.WithFuzzy(idx))
	}
	x, err := nlp.NewExtractor(kg, opts...)
	if err != nil {
		return nil, fmt.Errorf("build symptom extractor: %w", err)
	}
	return x, nil
}
