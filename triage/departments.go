package triage

import (
	"sort"
	"strconv"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
)

// Emergency department code.
const emergencyCode = "20"

// childCode maps an adult department to where a child under 14 is seen.
// Departments absent from the map and not in childExempt go to 07 儿科.
var childCode = map[string]string{
	"03.01": "07.04", "03.02": "07.03", "03.03": "07.08", "03.04": "07.05",
	"03.05": "07.07", "03.06": "07.06", "03.07": "07.09", "03.08": "07.11",
	"03.09": "07.11", "16": "07.02", "17": "07.02",
	"04.01": "08.01", "04.03": "08.02", "04.04": "08.03", "04.05": "08.04",
	"04.06": "08.04", "04.02": "08.05",
}

// childExempt: complaints children take to the same clinic as adults
// (eyes, ENT, teeth, skin, burns and trauma, mental health, emergency).
var childExempt = map[string]bool{
	"10": true, "11": true, "12": true, "13": true, "14": true, "15": true,
	"04.07": true, "04.08": true, "04.09": true, "20": true, "28": true, "05.02": true, "22": true,
}

// adultCode maps paediatric departments back for patients known to be adults.
var adultCode = map[string]string{
	"07": "03", "07.01": "03", "07.02": "16", "07.03": "03.02", "07.04": "03.01",
	"07.05": "03.04", "07.06": "03.06", "07.07": "03.05", "07.08": "03.03",
	"07.09": "03.07", "07.10": "03.11", "07.11": "03.08", "07.12": "03",
	"08": "04", "08.01": "04.01", "08.02": "04.03", "08.03": "04.04", "08.04": "04.05",
	"08.05": "04.02", "08.06": "04.09", "09": "02",
}

func routeForAge(code string, c *patientCase) string {
	switch {
	case c.isChild():
		if strings.HasPrefix(code, "07") || strings.HasPrefix(code, "08") || code == "09" || childExempt[code] {
			return code
		}
		if k, ok := childCode[code]; ok {
			return k
		}
		return "07"
	case c.age >= 14 || c.age < 0:
		// Without an age or a child cue the patient is taken for an adult.
		if a, ok := adultCode[code]; ok {
			return a
		}
	}
	return code
}

func womenOnly(code string) bool {
	return code == "05" || strings.HasPrefix(code, "05.") || code == "06"
}

// Routing weights (tuned on the validation parts of the real sets, never
// on their test parts; see models/triage/MODEL_CARD.md).
const (
	// namedWeight: a disease the patient names (乙肝, 肾病综合征) counts as
	// much as this share of the KG evidence beside the symptom posterior.
	namedWeight = 0.6
	// usedForWeight: the drugs taken and checks done (二甲双胍, 甲胎蛋白)
	// spread over the KG diseases that list them; weaker than a named
	// disease because one drug or check serves several.
	usedForWeight = 0.3
	// subMin: a sub-department below this probability gives way to its
	// parent when the parent's family holds at least parentMin (内科 rather
	// than a wrong 消化内科).
	subMin    = 0.30
	parentMin = 0.55
)

// rankDepartments routes on every signal the case holds: the KG's
// department distribution from the symptom posterior and from the diseases
// the patient names, blended with the classifier trained on real
// consultations; then age and sex routing, a parent department when no
// sub-department is clear, and 急诊医学科 first for emergencies. maleMass
// is, per department, the share of KG probability coming from male-only
// diseases (04.04 is then shown as 男科).
func (e *Engine) rankDepartments(c *patientCase, post []scored, model map[string]float64, level string) []Department {
	kgDist := map[string]float64{}
	maleMass := map[string]float64{}
	spread := func(d *knowledge.Disease, p float64) {
		share := p
		if len(d.Departments) > 0 {
			share = 0.8 * p
			rest := 0.2 * p / float64(len(d.Departments))
			for _, o := range d.Departments {
				kgDist[o] += rest
			}
		}
		kgDist[d.Department] += share
		if d.Sex == "male" {
			maleMass[d.Department] += share
		}
	}
	var symMass float64
	for _, s := range post {
		spread(e.nb.diseases[s.idx], s.prob)
		symMass += s.prob
	}
	named := e.namedDiseases(c)
	if len(named) > 0 {
		w := namedWeight
		if symMass == 0 {
			w = 1
		}
		for _, d := range named {
			spread(d, w/float64(len(named)))
		}
	}
	if used := e.usedFor(c); len(used) > 0 {
		w := usedForWeight
		if symMass == 0 && len(named) == 0 {
			w = 1
		}
		for _, u := range used {
			spread(u.d, w*u.p)
		}
	}
	dist := kgDist
	switch {
	case len(kgDist) == 0:
		dist = model
	case len(model) > 0:
		w := e.opts.ModelWeight
		var kgSum float64
		for _, p := range kgDist {
			kgSum += p
		}
		dist = map[string]float64{}
		for k, p := range kgDist {
			dist[k] += (1 - w) * p / kgSum
		}
		for k, p := range model {
			dist[k] += w * p
		}
	}
	routed := map[string]float64{}
	for code, p := range dist {
		if c.sex == "male" && womenOnly(code) {
			continue
		}
		if !c.pregnant && code == "05.02" && c.sex == "male" {
			continue
		}
		routed[routeForAge(code, c)] += p
	}
	var sum float64
	for _, p := range routed {
		sum += p
	}
	if sum <= 0 {
		return []Department{}
	}
	for k := range routed {
		routed[k] /= sum
	}
	e.preferParent(routed)
	if level == LevelEmergency && len(routed) > 0 {
		for k := range routed {
			routed[k] *= 0.5
		}
		routed[emergencyCode] += 0.5
	}
	out := make([]Department, 0, len(routed))
	for code, p := range routed {
		if p <= 0 {
			continue
		}
		dep := Department{Code: code, Name: code, Probability: round4(p)}
		if kd, ok := e.kg.Department(code); ok {
			dep.Name, dep.ParentCode = kd.Name, kd.ParentCode
			if dep.Name == "其他" && kd.ParentCode != "" {
				if parent, ok := e.kg.Department(kd.ParentCode); ok {
					dep.Name = parent.Name + "（其他）"
				}
			}
		}
		if code == "04.04" && c.sex != "female" && maleMass["04.04"] > kgDist["04.04"]/2 {
			dep.Name = "男科"
		}
		out = append(out, dep)
	}
	sort.Slice(out, func(i, j int) bool {
		if level == LevelEmergency && (out[i].Code == emergencyCode) != (out[j].Code == emergencyCode) {
			return out[i].Code == emergencyCode
		}
		if out[i].Probability != out[j].Probability {
			return out[i].Probability > out[j].Probability
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// namedDiseases are the KG diseases the text names for the patient (有糖尿病,
// 乙肝携带, 会不会是甲亢): current, past or asked about, not someone else's
// and not denied.
func (e *Engine) namedDiseases(c *patientCase) []*knowledge.Disease {
	var out []*knowledge.Disease
	seen := map[string]bool{}
	for _, t := range c.extraction.Diseases {
		if t.State != StatePresent || t.Context == nlp.CtxOther || seen[t.ID] {
			continue
		}
		if d, ok := e.kg.Disease(t.ID); ok {
			seen[t.ID] = true
			out = append(out, d)
		}
	}
	return out
}

type diseaseShare struct {
	d *knowledge.Disease
	p float64
}

// usedFor spreads each drug the patient takes or asks about, and each
// check mentioned, evenly over the KG diseases listing it; the shares sum
// to 1. A drug or check no disease lists adds nothing.
func (e *Engine) usedFor(c *patientCase) []diseaseShare {
	var mentions []string
	for _, list := range [][]nlp.Term{c.extraction.Drugs, c.extraction.Checks} {
		for _, t := range list {
			if t.State == StatePresent && t.Context != nlp.CtxOther {
				mentions = append(mentions, t.ID)
			}
		}
	}
	share := map[string]float64{}
	n := 0
	for _, id := range mentions {
		ds := e.kg.DiseasesUsing(id)
		if len(ds) == 0 {
			continue
		}
		n++
		for _, d := range ds {
			share[d] += 1 / float64(len(ds))
		}
	}
	out := make([]diseaseShare, 0, len(share))
	for id, p := range share {
		if d, ok := e.kg.Disease(id); ok {
			out = append(out, diseaseShare{d, p / float64(n)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].d.ID < out[j].d.ID })
	return out
}

// preferParent puts the parent first when the leading sub-department is
// unclear: 消化 0.25, 心血管 0.2, 呼吸 0.15 is 内科 0.6, not a 25 % guess at
// 消化内科. The parent's probability is its family's (it subsumes them);
// the sub-departments stay listed after it as the likelier clinics.
func (e *Engine) preferParent(routed map[string]float64) {
	top, topP := "", 0.0
	for code, p := range routed {
		if p > topP || p == topP && code < top {
			top, topP = code, p
		}
	}
	d, ok := e.kg.Department(top)
	if !ok || d.ParentCode == "" || topP >= subMin {
		return
	}
	fam := routed[d.ParentCode]
	for code, p := range routed {
		if k, ok := e.kg.Department(code); ok && k.ParentCode == d.ParentCode {
			fam += p
		}
	}
	if fam < parentMin {
		return
	}
	routed[d.ParentCode] = fam
}

func round4(p float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(p, 'f', 4, 64), 64)
	return v
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
