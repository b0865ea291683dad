package knowledge

import (
	"errors"
	"fmt"
	"slices"
)

// maxProblems caps how many integrity problems one error lists.
const maxProblems = 50

// ValidationError lists every integrity problem of a KG, each as
// "file: kind id: field: problem".
type ValidationError struct {
	Problems []error
}

func (e *ValidationError) Error() string {
	errs := e.Problems
	if len(errs) > maxProblems {
		errs = append(errs[:maxProblems:maxProblems], fmt.Errorf("… and %d more problems", len(e.Problems)-maxProblems))
	}
	return fmt.Sprintf("invalid KG (%d problems): %v", len(e.Problems), errors.Join(errs...))
}

// Validate checks ids, enums and referential integrity; the error is a
// *ValidationError.
func (g *KG) Validate() error {
	v := validator{g: g}
	v.run()
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

type validator struct {
	g        *KG
	problems []error
}

func (v *validator) addf(kind, id, field, format string, args ...any) {
	file := v.g.src[kind+"/"+id]
	if file == "" {
		file = v.g.src["*"]
	}
	v.problems = append(v.problems, fmt.Errorf("%s: %s %q: %s: %s", file, kind, id, field, fmt.Sprintf(format, args...)))
}

func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validSex(s string) bool { return s == "" || s == "male" || s == "female" }

func (v *validator) ids(kind string, n int, get func(int) (id, name string)) {
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		id, name := get(i)
		if !validID(id) {
			v.addf(kind, id, "id", "must be lowercase ASCII snake_case")
		}
		if seen[id] {
			v.addf(kind, id, "id", "duplicate")
		}
		seen[id] = true
		if name == "" {
			v.addf(kind, id, "name", "must not be empty")
		}
	}
}

func (v *validator) run() {
	g := v.g
	codes := map[string]bool{}
	for _, d := range g.departments {
		if d.Code == "" {
			v.addf("department", d.Name, "code", "must not be empty")
		} else if codes[d.Code] {
			v.addf("department", d.Code, "code", "duplicate")
		}
		codes[d.Code] = true
		if d.Name == "" {
			v.addf("department", d.Code, "name", "must not be empty")
		}
	}
	for _, d := range g.departments {
		if d.ParentCode != "" && !codes[d.ParentCode] {
			v.addf("department", d.Code, "parent_code", "unknown department %q", d.ParentCode)
		}
	}
	v.ids("body_part", len(g.bodyParts), func(i int) (string, string) { return g.bodyParts[i].ID, g.bodyParts[i].Name })
	v.ids("symptom", len(g.symptoms), func(i int) (string, string) { return g.symptoms[i].ID, g.symptoms[i].Name })
	v.ids("red_flag", len(g.redFlags), func(i int) (string, string) { return g.redFlags[i].ID, g.redFlags[i].Name })
	v.ids("check", len(g.checks), func(i int) (string, string) { return g.checks[i].ID, g.checks[i].Name })
	v.ids("drug", len(g.drugs), func(i int) (string, string) { return g.drugs[i].ID, g.drugs[i].Name })
	v.ids("disease", len(g.diseases), func(i int) (string, string) { return g.diseases[i].ID, g.diseases[i].Name })

	for _, s := range g.symptoms {
		if s.BodyPart != "" {
			if _, ok := g.bodyByID[s.BodyPart]; !ok {
				v.addf("symptom", s.ID, "body_part", "unknown body part %q", s.BodyPart)
			}
		}
	}
	for _, r := range g.redFlags {
		if r.Urgency != UrgencyEmergency && r.Urgency != UrgencyUrgent {
			v.addf("red_flag", r.ID, "urgency", "must be emergency or urgent, got %q", r.Urgency)
		}
		if r.Reason == "" {
			v.addf("red_flag", r.ID, "reason", "must not be empty")
		}
		for _, s := range r.All {
			v.symptomRef("red_flag", r.ID, "all", s)
		}
		for _, s := range r.Any {
			v.symptomRef("red_flag", r.ID, "any", s)
		}
		for _, g := range r.Groups {
			if len(g) == 0 {
				v.addf("red_flag", r.ID, "groups", "empty group")
			}
			for _, s := range g {
				v.symptomRef("red_flag", r.ID, "groups", s)
			}
		}
		if !validSex(r.Sex) {
			v.addf("red_flag", r.ID, "sex", "must be male, female or empty, got %q", r.Sex)
		}
		if r.AgeMin < 0 || r.AgeMax < 0 || (r.AgeMax > 0 && r.AgeMin > r.AgeMax) {
			v.addf("red_flag", r.ID, "age_min/age_max", "bad range [%g, %g]", r.AgeMin, r.AgeMax)
		}
		if len(r.All) == 0 && len(r.Any) == 0 && len(r.Groups) == 0 && r.TempMin == 0 && len(r.Vitals) == 0 {
			v.addf("red_flag", r.ID, "all/any", "a red flag needs symptoms, temp_min or vitals")
		}
		for _, vc := range r.Vitals {
			if _, ok := VitalKinds[vc.Kind]; !ok {
				v.addf("red_flag", r.ID, "vitals.kind", "unknown vital %q", vc.Kind)
			}
			if vc.Min == 0 && vc.Max == 0 || vc.Max != 0 && vc.Min > vc.Max {
				v.addf("red_flag", r.ID, "vitals", "%s needs min and/or max with min ≤ max", vc.Kind)
			}
		}
		for _, s := range append(append([]string{}, r.Sudden...), r.Severe...) {
			if !slices.Contains(r.All, s) && !slices.Contains(r.Any, s) && !slices.ContainsFunc(r.Groups, func(g []string) bool { return slices.Contains(g, s) }) {
				v.addf("red_flag", r.ID, "sudden", "%q is not in all or any", s)
			}
		}
		if r.MaxDays < 0 || r.GestationMin < 0 || r.GestationMin > 45 {
			v.addf("red_flag", r.ID, "max_days/gestation_min", "out of range")
		}
	}
	for _, d := range g.drugs {
		for _, c := range d.Contraindications {
			if c.Condition != "pregnancy" && c.Condition != "child" {
				if _, ok := g.disByID[c.Condition]; !ok {
					v.addf("drug", d.ID, "contraindications.condition", "unknown condition %q (pregnancy, child or a disease id)", c.Condition)
				}
			}
			if c.Severity != SeverityContraindicated && c.Severity != SeverityCaution {
				v.addf("drug", d.ID, "contraindications.severity", "must be contraindicated or caution, got %q", c.Severity)
			}
		}
		for _, it := range d.Interactions {
			if _, ok := g.drugByID[it.Drug]; !ok {
				v.addf("drug", d.ID, "interactions.drug", "unknown drug %q", it.Drug)
			}
			switch it.Severity {
			case SeverityInteraction, SeverityCaution, SeverityContraindicated:
			default:
				v.addf("drug", d.ID, "interactions.severity", "must be interaction, caution or contraindicated, got %q", it.Severity)
			}
		}
	}
	for _, d := range g.diseases {
		if _, ok := g.deptByCode[d.Department]; !ok {
			v.addf("disease", d.ID, "department", "unknown department code %q", d.Department)
		}
		for _, c := range d.Departments {
			if _, ok := g.deptByCode[c]; !ok {
				v.addf("disease", d.ID, "departments", "unknown department code %q", c)
			}
		}
		if len(d.Age) != 0 && (len(d.Age) != 2 || d.Age[0] < 0 || d.Age[0] > d.Age[1] || d.Age[1] > 130) {
			v.addf("disease", d.ID, "age", "want [min, max] within 0..130, got %v", d.Age)
		}
		if !validSex(d.Sex) {
			v.addf("disease", d.ID, "sex", "must be male, female or empty, got %q", d.Sex)
		}
		if d.Prevalence < 0 {
			v.addf("disease", d.ID, "prevalence", "must not be negative")
		}
		switch d.Acuity {
		case "", AcuityEmergency, AcuityUrgent, AcuityRoutine, AcuitySelfCare:
		default:
			v.addf("disease", d.ID, "acuity", "must be emergency, urgent, routine or self_care, got %q", d.Acuity)
		}
		if d.Acuity != "" && d.AcuitySource == "" {
			v.addf("disease", d.ID, "acuity_source", "an acuity needs its source")
		}
		if len(d.Symptoms) == 0 {
			v.addf("disease", d.ID, "symptoms", "must list at least one symptom")
		}
		for _, s := range sortedKeys(d.Symptoms) {
			v.symptomRef("disease", d.ID, "symptoms", s)
			if f := d.Symptoms[s]; f <= 0 || f > 1 {
				v.addf("disease", d.ID, "symptoms."+s, "frequency must be in (0, 1], got %g", f)
			}
		}
		for _, c := range d.Checks {
			if _, ok := g.checkByID[c]; !ok {
				v.addf("disease", d.ID, "checks", "unknown check %q", c)
			}
		}
		for _, c := range d.Drugs {
			if _, ok := g.drugByID[c]; !ok {
				v.addf("disease", d.ID, "drugs", "unknown drug %q", c)
			}
		}
		for _, c := range d.Complications {
			if _, ok := g.disByID[c]; !ok {
				v.addf("disease", d.ID, "complications", "unknown disease %q", c)
			}
		}
		for _, r := range d.RedFlags {
			_, isFlag := g.rfByID[r]
			_, isSym := g.symByID[r]
			if !isFlag && !isSym {
				v.addf("disease", d.ID, "red_flags", "unknown red flag or symptom %q", r)
			}
		}
	}
	v.aliases()
}

// nonMedicalCategories are the section names of health web sites and
// consultation platforms (the labels of their data sets) that name no
// department and no disease. Data mapped through an alias like these would
// send a question about, say, how to wash a pillow to 全科医疗科.
var nonMedicalCategories = map[string]bool{
	"家居健康": true, "生活百科": true, "健康百科": true, "百科": true, "生活": true, "家居": true,
	"健康资讯": true, "健康常识": true, "健康知识": true, "养生": true, "养生保健": true, "美食": true,
	"情感": true, "两性": true, "育儿": true, "减肥": true, "不详": true, "未知": true, "未分类": true,
}

// distinctDiagnoses are diagnoses of their own that the KG has no disease
// for and that are easily filed as a name of another disease. They may be
// no disease's alias: add the disease instead.
var distinctDiagnoses = map[string]string{
	"不稳定型心绞痛": "unstable angina, an acute coronary syndrome without myocardial necrosis",
}

// aliases checks the alternative names of departments and diseases: none
// may be a web site's category, a distinct diagnosis, another disease's
// name, or an alias of two departments or two diseases (which one would a
// text mean?).
func (v *validator) aliases() {
	g := v.g
	deptNames := map[string]string{}
	for _, d := range g.departments {
		if _, dup := deptNames[Normalize(d.Name)]; !dup {
			deptNames[Normalize(d.Name)] = d.Code
		}
	}
	deptAlias := map[string]string{}
	for _, d := range g.departments {
		for _, a := range d.Aliases {
			n := Normalize(a)
			switch {
			case nonMedicalCategories[n]:
				v.addf("department", d.Code, "aliases", "%q is a web site's category, not a department", a)
			case deptNames[n] != "" && deptNames[n] != d.Code:
				v.addf("department", d.Code, "aliases", "%q is the name of department %q", a, deptNames[n])
			case deptAlias[n] != "" && deptAlias[n] != d.Code:
				v.addf("department", d.Code, "aliases", "%q is also an alias of department %q", a, deptAlias[n])
			}
			if deptAlias[n] == "" {
				deptAlias[n] = d.Code
			}
		}
	}
	disNames := map[string]string{}
	for _, d := range g.diseases {
		if _, dup := disNames[Normalize(d.Name)]; !dup {
			disNames[Normalize(d.Name)] = d.ID
		}
	}
	disAlias := map[string]string{}
	for _, d := range g.diseases {
		for _, a := range d.Aliases {
			n := Normalize(a)
			switch {
			case nonMedicalCategories[n]:
				v.addf("disease", d.ID, "aliases", "%q is a web site's category, not a disease", a)
			case distinctDiagnoses[n] != "":
				v.addf("disease", d.ID, "aliases", "%q is a diagnosis of its own (%s), not another name of %s", a, distinctDiagnoses[n], d.Name)
			case disNames[n] != "" && disNames[n] != d.ID:
				v.addf("disease", d.ID, "aliases", "%q is the name of disease %q", a, disNames[n])
			case disAlias[n] != "" && disAlias[n] != d.ID:
				v.addf("disease", d.ID, "aliases", "%q is also an alias of disease %q", a, disAlias[n])
			}
			if disAlias[n] == "" {
				disAlias[n] = d.ID
			}
		}
	}
}

func (v *validator) symptomRef(kind, id, field, sym string) {
	if _, ok := v.g.symByID[sym]; !ok {
		v.addf(kind, id, field, "unknown symptom %q", sym)
	}
}
