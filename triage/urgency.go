package triage

import (
	"regexp"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// selfCareDiseases are common, self-limiting conditions that may be
// watched at home when nothing else points higher.
var selfCareDiseases = map[string]bool{
	"upper_respiratory_infection": true, "acute_pharyngitis": true, "miliaria": true,
	"insect_bite_dermatitis": true, "functional_constipation": true, "tension_headache": true,
	"lumbar_strain": true, "acne_vulgaris": true, "dandruff": true, "dry_eye": true,
	"infant_colic": true, "herpes_labialis": true, "diaper_dermatitis": true,
}

// acuteDepartments: diseases filed under 急诊医学科 or 重症医学科 need care
// the same day even before any red flag fires.
var acuteDepartments = map[string]bool{"20": true, "28": true}

// assessUrgency: red flags can only raise the level above the base level
// derived from the differential and symptom severity, never lower it.
func (e *Engine) assessUrgency(c *patientCase, post []scored, text string) Urgency {
	u := Urgency{Level: LevelRoutine, RedFlags: []RedFlag{}, Reasons: []string{}}
	present := c.present()
	raise := func(level, reason string) {
		if levelRank[level] > levelRank[u.Level] {
			u.Level = level
		}
		if reason != "" {
			u.Reasons = append(u.Reasons, reason)
		}
	}
	// Numbers the patient quotes count even when no symptom was read.
	for _, rf := range vitalFlags(text) {
		u.RedFlags = append(u.RedFlags, rf)
		raise(LevelEmergency, "心率过快或过慢可能是严重心律失常，请立即拨打120")
	}
	if len(present) == 0 {
		u.Label = LevelLabels[u.Level]
		return u
	}
	// Base level from the differential.
	var acute, selfCare float64
	for _, s := range post {
		d := e.nb.diseases[s.idx]
		if acuteDepartments[d.Department] {
			acute += s.prob
		}
		if selfCareDiseases[d.ID] {
			selfCare += s.prob
		}
	}
	severe := false
	for _, m := range c.mentions {
		// 打鼾很厉害 or 特别怕冷 is a strong complaint, not an acute one;
		// neither is a pain of half a year that gets 更厉害.
		if m.State == nlp.Present && m.Severity == "severe" && !chronicComplaints[m.ID] && m.DurationDays <= 30 {
			severe = true
		}
	}
	mild := allMild(c, present)
	switch {
	case acute >= 0.4 && !mild:
		raise(LevelUrgent, "症状提示可能为急症，建议当天就医")
	case severe:
		raise(LevelUrgent, "症状程度较重，建议尽快就医")
	case (selfCare >= 0.5 || mild) && !c.isChild() && c.tempC < 38.5 && maxDuration(c) <= 7:
		u.Level = LevelSelfCare
		u.Reasons = append(u.Reasons, "症状较轻，可先居家观察；如加重、高热不退或出现新症状请及时就医")
	}
	for _, rf := range e.kg.RedFlags() {
		if trig, ok := c.redFlagFires(&rf); ok {
			u.RedFlags = append(u.RedFlags, RedFlag{ID: rf.ID, Name: rf.Name, Text: trig})
			raise(rf.Urgency, rf.Reason)
		}
	}
	if m := deepWound.FindString(text); m != "" && !negatedBefore(text, strings.Index(text, m)) {
		u.RedFlags = append(u.RedFlags, RedFlag{ID: "deep_wound", Name: "伤口深或需缝合", Text: m})
		raise(LevelUrgent, "伤口较深或需要缝合，请在6–8小时内到医院清创缝合，并评估破伤风预防")
	}
	u.Label = LevelLabels[u.Level]
	return u
}

// mildSymptoms are cold-like complaints an adult can watch at home for a
// few days.
var mildSymptoms = map[string]bool{
	"runny_nose": true, "sneezing": true, "nasal_congestion": true, "sore_throat": true,
	"itchy_throat": true, "dry_cough": true, "cough": true, "malaise": true, "throat_discomfort": true,
	"mouth_ulcer": true,
}

// mildWhenSaid are complaints an adult may watch at home when the patient
// calls them slight (有点, 稍微, 一点): 头有点胀痛, 大便有点干.
var mildWhenSaid = map[string]bool{
	"headache": true, "head_heaviness": true, "constipation": true, "lip_blisters": true,
	"blisters": true, "insect_bite": true, "itchy_papules_insect": true, "mouth_ulcer": true,
	"back_pain": true, "muscle_pain": true, "neck_pain": true, "eye_dryness": true, "fatigue": true,
	"pruritus": true, "dry_skin": true, "bloating_stomach": true, "indigestion": true,
	"dry_mouth": true, "leg_pain": true, "throat_discomfort": true,
}

// chronicComplaints do not make a case urgent however strongly they are
// put (打鼾很厉害, 特别怕冷, 痒得厉害).
var chronicComplaints = map[string]bool{
	"snoring": true, "sleep_apnea": true, "cold_intolerance": true, "cold_limbs": true, "heat_intolerance": true,
	"insomnia": true, "hair_loss": true, "acne": true, "pruritus": true, "dry_skin": true, "tinnitus": true,
	"obesity": true, "halitosis": true, "dry_mouth": true, "dandruff": true, "itchy_scalp": true,
	"premature_ejaculation": true, "erectile_dysfunction": true, "pigmentation": true, "eye_bags": true,
	"dark_circles": true, "weight_gain": true, "memory_loss": true, "frequent_colds": true,
}

func allMild(c *patientCase, present []string) bool {
	said := map[string]bool{}
	for _, m := range c.mentions {
		if m.State == nlp.Present && m.Severity == "mild" {
			said[m.ID] = true
		}
	}
	for _, id := range present {
		if !mildSymptoms[id] && !(mildWhenSaid[id] && said[id]) {
			return false
		}
	}
	return len(present) > 0
}

var deepWound = regexp.MustCompile(`(口子|伤口)` + clause + `{0,4}(深|很大|很长|缝)|缝针|要缝|见骨|露出肉`)

func maxDuration(c *patientCase) float64 {
	var d float64
	for _, m := range c.mentions {
		if m.DurationDays > d {
			d = m.DurationDays
		}
	}
	return d
}

// redFlagFires checks one rule and returns the patient's words that
// triggered it. Missing facts never satisfy a constraint, except that words
// like 宝宝 or 孩子 stand in for an age limit that covers all infants or all
// children, and a fever without a number counts as ≥ 38 ℃.
func (c *patientCase) redFlagFires(rf *knowledge.RedFlag) (string, bool) {
	if len(rf.All) == 0 && len(rf.Any) == 0 {
		return "", false
	}
	trigger := ""
	for _, id := range rf.All {
		if !c.has(id) {
			return "", false
		}
		if trigger == "" {
			trigger = c.spans[id]
		}
	}
	if len(rf.Any) > 0 {
		hit := ""
		for _, id := range rf.Any {
			if c.has(id) {
				hit = c.spans[id]
				break
			}
		}
		if hit == "" {
			return "", false
		}
		if trigger == "" {
			trigger = hit
		} else {
			trigger += "、" + hit
		}
	}
	if rf.AgeMax > 0 {
		switch {
		case c.age >= 0:
			if c.age > rf.AgeMax {
				return "", false
			}
		case rf.AgeMax >= 14 && (c.ageGroup == "infant" || c.ageGroup == "child"):
		case rf.AgeMax >= 1 && c.ageGroup == "infant":
		default:
			return "", false
		}
	}
	if rf.AgeMin > 0 {
		if c.age >= 0 && c.age < rf.AgeMin || c.age < 0 && c.ageGroup != "elderly" {
			return "", false
		}
	}
	if rf.Sex != "" && c.sex != "" && c.sex != rf.Sex {
		return "", false
	}
	if rf.Pregnant && !c.pregnant {
		return "", false
	}
	if rf.TempMin > 0 {
		switch {
		case c.tempC >= rf.TempMin:
			if t := tempText(c.tempC); trigger == "" {
				trigger = t
			} else {
				trigger += "、" + t
			}
		// A reported fever with no number is taken at its word (≥ 38 ℃): a
		// parent who says a 2-month-old 发烧 must not be sent home.
		case c.tempC == 0 && rf.TempMin <= 38 && c.has("fever"):
		default:
			return "", false
		}
	}
	return trigger, true
}

func tempText(t float64) string {
	return trimFloat(t) + "℃"
}
