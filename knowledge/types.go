// Package knowledge holds Fenzhen's medical knowledge graph: departments,
// body parts, symptoms, red flags, checks, drugs and diseases, with the
// relations between them, plus a bleve search index over it.
package knowledge

// Department is one entry of the 《医疗机构诊疗科目名录》 catalogue.
type Department struct {
	Code       string   `yaml:"code" json:"code"`
	Name       string   `yaml:"name" json:"name"`
	ParentCode string   `yaml:"parent_code,omitempty" json:"parent_code,omitempty"`
	Aliases    []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
}

// BodyPart is an anatomical region symptoms can be attached to.
type BodyPart struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Synonyms []string `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
}

// Symptom has one standard name and the colloquial phrasings patients use.
type Symptom struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Synonyms []string `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
	BodyPart string   `yaml:"body_part,omitempty" json:"body_part,omitempty"`
	Question string   `yaml:"question,omitempty" json:"question,omitempty"`
}

// Urgency levels a red flag can force.
const (
	UrgencyEmergency = "emergency"
	UrgencyUrgent    = "urgent"
)

// RedFlag is a pattern of findings that forces at least Urgency. It fires
// only on findings the patient states now (not negated, not history, not
// someone else's, not only asked about), and cites the text of each.
// Zero numeric fields mean "no constraint".
type RedFlag struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	Urgency string   `yaml:"urgency" json:"urgency"`
	Reason  string   `yaml:"reason" json:"reason"`
	All     []string `yaml:"all,omitempty" json:"all,omitempty"`
	Any     []string `yaml:"any,omitempty" json:"any,omitempty"`
	// Groups: one finding of each group must be present (孕期出血 and 腹痛).
	Groups   [][]string `yaml:"groups,omitempty" json:"groups,omitempty"`
	AgeMax   float64    `yaml:"age_max,omitempty" json:"age_max,omitempty"`
	AgeMin   float64    `yaml:"age_min,omitempty" json:"age_min,omitempty"`
	Sex      string     `yaml:"sex,omitempty" json:"sex,omitempty"`
	Pregnant bool       `yaml:"pregnant,omitempty" json:"pregnant,omitempty"`
	TempMin  float64    `yaml:"temp_min,omitempty" json:"temp_min,omitempty"`
	// Vitals: at least one of these measured values must be stated.
	Vitals []VitalCondition `yaml:"vitals,omitempty" json:"vitals,omitempty"`
	// Sudden lists findings of All/Any that must have a sudden onset (突然).
	Sudden []string `yaml:"sudden,omitempty" json:"sudden,omitempty"`
	// NotChild: never for a child (a stated age under 14 or 孩子/宝宝):
	// 三岁孩子说话不清楚 is development, not a stroke.
	NotChild bool `yaml:"not_child,omitempty" json:"not_child,omitempty"`
	// Acute: the findings must not be described as recurring (经常, 有时,
	// 反复): an event that comes and goes over months is not an emergency
	// now.
	Acute bool `yaml:"acute,omitempty" json:"acute,omitempty"`
	// Recent: the findings must be stated as new — a duration within
	// MaxDays, a sudden onset or a first time (第一次) — not merely lack a
	// duration.
	Recent bool `yaml:"recent,omitempty" json:"recent,omitempty"`
	// Severe lists findings that must be stated as severe (喘得厉害).
	Severe []string `yaml:"severe,omitempty" json:"severe,omitempty"`
	// MaxDays: a finding that has lasted longer (as stated) does not count;
	// an emergency picture is new, not months old.
	MaxDays float64 `yaml:"max_days,omitempty" json:"max_days,omitempty"`
	// GestationMin: weeks of pregnancy at least (when the text gives them).
	GestationMin float64 `yaml:"gestation_min,omitempty" json:"gestation_min,omitempty"`
}

// Vital kinds a red flag can test.
var VitalKinds = map[string]string{
	"bp": "收缩压", "bp_diastolic": "舒张压", "glucose": "血糖", "heart_rate": "心率", "spo2": "血氧饱和度", "resp_rate": "呼吸频率",
}

// VitalCondition holds when the stated value is ≥ Min (if set) and ≤ Max
// (if set).
type VitalCondition struct {
	Kind string  `yaml:"kind" json:"kind"`
	Min  float64 `yaml:"min,omitempty" json:"min,omitempty"`
	Max  float64 `yaml:"max,omitempty" json:"max,omitempty"`
}

// Acuity levels of a disease (the urgency it usually needs).
const (
	AcuityEmergency = "emergency"
	AcuityUrgent    = "urgent"
	AcuityRoutine   = "routine"
	AcuitySelfCare  = "self_care"
)

// Check is a lab test or examination.
type Check struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Synonyms []string `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
}

// Severities used by drug safety rules.
const (
	SeverityContraindicated = "contraindicated"
	SeverityCaution         = "caution"
	SeverityInteraction     = "interaction"
)

// Contraindication: Condition is "pregnancy", "child" or a disease id.
type Contraindication struct {
	Condition string  `yaml:"condition" json:"condition"`
	AgeMax    float64 `yaml:"age_max,omitempty" json:"age_max,omitempty"`
	Severity  string  `yaml:"severity" json:"severity"`
	Reason    string  `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// Interaction between two drugs.
type Interaction struct {
	Drug     string `yaml:"drug" json:"drug"`
	Severity string `yaml:"severity" json:"severity"`
	Reason   string `yaml:"reason,omitempty" json:"reason,omitempty"`
}

// Drug with its safety rules.
type Drug struct {
	ID                string             `yaml:"id" json:"id"`
	Name              string             `yaml:"name" json:"name"`
	Synonyms          []string           `yaml:"synonyms,omitempty" json:"synonyms,omitempty"`
	Contraindications []Contraindication `yaml:"contraindications,omitempty" json:"contraindications,omitempty"`
	Interactions      []Interaction      `yaml:"interactions,omitempty" json:"interactions,omitempty"`
}

// Disease and its relations. Symptoms maps a symptom id to how often it
// occurs with the disease (0..1).
type Disease struct {
	ID            string             `yaml:"id" json:"id"`
	Name          string             `yaml:"name" json:"name"`
	Aliases       []string           `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	Department    string             `yaml:"department" json:"department"`
	Departments   []string           `yaml:"departments,omitempty" json:"departments,omitempty"`
	Age           []float64          `yaml:"age,omitempty" json:"age,omitempty"`
	Sex           string             `yaml:"sex,omitempty" json:"sex,omitempty"`
	Prevalence    float64            `yaml:"prevalence,omitempty" json:"prevalence,omitempty"`
	Symptoms      map[string]float64 `yaml:"symptoms,omitempty" json:"symptoms,omitempty"`
	Checks        []string           `yaml:"checks,omitempty" json:"checks,omitempty"`
	Drugs         []string           `yaml:"drugs,omitempty" json:"drugs,omitempty"`
	Complications []string           `yaml:"complications,omitempty" json:"complications,omitempty"`
	RedFlags      []string           `yaml:"red_flags,omitempty" json:"red_flags,omitempty"`
	Description   string             `yaml:"description,omitempty" json:"description,omitempty"`
	// Acuity is how soon a patient with this disease usually needs care
	// (emergency, urgent, routine, self_care); AcuitySource says on what
	// it rests (e.g. 急诊预检分级专家共识 2018, a guideline, 临床常规).
	Acuity       string `yaml:"acuity,omitempty" json:"acuity,omitempty"`
	AcuitySource string `yaml:"acuity_source,omitempty" json:"acuity_source,omitempty"`
}

// AgeRange returns the typical age range, defaulting to all ages.
func (d *Disease) AgeRange() (lo, hi float64) {
	if len(d.Age) == 2 {
		return d.Age[0], d.Age[1]
	}
	return 0, 120
}

// Bundle is the single-file form of a KG, used for imported graphs
// (`fenzhen kg import --out`, `fenzhen serve --kg`).
type Bundle struct {
	Version     int          `yaml:"version" json:"version"`
	Departments []Department `yaml:"departments" json:"departments"`
	BodyParts   []BodyPart   `yaml:"body_parts" json:"body_parts"`
	Symptoms    []Symptom    `yaml:"symptoms" json:"symptoms"`
	RedFlags    []RedFlag    `yaml:"red_flags" json:"red_flags"`
	Checks      []Check      `yaml:"checks" json:"checks"`
	Drugs       []Drug       `yaml:"drugs" json:"drugs"`
	Diseases    []Disease    `yaml:"diseases" json:"diseases"`
}

// BundleVersion is the current Bundle format version.
const BundleVersion = 1
