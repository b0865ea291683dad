package triage

import (
	"sort"
	"strconv"
	"strings"
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
	"04.07": true, "04.08": true, "04.09": true, "20": true, "28": true, "05.02": true,
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

// rankDepartments blends the KG's department distribution with the
// classifier's, applies age and sex routing, and puts 急诊医学科 first for
// emergencies. maleMass is, per department, the share of KG probability
// coming from male-only diseases (04.04 is then shown as 男科).
func (e *Engine) rankDepartments(c *patientCase, post []scored, model map[string]float64, level string) []Department {
	kgDist := map[string]float64{}
	maleMass := map[string]float64{}
	for _, s := range post {
		d := e.nb.diseases[s.idx]
		share := s.prob
		if len(d.Departments) > 0 {
			share = 0.8 * s.prob
			rest := 0.2 * s.prob / float64(len(d.Departments))
			for _, o := range d.Departments {
				kgDist[o] += rest
			}
		}
		kgDist[d.Department] += share
		if d.Sex == "male" {
			maleMass[d.Department] += share
		}
	}
	dist := kgDist
	if len(kgDist) == 0 {
		dist = model
	} else if len(model) > 0 {
		w := e.opts.ModelWeight
		dist = map[string]float64{}
		for k, p := range kgDist {
			dist[k] += (1 - w) * p
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
		if !c.pregnant && code == "05.02" && c.sex != "female" {
			continue
		}
		routed[routeForAge(code, c)] += p
	}
	if level == LevelEmergency && len(routed) > 0 {
		for k := range routed {
			routed[k] *= 0.5
		}
		routed[emergencyCode] += 0.5
	}
	var sum float64
	for _, p := range routed {
		sum += p
	}
	out := make([]Department, 0, len(routed))
	for code, p := range routed {
		if p <= 0 {
			continue
		}
		dep := Department{Code: code, Name: code, Probability: round4(p / sum)}
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

func round4(p float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(p, 'f', 4, 64), 64)
	return v
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
