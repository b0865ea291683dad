package nlp

// builtinLexicon adds colloquial phrasings for KG symptom ids that the
// authored KG lacks (reported to the KG author so they can move into
// knowledge/kg). Entries whose id is not in the loaded KG are ignored, so
// the extractor also works with imported or test KGs.
var builtinLexicon = map[string]string{
	"烧": "fever", "烧退了": "fever", "体温": "fever",
	"扭了": "sprain", "崴了": "sprain", "崴脚": "sprain", "崴了脚": "sprain",
	"有点晕": "dizziness", "头有点晕": "dizziness", "晕晕的": "dizziness",
	"误吞": "ingestion_foreign_body", "误食": "ingestion_foreign_body", "吞了": "ingestion_foreign_body",
	"眼前有黑影": "floaters", "黑影飘": "floaters",
	"痔疮出血":   "bloody_stool",
	"起夜":     "nocturia",
	"按下去一个坑": "edema", "一按一个坑": "edema",
	"心跳很快": "tachycardia", "心跳快": "tachycardia", "心跳加快": "tachycardia",
	"拉不出": "constipation", "拉不出大便": "constipation", "大便很干": "constipation", "大便干燥": "constipation",
	"小便有血":   "hematuria",
	"小便的时候疼": "dysuria", "小便疼": "dysuria", "尿尿疼": "dysuria", "撒尿疼": "dysuria", "小便痛": "dysuria",
	"关节僵硬": "morning_stiffness", "手指关节僵硬": "morning_stiffness",
	"脚趾头红肿": "big_toe_pain", "脚趾红肿": "big_toe_pain",
	"一侧手脚没力气": "hemiplegia", "半边手脚没力气": "hemiplegia",
	"不吃奶": "poor_feeding", "不肯吃奶": "poor_feeding",
	"记性越来越差": "memory_loss", "记性不好": "memory_loss",
	"尿多":    "polyuria",
	"心情很低落": "low_mood", "情绪很低落": "low_mood", "心情很差": "low_mood",
	"呼吸很急": "tachypnea", "呼吸急": "tachypnea", "喘气很急": "tachypnea",
	"嘴里长了溃疡": "mouth_ulcer", "嘴里长溃疡": "mouth_ulcer",
	"头撞了": "head_trauma",
}

// headFallback gives a symptom for a bare head with no body part in reach:
// 很痒 → itching.
var headFallback = map[string]string{
	"痒": "pruritus", "晕": "dizziness", "麻": "numbness",
}

// unsafeTerms are KG synonyms too generic to match in free text (有了 is
// a colloquial "pregnant" but mostly means "there is").
var unsafeTerms = map[string]bool{"有了": true}
