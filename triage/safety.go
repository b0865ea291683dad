package triage

import (
	"sort"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// SafetyTerms are extra phrasings of red-flag findings given to the
// extractor (phrase → symptom id), for a hotfix that cannot wait for a KG
// release. It is empty: the phrasings found with the vignettes now live in
// knowledge/kg/symptoms.yaml as synonyms, and TestSafetyPhrases checks
// that each still reaches its symptom.
var SafetyTerms = map[string]string{}

// ExtractorOptions returns what the extractor given to New should be
// built with: nlp.NewExtractor(kg, triage.ExtractorOptions(kg)...).
// Terms whose symptom the KG lacks are left out.
func ExtractorOptions(kg *knowledge.KG) []nlp.Option {
	return []nlp.Option{nlp.WithTerms(safetyTerms(kg))}
}

func safetyTerms(kg *knowledge.KG) map[string]string {
	out := make(map[string]string, len(SafetyTerms))
	for p, id := range SafetyTerms {
		if _, ok := kg.Symptom(id); ok {
			out[p] = id
		}
	}
	return out
}

// missingSafetyTerms lists the safety phrases x does not read as their
// symptom, sorted.
func missingSafetyTerms(kg *knowledge.KG, x *nlp.Extractor) []string {
	var miss []string
	for p, id := range safetyTerms(kg) {
		if x.Extract(p).Evidence()[id] != nlp.Present {
			miss = append(miss, p)
		}
	}
	sort.Strings(miss)
	return miss
}
