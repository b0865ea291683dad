package nlp

// headFallback gives a symptom for a bare head with no body part in reach:
// 很痒 → itching.
var headFallback = map[string]string{
	"痒": "pruritus", "晕": "dizziness", "麻": "numbness", "出血": "bleeding_unspecified",
}

// unsafeTerms are KG synonyms too generic to match in free text (有了 is
// a colloquial "pregnant" but mostly means "there is").
var unsafeTerms = map[string]bool{"有了": true}
