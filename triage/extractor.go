package triage

import (
	"fmt"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/nlp/segment"
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

// ServingExtractor builds the extractor exactly as `fenzhen serve` does,
// with the KG's bleve index behind the fuzzy fallback, for tools that must
// compute the server's features (training export, evaluation). close
// releases the index.
func ServingExtractor(kg *knowledge.KG) (x *nlp.Extractor, close func(), err error) {
	seg, err := segment.New(kg.Terms())
	if err != nil {
		return nil, nil, fmt.Errorf("load segmenter: %w", err)
	}
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		return nil, nil, fmt.Errorf("build knowledge index: %w", err)
	}
	if x, err = NewExtractor(kg, idx); err != nil {
		idx.Close()
		return nil, nil, err
	}
	return x, func() { idx.Close() }, nil
}
