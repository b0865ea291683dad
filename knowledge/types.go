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

// RedFlag is a pattern of findings that forces at least Urgency.
// Zero numeric fields mean "no constraint".
type RedFlag struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Urgency  string   `yaml:"urgency" json:"urgency"`
	Reason   string   `yaml:"reason" json:"reason"`
	All      []string `yaml:"all,omitempty" json:"all,omitempty"`
	Any      []string `yaml:"any,omitempty" json:"any,omitempty"`
	AgeMax   float64  `yaml:"age_max,omitempty" json:"age_max,omitempty"`
	AgeMin   float64  `yaml:"age_min,omitempty" json:"age_min,omitempty"`
	Sex      string   `yaml:"sex,omitempty" json:"sex,omitempty"`
	Pregnant bool     `yaml:"pregnant,omitempty" json:"pregnant,omitempty"`
	TempMin  float64  `yaml:"temp_min,omitempty" json:"temp_min,omitempty"`
}

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
