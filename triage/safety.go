package triage

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

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

var (
	bpValue       = regexp.MustCompile(`(?:血压|高压|收缩压)[^0-9，,。；;]{0,4}([0-9]{3})`)
	bpChinese     = regexp.MustCompile(`(?:血压|高压|收缩压)[^，,。；;]{0,4}(?:两百|二百|一百八|一百九)`)
	radiatingPart = []string{"放射", "左肩", "左臂", "左胳膊", "胳膊", "后背", "下巴", "下颌"}
	chestWords    = []string{"胸口", "胸部", "胸前"}
	bellyWords    = []string{"肚子", "腹部"}
)

// deriveFindings adds red-flag findings that follow from combinations the
// extractor reports separately (胸痛 + 疼到左肩 → 胸痛放射). Each rule
// needs its base findings present, so negated text never triggers one.
func (e *Engine) deriveFindings(c *patientCase, text string) {
	add := func(id, span string) {
		if _, ok := e.kg.Symptom(id); !ok || c.state[id] == StateAbsent {
			return
		}
		if c.state[id] != StatePresent {
			c.state[id] = StatePresent
			c.spans[id] = span
			c.asked[id] = true
		}
	}
	has := c.has
	anyOf := func(ids ...string) string {
		for _, id := range ids {
			if has(id) {
				return id
			}
		}
		return ""
	}
	if has("chest_pain") && containsAny(text, radiatingPart) {
		add("chest_pain_radiating", c.spans["chest_pain"])
	}
	if has("pregnancy") && has("headache") && anyOf("blurred_vision", "vision_loss", "seeing_stars") != "" {
		add("pregnancy_headache_vision", c.spans["headache"])
	}
	if has("hypotension_sign") && anyOf("pallor", "sweating", "cold_clammy_skin", "syncope") != "" {
		add("shock_sign", c.spans["hypotension_sign"])
	}
	if has("allergy_history") && anyOf("dyspnea", "throat_tightness", "wheezing", "hives", "syncope") != "" &&
		anyOf("dyspnea", "throat_tightness", "wheezing", "syncope") != "" {
		add("anaphylaxis_sign", c.spans["allergy_history"])
	}
	if c.isChild() {
		if anyOf("diarrhea", "watery_stool", "vomiting") != "" {
			if s := anyOf("sunken_eyes", "no_tears", "sunken_fontanelle", "oliguria"); s != "" {
				add("dehydration", c.spans[s])
			}
		}
		if has("calf_cramps") {
			// Parents call a convulsion 抽筋.
			add("seizure", c.spans["calf_cramps"])
		}
	}
	if has("ingestion_foreign_body") && anyOf("dyspnea", "severe_dyspnea", "cyanosis", "stridor") != "" {
		add("choking", c.spans["ingestion_foreign_body"])
	}
	if has("right_lower_quadrant_pain") && anyOf("periumbilical_pain", "epigastric_pain") != "" {
		add("migratory_pain", c.spans["right_lower_quadrant_pain"])
	}
	if has("hearing_loss") && strings.Contains(text, "突然") {
		add("sudden_hearing_loss", c.spans["hearing_loss"])
	}
	if has("trauma") {
		if containsAny(text, chestWords) {
			add("chest_trauma", c.spans["trauma"])
		}
		if containsAny(text, bellyWords) {
			add("abdominal_trauma", c.spans["trauma"])
		}
	}
	if m := bpValue.FindStringSubmatch(text); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil && v >= 180 && v < 400 {
			add("very_high_blood_pressure", m[0])
		}
	} else if m := bpChinese.FindString(text); m != "" {
		add("very_high_blood_pressure", m)
	}
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
