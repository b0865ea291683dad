package triage

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/knowledge"
)

// MedicationRequest is the body of POST /v1/medication/check.
type MedicationRequest struct {
	Drugs      []string `json:"drugs"`
	Conditions []string `json:"conditions,omitempty"`
	Age        *float64 `json:"age,omitempty"`
	Sex        string   `json:"sex,omitempty"`
	Pregnant   bool     `json:"pregnant,omitempty"`
}

// MedicationWarning is one safety finding. With names the other drug of
// an interaction.
type MedicationWarning struct {
	Drug     string `json:"drug"`
	With     string `json:"with,omitempty"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// MedicationResponse is the 200 body of POST /v1/medication/check.
type MedicationResponse struct {
	RequestID    string              `json:"request_id"`
	Warnings     []MedicationWarning `json:"warnings"`
	UnknownDrugs []string            `json:"unknown_drugs"`
	// UnknownConditions are conditions not found in the knowledge graph;
	// they were not checked.
	UnknownConditions []string `json:"unknown_conditions"`
	Disclaimer        string   `json:"disclaimer"`
}

// Limits of a MedicationRequest.
const (
	MaxDrugs      = 50
	MaxConditions = 50
	maxNameRunes  = 100
	// childAge applies to a "child" contraindication without age_max.
	childAge = 14
)

var severityRank = map[string]int{knowledge.SeverityContraindicated: 0, knowledge.SeverityCaution: 1, knowledge.SeverityInteraction: 2}

// pregnancyWords as a condition mean the patient is pregnant.
var pregnancyWords = map[string]bool{"怀孕": true, "妊娠": true, "孕期": true, "孕妇": true, "pregnancy": true, "妊娠期": true}

// CheckMedication reports contraindications (by pregnancy, age and the
// patient's conditions), interactions between the listed drugs and the
// same drug listed twice under different names.
func CheckMedication(kg *knowledge.KG, req MedicationRequest) (*MedicationResponse, error) {
	if len(req.Drugs) == 0 {
		return nil, invalid("drugs", "drugs must list at least one drug")
	}
	if len(req.Drugs) > MaxDrugs {
		return nil, invalid("drugs", "at most %d drugs", MaxDrugs)
	}
	if len(req.Conditions) > MaxConditions {
		return nil, invalid("conditions", "at most %d conditions", MaxConditions)
	}
	for i, d := range req.Drugs {
		if strings.TrimSpace(d) == "" || utf8.RuneCountInString(d) > maxNameRunes {
			return nil, invalid("drugs", "drugs[%d] must be 1–%d characters", i, maxNameRunes)
		}
	}
	for i, c := range req.Conditions {
		if utf8.RuneCountInString(c) > maxNameRunes {
			return nil, invalid("conditions", "conditions[%d] must be at most %d characters", i, maxNameRunes)
		}
	}
	if req.Age != nil && (math.IsNaN(*req.Age) || *req.Age < 0 || *req.Age > MaxAge) {
		return nil, invalid("age", "age must be between 0 and %d years", MaxAge)
	}
	if req.Sex != "" && req.Sex != "male" && req.Sex != "female" {
		return nil, invalid("sex", "sex must be male or female")
	}
	resp := &MedicationResponse{Warnings: []MedicationWarning{}, UnknownDrugs: []string{}, UnknownConditions: []string{}, Disclaimer: Disclaimer}
	pregnant := req.Pregnant
	conds := map[string]bool{}
	for _, c := range req.Conditions {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case pregnancyWords[c]:
			pregnant = true
		default:
			if d, ok := kg.Disease(c); ok {
				conds[d.ID] = true
			} else if d, ok := kg.DiseaseByName(c); ok {
				conds[d.ID] = true
			} else {
				resp.UnknownConditions = append(resp.UnknownConditions, c)
			}
		}
	}
	if pregnant && req.Sex == "male" {
		return nil, invalid("pregnant", "pregnant is set for a male patient")
	}
	type known struct {
		name string
		drug *knowledge.Drug
	}
	var drugs []known
	seen := map[string]string{} // drug id → first name given
	for _, name := range req.Drugs {
		d, ok := kg.Drug(strings.TrimSpace(name))
		if !ok {
			resp.UnknownDrugs = append(resp.UnknownDrugs, name)
			continue
		}
		if first, dup := seen[d.ID]; dup {
			resp.Warnings = append(resp.Warnings, MedicationWarning{Drug: name, With: first, Severity: knowledge.SeverityCaution,
				Reason: "与" + first + "为同一药物（" + d.Name + "），重复使用可致过量"})
			continue
		}
		seen[d.ID] = name
		drugs = append(drugs, known{name, d})
	}
	for _, k := range drugs {
		for _, c := range k.drug.Contraindications {
			hit := false
			switch c.Condition {
			case "pregnancy":
				hit = pregnant
			case "child":
				limit := c.AgeMax
				if limit <= 0 {
					limit = childAge
				}
				hit = req.Age != nil && *req.Age < limit
			default:
				hit = conds[c.Condition]
			}
			if hit {
				resp.Warnings = append(resp.Warnings, MedicationWarning{Drug: k.name, Severity: c.Severity, Reason: reasonOr(c.Reason, k.drug.Name+"存在禁忌或慎用情况")})
			}
		}
	}
	// Interactions: each pair once, whichever side lists it.
	for i := range drugs {
		for j := i + 1; j < len(drugs); j++ {
			a, b := drugs[i], drugs[j]
			if in, ok := interaction(a.drug, b.drug); ok {
				resp.Warnings = append(resp.Warnings, MedicationWarning{Drug: a.name, With: b.name, Severity: in.Severity,
					Reason: reasonOr(in.Reason, a.drug.Name+"与"+b.drug.Name+"存在相互作用")})
			} else if in, ok := interaction(b.drug, a.drug); ok {
				resp.Warnings = append(resp.Warnings, MedicationWarning{Drug: a.name, With: b.name, Severity: in.Severity,
					Reason: reasonOr(in.Reason, a.drug.Name+"与"+b.drug.Name+"存在相互作用")})
			}
		}
	}
	sort.SliceStable(resp.Warnings, func(i, j int) bool {
		return severityRank[resp.Warnings[i].Severity] < severityRank[resp.Warnings[j].Severity]
	})
	return resp, nil
}

func interaction(a, b *knowledge.Drug) (knowledge.Interaction, bool) {
	for _, in := range a.Interactions {
		if in.Drug == b.ID || in.Drug == b.Name {
			if in.Severity == "" {
				in.Severity = knowledge.SeverityInteraction
			}
			return in, true
		}
	}
	return knowledge.Interaction{}, false
}

func reasonOr(r, def string) string {
	if r != "" {
		return r
	}
	return def
}
