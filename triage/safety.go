package triage

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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
	radiatingPart = []string{"放射", "左肩", "左臂", "左胳膊", "胳膊", "后背", "下巴", "下颌", "牙根", "牙床"}
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
	e.patternFindings(c, text, add)
	if has("chest_pain") && containsAny(text, radiatingPart) {
		add("chest_pain_radiating", c.spans["chest_pain"])
	} else if has("chest_tightness") && containsAny(text, radiatingPart) {
		add("chest_pain_radiating", c.spans["chest_tightness"])
	}
	if has("pregnancy") && has("headache") && anyOf("blurred_vision", "vision_loss", "seeing_stars") != "" {
		add("pregnancy_headache_vision", c.spans["headache"])
	}
	if has("hypotension_sign") && anyOf("pallor", "sweating", "cold_clammy_skin", "syncope") != "" {
		add("shock_sign", c.spans["hypotension_sign"])
	}
	if acuteAllergy(c, text) && anyOf("dyspnea", "throat_tightness", "wheezing", "hives", "syncope") != "" &&
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

// clause is one run of text between punctuation marks.
const clause = `[^，,。；;！!？?、\s]`

// safetyPattern reads a red-flag finding that patients word in too many
// orders for a synonym list (吐了好几口暗红色的血, 脸憋得青紫). A match is
// dropped when skip matches it or when a negation cue stands just before it.
type safetyPattern struct {
	id   string
	re   *regexp.Regexp
	skip *regexp.Regexp
	// textSkip drops the finding when the whole text matches it (中风后
	// 想做康复训练 is not a new stroke).
	textSkip *regexp.Regexp
}

// sequelae marks an old, known deficit rather than a new one.
var sequelae = regexp.MustCompile(`康复|后遗症|中风后|脑梗后|脑出血后|偏瘫[0-9一二三四五六七八九十几多]+年|好几年了|多年`)

func pat(id, re, skip string) safetyPattern {
	p := safetyPattern{id: id, re: regexp.MustCompile(strings.ReplaceAll(re, "C", clause))}
	if skip != "" {
		p.skip = regexp.MustCompile(skip)
	}
	switch id {
	case "hemiplegia", "facial_droop", "one_side_numbness":
		p.textSkip = sequelae
	}
	return p
}

var safetyPatterns = []safetyPattern{
	pat("hematemesis", `吐[了出]?C{0,8}血`, `痰|牙|口水|唾沫|血丝|咳`),
	pat("melena", `(大便|粪便|屎|粑粑|便便|拉的|屙的|解的|拉出来的)C{0,5}(黑|柏油|沥青)`, ""),
	pat("bloody_stool", `(大便|粪便|屎|粑粑|便便|屙|拉)C{0,4}血`, `潜血|隐血|拉肚子|血糖|血压`),
	pat("major_bleeding", `(一大摊|一大滩|一地的?|满地|好大一摊|一大盆)血|血C{0,4}(止不住|止不了|往外喷|喷出|哗哗|往外冒|往外涌)|喷血|血流不止|流了(好多|很多|一大堆)血`, ""),
	pat("cyanosis", `(嘴唇|嘴巴|嘴|口唇|脸|脸色|面色|指甲|憋)C{0,3}(发紫|青紫|紫了|乌青|发青|发乌|乌紫|紫绀)`, `淤|瘀|磕|撞|碰`),
	pat("severe_dyspnea", `(鼻翼|鼻孔)C{0,3}(扇|煽|一张一张)|(肋骨|肋间|胸口|锁骨|胸骨)C{0,5}(凹|陷)`, `囟`),
	pat("hemiplegia", `(一边|一侧|半边|半身|半拉|左边|右边|左侧|右侧|左半边|右半边)C{0,4}(胳膊|手臂|手脚|腿脚|身子|身体|肢体|手和腿|手腿|手和脚)C{0,6}(抬不起|没劲|没力|无力|不能动|动不了|不听使唤|不灵|使不上劲|不好使|拿不住|软塌塌|软了|软绵绵|瘫)`, ""),
	pat("hemiplegia", `(手|胳膊|腿)C{0,6}突然C{0,4}(拿不住|抬不起|没劲|使不上劲|不听使唤|不能动|动不了)|突然C{0,6}(手|胳膊|腿)C{0,4}(拿不住|抬不起|没劲|使不上劲|不听使唤)`, ""),
	pat("bloody_stool", `(大便|粪便)C{0,6}出血`, `潜血|隐血`),
	pat("neck_lump", `(脖子|颈部|颈)C{0,6}(包|疙瘩|肿块|硬块|结节)`, ""),
	pat("breast_lump", `乳房C{0,6}(硬块|肿块|包|疙瘩|结节)`, ""),
	pat("axillary_lump", `(腋下|胳肢窝)C{0,6}(包|疙瘩|肿块|硬块)`, ""),
	pat("groin_bulge", `(大腿根|腹股沟)C{0,6}(包|鼓)`, ""),
	pat("anal_lump", `(屁股|肛门)C{0,6}(肿物|包|肉球|疙瘩)`, ""),
	pat("heavy_menstruation", `(月经|例假|大姨妈)C{0,6}(量多|量特别多|量很多|量大)`, ""),
	pat("blurred_vision", `看C{0,5}(模糊|不清楚|不清|发花|重影)`, `看病|看医生|看了`),
	pat("hair_loss", `头发C{0,6}掉`, ""),
	pat("wound", `(割|切|划|砍)C{0,4}(口子|伤口)`, ""),
	pat("exertional_chest_pain", `(爬楼|爬两层楼|上楼|走路|走快|活动|干活|跑步|运动)C{0,6}(胸闷|胸口闷|胸痛|胸口疼|胸口痛|心口疼)`, ""),
	pat("one_side_numbness", `(一边|一侧|半边|半身|左边|右边|左侧|右侧|左半边|右半边)C{0,4}(胳膊|手臂|手脚|身子|身体|肢体|脸)C{0,4}麻`, ""),
	pat("facial_droop", `(半边脸|一边脸|一侧脸|脸)C{0,3}(垮|耷拉|歪|塌|往下掉|不对称)|(嘴|嘴角|口角)C{0,4}(歪|斜|往一边)`, ""),
	pat("suicidal_ideation", `(想|要|打算|准备|企图)C{0,6}(跳楼|跳下去|跳河|跳江|割腕|上吊|自杀|寻死|轻生|一了百了|结束自己|了结自己|结束生命|去死)`, ""),
	pat("poisoning", `(误喝|误服|误吃|误食|喝了|吃了|吞了|服了|喝下|吞下|吃下|喝|吞)C{0,8}(农药|消毒液|消毒水|84|洗洁精|洁厕|老鼠药|鼠药|敌敌畏|百草枯|除草剂|杀虫剂|安眠药|一整瓶|一瓶药|一把药|整瓶|一板药|汽油|煤油|强酸|强碱|火碱|漂白|甲醇|毒蘑菇|野蘑菇|野生菌)`, ""),
	pat("eye_trauma", `(石灰|碱|强酸|硫酸|盐酸|消毒液|洗洁精|化学品|漂白|洁厕)C{0,8}眼|眼C{0,6}(石灰|碱|强酸|硫酸|消毒液|化学品|漂白|洁厕)`, ""),
	pat("foreign_body_eye_ear_nose", `(眼睛|眼里|眼内)C{0,6}(溅|崩|扎|戳|进了|飞进|迸|铁屑|铁渣|沙子|异物)|(铁屑|铁渣|沙子|玻璃渣|木屑)C{0,6}眼`, `石灰|碱|酸|消毒液|化学`),
	pat("severe_abdominal_pain", `(肚子|腹部|小肚子|下腹|上腹)C{0,4}(剧痛|剧烈|疼得打滚|痛得打滚|疼得要命|痛得要命|直不起腰)`, ""),
	pat("head_trauma", `(砸|撞|磕|碰|摔|被打)C{0,3}(头|脑袋|脑壳|后脑勺|脑门)|(头|脑袋|脑壳|后脑勺|脑门)C{0,2}(被砸|被撞|被打|撞|磕|着地)`, `头晕|头疼|头痛`),
	pat("open_fracture", `骨头C{0,4}(露|戳|刺|穿|支|扎)出`, ""),
	pat("consciousness_disturbance", `(喊|叫|唤)C{0,3}(只会哼|只哼哼|不怎么应|不太应|不大应|没反应|不答应|不理人|不怎么醒|不太醒|醒不过来)|(喊|叫)C{0,2}不醒`, ""),
	pat("chest_pain", `(胸口|胸部|胸前|心口)C{0,6}(疼|痛)`, ""),
	pat("sweating", `出了?C{0,3}的?汗|一身汗|满身是?汗|满头是?汗`, `盗汗|晚上|睡着|夜里`),
	pat("rupture_of_membranes", `(下面|阴道|下身)C{0,4}(流出|流|淌|出)C{0,3}水|破水|羊水破`, ""),
	pat("high_fall", `从C{0,6}(架子|楼|梯子|树|屋顶|房顶|高处|墙|脚手架|阳台|山)上?C{0,2}(掉|摔|跌|跳|滚|栽)下`, ""),
	pat("abdominal_trauma", `(肚子|腹部)C{0,2}被C{0,4}(撞|顶|砸|踢|压|打|捅)|(撞|顶|砸|踢|捅)C{0,3}(肚子|腹部)`, ""),
	pat("chest_trauma", `(胸口|胸部)C{0,2}被C{0,4}(撞|顶|砸|踢|压|打|捅)|(撞|顶|砸|踢|捅)C{0,3}(胸口|胸部)`, ""),
	pat("drowning", `(河|水里|湖|塘|泳池|游泳池|水库|海里|井里)C{0,6}(捞上来|救上来|拉上来|呛水|淹)|溺水|呛了好多水`, ""),
	pat("suicidal_ideation", `(就|要|想|准备|打算)C{0,2}去死|活不下去|再也撑不下去|不想再活`, ""),
	pat("severe_dyspnea", `说话就喘|说不了几个字|说不出整句|坐着都(喘|憋)|躺着都喘|休息也喘|一动就喘不上`, ""),
	pat("renal_colic", `(腰|后腰|腰眼)C{0,6}绞痛`, ""),
	pat("trauma", `(胳膊|腿|手腕|手|脚|膝盖|胳膊肘|脚踝|肩膀)C{0,3}(摔|撞|砸|扭|磕)(了|伤|到|断)`, ""),
	pat("animal_bite", `被C{0,2}(狗|猫|老鼠|猴子|蝙蝠)C{0,3}(咬|抓|挠)`, ""),
	pat("foreign_body_eye_ear_nose", `(鼻孔|鼻子|耳朵|耳朵眼)C{0,6}(塞|卡|掉)C{0,6}(进|了)`, ""),
	pat("amenorrhea", `(月经|大姨妈|例假)C{0,4}(推迟|没来|晚了|迟了|停了)|停经`, ""),
}

var (
	tearingWords  = regexp.MustCompile(`撕裂|刀割|刀绞|刀扎|刀刺|刀砍`)
	widespread    = regexp.MustCompile(`一大片|大片|大面积|一大块|全身|半身|整条|整个|好几处|好多地方|前胸和肚子|胸口和肚子|满背`)
	allergenWords = regexp.MustCompile(`(吃了|喝了|打了|输了|用了|吃完|打完|输完|被)` + clause + `{0,6}(虾|蟹|海鲜|花生|芒果|螺|贝|坚果|青霉素|头孢|针|输液|蜂|蜜蜂|马蜂)`)
	swollen       = regexp.MustCompile(`肿(得|了|起来|起|老高)`)
	throatSwell   = regexp.MustCompile(`(嗓子|喉咙|喉头|嗓子眼)` + clause + `{0,3}肿`)
	worstHeadache = []string{"从来没", "从没", "最疼", "最痛", "炸", "劈", "要命", "受不了", "剧"}
	negBefore     = []string{"没", "不", "无", "未", "否认"}
	negFillers    = []string{"过", "有", "出现", "发现", "见", "是", "再"}
)

// patternFindings applies safetyPatterns and the combinations that need
// the text as well as the extracted findings.
func (e *Engine) patternFindings(c *patientCase, text string, add func(id, span string)) {
	for _, p := range safetyPatterns {
		if p.textSkip != nil && p.textSkip.MatchString(text) {
			continue
		}
		for _, loc := range p.re.FindAllStringIndex(text, -1) {
			m := text[loc[0]:loc[1]]
			if p.skip != nil && p.skip.MatchString(text[max(0, loc[0]-6):loc[1]]) {
				continue
			}
			if negatedBefore(text, loc[0]) {
				continue
			}
			if p.id == "amenorrhea" && c.sex == "male" {
				continue
			}
			add(p.id, m)
			break
		}
	}
	if m := tearingWords.FindString(text); m != "" && (c.has("chest_pain") || c.has("upper_back_pain") || containsAny(text, []string{"胸", "心口", "背"})) {
		add("tearing_chest_back_pain", m)
	}
	if c.has("abnormal_vaginal_bleeding") && containsAny(text, []string{"生完", "产后", "剖腹产", "刚生", "生孩子后", "坐月子"}) {
		add("postpartum_bleeding", c.spans["abnormal_vaginal_bleeding"])
	}
	// A diabetic who sweats, shakes or stops answering may be hypoglycaemic.
	if containsAny(text, []string{"糖尿病", "打胰岛素", "降糖药"}) {
		for _, id := range []string{"sweating", "tremor", "consciousness_disturbance", "confusion", "palpitations"} {
			if c.has(id) {
				add("hypoglycemia_symptoms", c.spans[id])
				break
			}
		}
	}
	// Something in the nose or swallowed, and now noisy or hard breathing.
	if c.has("ingestion_foreign_body") || (c.has("foreign_body_eye_ear_nose") && containsAny(text, []string{"鼻", "喉", "嗓子", "气管"})) {
		for _, id := range []string{"wheezing", "noisy_breathing", "dyspnea", "severe_dyspnea", "stridor", "cyanosis"} {
			if c.has(id) {
				add("choking", c.spans[id])
				break
			}
		}
	}
	// Gas heaters, charcoal and coal stoves in a closed room: headache,
	// dizziness or drowsiness there is carbon monoxide until shown otherwise.
	if containsAny(text, []string{"煤气", "燃气", "热水器", "烧炭", "炭火", "煤炉", "一氧化碳"}) {
		for _, id := range []string{"headache", "dizziness", "nausea", "somnolence", "consciousness_disturbance", "syncope", "confusion"} {
			if c.has(id) {
				add("gas_poisoning", c.spans[id])
				break
			}
		}
	}
	if c.has("trauma") && swollen.MatchString(text) {
		add("edema", swollen.FindString(text))
	}
	if c.has("burn") {
		if m := widespread.FindString(text); m != "" {
			add("extensive_burn", m)
		}
	}
	if c.has("headache") && strings.Contains(text, "突然") {
		severe := containsAny(text, worstHeadache)
		for _, mn := range c.mentions {
			if mn.ID == "headache" && mn.State == nlp.Present && mn.Severity == "severe" {
				severe = true
			}
		}
		if severe {
			add("sudden_severe_headache", c.spans["headache"])
		}
	}
	for _, mn := range c.mentions {
		// Chest pain for more than a quarter of an hour (but not days).
		if mn.ID == "chest_pain" && mn.State == nlp.Present && mn.DurationDays >= 15.0/1440 && mn.DurationDays <= 1 {
			add("persistent_chest_pain", mn.Text)
		}
	}
	if acuteAllergy(c, text) {
		airway := ""
		for _, id := range []string{"dyspnea", "severe_dyspnea", "throat_tightness", "wheezing", "stridor", "syncope"} {
			if c.has(id) {
				airway = c.spans[id]
				break
			}
		}
		if m := throatSwell.FindString(text); airway == "" && m != "" {
			airway = m
		}
		// Hives all over with dizziness, a racing heart or vomiting is a
		// systemic reaction even without airway words.
		if airway == "" && (c.has("wheals") || c.has("hives_with_dyspnea")) {
			for _, id := range []string{"dizziness", "palpitations", "vomiting", "pallor", "cold_clammy_skin"} {
				if c.has(id) {
					airway = c.spans[id]
					break
				}
			}
		}
		if airway != "" {
			add("anaphylaxis_sign", airway)
		}
	}
	if v, span := readNumber(glucoseValue, text); v > 0 {
		switch {
		case v >= 16.7 && v < 100:
			add("hyperglycemia", span)
		case v <= 3.9:
			add("hypoglycemia_symptoms", span)
		}
	}
}

// chronicAllergy names a known, long-standing allergic disease: 过敏性鼻炎
// 伴哮喘 is asthma, not anaphylaxis.
var chronicAllergy = regexp.MustCompile(`过敏性鼻炎|过敏性哮喘|哮喘|过敏体质|鼻炎|湿疹|荨麻疹[0-9一二三四五六七八九十几多]+年`)

// acuteAllergy: the text tells of an allergic reaction now (过敏了, 吃了虾
// 以后, 被蜂蛰了, 打了青霉素), not of a chronic allergic disease.
func acuteAllergy(c *patientCase, text string) bool {
	if c.has("bee_sting") || c.has("rash_after_drug") || allergenWords.MatchString(text) {
		return true
	}
	return c.has("allergy_history") && !chronicAllergy.MatchString(text)
}

// negatedBefore reports whether a negation cue stands right before at, in
// the same clause: "没有吐血" is negated, but "说话不清，右边手脚没力气" is
// not — a 不 in an earlier clause or inside another finding (不清) must
// not silence a red flag.
func negatedBefore(text string, at int) bool {
	pre := text[max(0, at-15):at] // up to five CJK runes
	if i := strings.LastIndexAny(pre, "，,。；;！!？?、 \t\n"); i >= 0 {
		_, size := utf8.DecodeRuneInString(pre[i:])
		pre = pre[i+size:]
	}
	for _, filler := range negFillers {
		pre = strings.TrimSuffix(pre, filler)
	}
	for _, n := range negBefore {
		if strings.HasSuffix(pre, n) {
			return true
		}
	}
	return false
}

var (
	glucoseValue = regexp.MustCompile(`血糖` + clause + `{0,6}?([0-9]+(?:\.[0-9]+)?)`)
	heartRate    = regexp.MustCompile(`(?:心跳|心率|脉搏)` + clause + `{0,4}?([0-9]{2,3}|[一二两]百[零一二三四五六七八九十]*)`)
)

// readNumber returns the first number re captures (Arabic, or Chinese
// hundreds such as 一百八) and the matched text.
func readNumber(re *regexp.Regexp, text string) (float64, string) {
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0, ""
	}
	if v, err := strconv.ParseFloat(m[1], 64); err == nil {
		return v, m[0]
	}
	return chineseHundreds(m[1]), m[0]
}

// chineseHundreds reads 一百八 (180), 一百二十 (120), 两百 (200).
func chineseHundreds(s string) float64 {
	digit := map[rune]float64{'零': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	rs := []rune(s)
	if len(rs) < 2 || rs[1] != '百' {
		return 0
	}
	v := digit[rs[0]] * 100
	rest := rs[2:]
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] != '十':
		v += digit[rest[0]] * 10 // 一百八 = 180
	case len(rest) >= 2 && rest[0] == '零':
		v += digit[rest[1]]
	case len(rest) >= 2 && rest[1] == '十':
		v += digit[rest[0]] * 10
		if len(rest) == 3 {
			v += digit[rest[2]]
		}
	}
	return v
}

// vitalFlags are red flags read from numbers the patient quotes rather than
// from symptoms.
func vitalFlags(text string) []RedFlag {
	var out []RedFlag
	if v, span := readNumber(heartRate, text); (v >= 150 && v < 300) || (v > 0 && v <= 40) {
		out = append(out, RedFlag{ID: "extreme_heart_rate", Name: "心率≥150或≤40次/分", Text: span})
	}
	return out
}
