package nlp

// builtinLexicon adds colloquial phrasings for KG symptom ids that the
// authored KG lacks. Entries whose id is not in the loaded KG are ignored,
// so the extractor also works with imported or test KGs.
var builtinLexicon = map[string]string{}
