package triage

import (
	"strings"

	"github.com/fenzhen/fenzhen/nlp"
)

// deriveFindings adds the red-flag findings that follow from findings the
// extractor reports separately (胸痛 + 疼到左肩 → 胸痛放射). Every rule
// reads the extractor's data — current, present findings, their attributes,
// named diseases and drugs, vitals — never the text, and the derived
// finding cites the spans of what it rests on.
func (e *Engine) deriveFindings(c *patientCase) {
	add := func(id string, ev ...nlp.Span) {
		if _, ok := e.kg.Symptom(id); !ok || c.state[id] == StateAbsent {
			return
		}
		if c.state[id] != StatePresent {
			c.state[id] = StatePresent
			c.asked[id] = true
			if len(ev) > 0 {
				c.spans[id] = ev[0].Text
			}
		}
		c.evidence[id] = appendSpans(c.evidence[id], ev...)
	}
	ev := func(id string) []nlp.Span { return c.evidence[id] }
	first := func(ids ...string) string {
		for _, id := range ids {
			if c.has(id) {
				return id
			}
		}
		return ""
	}
	// Chest pain or tightness that spreads (疼到左肩, 放射到后背), or chest
	// pain that comes with a left arm, shoulder or jaw complaint (左胳膊发麻,
	// 下巴疼). A back ache or a shoulder pain beside a chest ache, with no
	// word of spreading, is more often the spine than the heart.
	for _, chest := range []string{"chest_pain", "chest_tightness"} {
		for _, m := range c.current(chest) {
			if radiationSite[m.RadiatesTo] {
				add("chest_pain_radiating", append([]nlp.Span{m.Span()}, m.Cues...)...)
			}
		}
	}
	if c.has("chest_pain") {
		for i := range c.mentions {
			m := &c.mentions[i]
			if m.State != nlp.Present || !m.Now() || !referredComplaint[m.ID] {
				continue
			}
			if m.ID != "jaw_pain" && m.Side != "left" {
				continue
			}
			if m.ID == "numbness" && !radiationSite[m.BodyPart] {
				continue // 左脚麻 is not referred cardiac pain
			}
			add("chest_pain_radiating", append(ev("chest_pain"), m.Span())...)
		}
	}
	if c.pregnant && c.has("headache") {
		if v := first("blurred_vision", "vision_loss", "seeing_stars"); v != "" {
			add("pregnancy_headache_vision", append(ev("headache"), ev(v)...)...)
		}
	}
	if c.has("hypotension_sign") {
		if s := first("pallor", "sweating", "cold_clammy_skin", "syncope"); s != "" {
			add("shock_sign", append(ev("hypotension_sign"), ev(s)...)...)
		}
	}
	if c.isChild() {
		if d := first("diarrhea", "watery_stool", "vomiting"); d != "" {
			// 尿少 alone is moderate dehydration (an urgent rule of its
			// own); sunken eyes, no tears or a sunken fontanelle are severe.
			if s := first("sunken_eyes", "no_tears", "sunken_fontanelle"); s != "" {
				add("dehydration", append(ev(d), ev(s)...)...)
			}
		}
		// Parents call a convulsion 抽筋; 腿抽筋 is a cramp.
		for _, m := range c.current("calf_cramps") {
			if !strings.ContainsAny(m.Text, "腿脚") {
				add("seizure", m.Span())
			}
		}
	}
	if c.has("right_lower_quadrant_pain") {
		if s := first("periumbilical_pain", "epigastric_pain"); s != "" {
			add("migratory_pain", append(ev(s), ev("right_lower_quadrant_pain")...)...)
		}
	}
	if c.has("hearing_loss") && c.sudden("hearing_loss") {
		add("sudden_hearing_loss", suddenSpans(c, "hearing_loss")...)
	}
	if c.has("trauma") {
		site := func(part string, sp nlp.Span) {
			switch part {
			case "chest":
				add("chest_trauma", append(ev("trauma"), sp)...)
			case "abdomen", "upper_abdomen", "lower_abdomen":
				add("abdominal_trauma", append(ev("trauma"), sp)...)
			}
		}
		for _, b := range c.extraction.BodyParts {
			if b.Context == nlp.CtxCurrent {
				site(b.ID, b.Span())
			}
		}
		for i := range c.mentions {
			if m := &c.mentions[i]; m.State == nlp.Present && m.Now() && m.ID != "trauma" {
				site(m.BodyPart, m.Span())
			}
		}
	}
	for _, m := range c.current("chest_pain") {
		if m.Character == "撕裂样" || m.Character == "刀割样" {
			add("tearing_chest_back_pain", append([]nlp.Span{m.Span()}, m.Cues...)...)
		}
	}
	for _, m := range c.current("upper_back_pain") {
		if m.Character == "撕裂样" || m.Character == "刀割样" {
			add("tearing_chest_back_pain", append([]nlp.Span{m.Span()}, m.Cues...)...)
		}
	}
	if c.has("abnormal_vaginal_bleeding") && c.extraction.Patient.Postpartum {
		add("postpartum_bleeding", ev("abnormal_vaginal_bleeding")...)
	}
	// A diabetic who sweats, shakes or stops answering may be hypoglycaemic.
	if sp, ok := diabetic(c); ok {
		if s := first("sweating", "tremor", "consciousness_disturbance", "confusion", "palpitations"); s != "" {
			add("hypoglycemia_symptoms", append(ev(s), sp)...)
		}
	}
	// Something swallowed or in the nose, and now noisy or hard breathing.
	if fb := first("ingestion_foreign_body", "foreign_body_eye_ear_nose"); fb != "" && (fb == "ingestion_foreign_body" || foreignBodyAirway(c)) {
		if s := first("wheezing", "noisy_breathing", "dyspnea", "severe_dyspnea", "stridor", "cyanosis"); s != "" {
			add("choking", append(ev(fb), ev(s)...)...)
		}
	}
	// Gas heaters, charcoal and coal stoves in a closed room: headache,
	// dizziness or drowsiness there is carbon monoxide until shown otherwise.
	if c.has("co_exposure") {
		if s := first("headache", "dizziness", "nausea", "somnolence", "consciousness_disturbance", "syncope", "confusion"); s != "" {
			add("gas_poisoning", append(ev("co_exposure"), ev(s)...)...)
		}
	}
	if c.has("burn") {
		for i := range c.mentions {
			if m := &c.mentions[i]; m.State == nlp.Present && m.Now() && m.Extent == "widespread" {
				add("extensive_burn", append(append(ev("burn"), m.Span()), m.Cues...)...)
			}
		}
	}
	// Thunderclap headache: sudden and the worst ever (疼得要命, 像要炸了).
	var sudden, worst []nlp.Span
	for _, m := range c.current("headache") {
		if m.Onset == "sudden" {
			sudden = append(append(sudden, m.Span()), m.Cues...)
		}
		if m.Severity == "severe" || m.Character == "炸裂样" || m.Character == "劈裂样" {
			worst = append(append(worst, m.Span()), m.Cues...)
		}
	}
	if len(sudden) > 0 && len(worst) > 0 {
		add("sudden_severe_headache", append(sudden, worst...)...)
	}
	for _, m := range c.current("chest_pain") {
		// Chest pain for more than a quarter of an hour (but not days).
		if m.DurationDays >= 15.0/1440 && m.DurationDays <= 1 {
			add("persistent_chest_pain", m.Span())
		}
	}
	if acuteAllergy(c) {
		airway := first("dyspnea", "severe_dyspnea", "throat_tightness", "wheezing", "stridor", "syncope")
		// Hives all over with dizziness, a racing heart or vomiting is a
		// systemic reaction even without airway words.
		if airway == "" && (c.has("wheals") || c.has("hives_with_dyspnea")) {
			airway = first("dizziness", "palpitations", "vomiting", "pallor", "cold_clammy_skin")
		}
		// Wheeze for a month beside an allergy is not anaphylaxis.
		if airway != "" && c.maxDays(airway) <= 3 {
			add("anaphylaxis_sign", append(allergySpans(c), ev(airway)...)...)
		}
	}
	for _, v := range c.vitals("glucose") {
		switch {
		case v.Value >= 16.7:
			add("hyperglycemia", v.Span())
		case v.Value <= 3.9:
			add("hypoglycemia_symptoms", v.Span())
		}
	}
	for _, v := range c.vitals("bp") {
		switch {
		case v.Value >= 180 || v.Value2 >= 120:
			add("very_high_blood_pressure", v.Span())
		case v.Value >= 140 || v.Value2 >= 90:
			// 中国高血压防治指南: 140/90 and above is high.
			add("hypertension_sign", v.Span())
		}
	}
	// 呼吸困难，说话费劲: too breathless to speak is severe dyspnoea; 说话费劲
	// beside a hoarse throat is the voice.
	if c.has("speech_effort") && !c.has("hoarseness") {
		if d := first("dyspnea", "chest_tightness", "wheezing"); d != "" {
			add("severe_dyspnea", append(ev(d), ev("speech_effort")...)...)
		}
	}
	if c.has("intractable_vomiting") {
		add("vomiting", ev("intractable_vomiting")...)
	}
	// 孕早期又出血了: in pregnancy a bleeding with no site is vaginal.
	if c.pregnant && c.has("bleeding_unspecified") {
		add("pregnancy_bleeding", ev("bleeding_unspecified")...)
	}
	// 嗓子哑，说不出话 is a lost voice, not aphasia; 脸部抽搐 a twitch.
	if c.has("hoarseness") {
		for _, id := range []string{"aphasia", "slurred_speech"} {
			if !c.sudden(id) {
				drop(c, id)
			}
		}
	}
	if c.has("seizure") {
		all := true
		for _, m := range c.current("seizure") {
			if !localTwitch[m.BodyPart] {
				all = false
			}
		}
		if all && len(c.current("seizure")) > 0 {
			drop(c, "seizure")
		}
	}
	if c.sex == "male" {
		// 月经推迟 read for a man is a misreading (his partner's period).
		drop(c, "amenorrhea")
	}
}

// localTwitch: a 抽搐 of these parts alone is a twitch or a cramp (眼皮抽搐,
// 小腿抽搐), or a feeling (心脏在抽搐), not a convulsion.
var localTwitch = map[string]bool{"face": true, "eye": true, "lip": true, "mouth": true,
	"leg": true, "foot": true, "heart": true, "chest": true, "abdomen": true}

// radiationSite: where cardiac pain spreads.
var radiationSite = map[string]bool{"shoulder": true, "arm": true, "back": true, "neck": true, "hand": true, "tooth": true, "mouth": true, "face": true}

// referredComplaint: complaints at a radiation site that, with chest pain,
// read as referred pain (左胳膊发麻, 下巴疼, 后背疼), unless on the right.
var referredComplaint = map[string]bool{
	"numbness": true, "arm_pain": true, "shoulder_pain": true, "jaw_pain": true, "neck_arm_radiating": true,
}

func suddenSpans(c *patientCase, id string) []nlp.Span {
	var out []nlp.Span
	for _, m := range c.current(id) {
		if m.Onset == "sudden" {
			out = append(out, m.Span())
			out = append(out, m.Cues...)
		}
	}
	return out
}

// diabetic: the patient has diabetes or takes insulin or an oral
// hypoglycaemic (named in the text).
func diabetic(c *patientCase) (nlp.Span, bool) {
	if sp, ok := c.hasDisease("diabetes_type2", "diabetes_type1", "diabetes", "gestational_diabetes"); ok {
		return sp, true
	}
	return c.hasDrug("insulin", "metformin", "glimepiride", "gliclazide", "acarbose", "sitagliptin", "dapagliflozin")
}

// foreignBodyAirway: a foreign body in the nose or throat, not the eye or ear.
func foreignBodyAirway(c *patientCase) bool {
	for _, m := range c.current("foreign_body_eye_ear_nose") {
		if m.BodyPart == "nose" || m.BodyPart == "throat" {
			return true
		}
	}
	for _, b := range c.extraction.BodyParts {
		if b.Context == nlp.CtxCurrent && (b.ID == "nose" || b.ID == "throat") {
			return true
		}
	}
	return false
}

// chronicAllergic names long-standing allergic diseases: 过敏性鼻炎伴哮喘
// is asthma, not anaphylaxis.
var chronicAllergic = []string{"allergic_rhinitis", "asthma", "eczema", "atopic_dermatitis"}

// acuteAllergy: an allergic reaction now (过敏了, 吃了虾以后, 被蜂蛰了,
// 打了青霉素), not a chronic allergic disease.
func acuteAllergy(c *patientCase) bool {
	if c.has("bee_sting") || c.has("rash_after_drug") || c.has("allergen_exposure") {
		return true
	}
	if !c.has("allergy_history") {
		return false
	}
	if _, chronic := c.hasDisease(chronicAllergic...); chronic {
		return false
	}
	for _, m := range c.current("allergy_history") {
		// 过敏体质 is a disposition; an allergy diagnosed weeks ago is not a
		// reaction now.
		if !strings.Contains(m.Text, "体质") && m.DurationDays <= 3 {
			return true
		}
	}
	return false
}

func allergySpans(c *patientCase) []nlp.Span {
	for _, id := range []string{"allergen_exposure", "bee_sting", "rash_after_drug", "allergy_history"} {
		if c.has(id) {
			return c.evidence[id]
		}
	}
	return nil
}

// appendSpans adds spans not yet in the list (same start and end).
func appendSpans(list []nlp.Span, add ...nlp.Span) []nlp.Span {
	for _, s := range add {
		dup := false
		for _, o := range list {
			if o.Start == s.Start && o.End == s.End {
				dup = true
				break
			}
		}
		if !dup && s.End > s.Start {
			list = append(list, s)
		}
	}
	return list
}

// drop forgets a finding the rules have ruled out.
func drop(c *patientCase, id string) {
	delete(c.state, id)
	delete(c.evidence, id)
}
