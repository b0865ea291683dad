package knowledge

import (
	"sort"
	"strings"
	"unicode"
)

// KG is a loaded knowledge graph. It is read-only after loading and safe
// for concurrent use.
type KG struct {
	departments []Department
	bodyParts   []BodyPart
	symptoms    []Symptom
	redFlags    []RedFlag
	checks      []Check
	drugs       []Drug
	diseases    []Disease

	// src records which file each item came from, keyed "kind/id", so
	// validation errors can name it.
	src map[string]string

	deptByCode  map[string]int
	deptByAlias map[string]int
	bodyByID    map[string]int
	symByID     map[string]int
	symByName   map[string]int
	rfByID      map[string]int
	checkByID   map[string]int
	checkByName map[string]int
	drugByID    map[string]int
	drugByName  map[string]int
	disByID     map[string]int
	disByName   map[string]int
	disBySym    map[string][]int
	// disByUse maps a drug or check id to the diseases listing it.
	disByUse map[string][]string
}

// Stats counts the items of a KG.
type Stats struct {
	Departments    int `json:"departments"`
	BodyParts      int `json:"body_parts"`
	Symptoms       int `json:"symptoms"`
	SymptomSynonym int `json:"symptom_synonyms"`
	RedFlags       int `json:"red_flags"`
	Checks         int `json:"checks"`
	Drugs          int `json:"drugs"`
	Diseases       int `json:"diseases"`
	DiseaseSymptom int `json:"disease_symptom_links"`
}

// Stats returns item counts.
func (g *KG) Stats() Stats {
	s := Stats{
		Departments: len(g.departments), BodyParts: len(g.bodyParts),
		Symptoms: len(g.symptoms), RedFlags: len(g.redFlags), Checks: len(g.checks),
		Drugs: len(g.drugs), Diseases: len(g.diseases),
	}
	for i := range g.symptoms {
		s.SymptomSynonym += len(g.symptoms[i].Synonyms)
	}
	for i := range g.diseases {
		s.DiseaseSymptom += len(g.diseases[i].Symptoms)
	}
	return s
}

// Normalize folds a term for dictionary lookups: trims space, maps
// full-width ASCII to half-width and lowercases.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		} else if r == 0x3000 {
			r = ' '
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// build fills the lookup maps. Later duplicates never override earlier
// entries; Validate reports them.
func (g *KG) build() {
	put := func(m map[string]int, key string, i int) {
		key = Normalize(key)
		if key == "" {
			return
		}
		if _, ok := m[key]; !ok {
			m[key] = i
		}
	}
	g.deptByCode = make(map[string]int, len(g.departments))
	g.deptByAlias = make(map[string]int, len(g.departments)*3)
	for i, d := range g.departments {
		put(g.deptByCode, d.Code, i)
		put(g.deptByAlias, d.Name, i)
	}
	// Aliases after all names so an alias never shadows an official name.
	for i, d := range g.departments {
		for _, a := range d.Aliases {
			put(g.deptByAlias, a, i)
		}
	}
	g.bodyByID = make(map[string]int, len(g.bodyParts))
	for i, b := range g.bodyParts {
		put(g.bodyByID, b.ID, i)
	}
	g.symByID = make(map[string]int, len(g.symptoms))
	g.symByName = make(map[string]int, len(g.symptoms)*4)
	for i, s := range g.symptoms {
		put(g.symByID, s.ID, i)
		put(g.symByName, s.Name, i)
	}
	for i, s := range g.symptoms {
		for _, syn := range s.Synonyms {
			put(g.symByName, syn, i)
		}
	}
	g.rfByID = make(map[string]int, len(g.redFlags))
	for i, r := range g.redFlags {
		put(g.rfByID, r.ID, i)
	}
	g.checkByID = make(map[string]int, len(g.checks))
	g.checkByName = make(map[string]int, len(g.checks)*2)
	for i, c := range g.checks {
		put(g.checkByID, c.ID, i)
		put(g.checkByName, c.Name, i)
	}
	for i, c := range g.checks {
		for _, syn := range c.Synonyms {
			put(g.checkByName, syn, i)
		}
	}
	g.drugByID = make(map[string]int, len(g.drugs))
	g.drugByName = make(map[string]int, len(g.drugs)*2)
	for i, d := range g.drugs {
		put(g.drugByID, d.ID, i)
		put(g.drugByName, d.Name, i)
	}
	for i, d := range g.drugs {
		for _, syn := range d.Synonyms {
			put(g.drugByName, syn, i)
		}
	}
	g.disByID = make(map[string]int, len(g.diseases))
	g.disByName = make(map[string]int, len(g.diseases)*2)
	g.disBySym = make(map[string][]int, len(g.symptoms))
	g.disByUse = map[string][]string{}
	for i, d := range g.diseases {
		for _, u := range append(append([]string(nil), d.Drugs...), d.Checks...) {
			g.disByUse[u] = append(g.disByUse[u], d.ID)
		}
		put(g.disByID, d.ID, i)
		put(g.disByName, d.Name, i)
		for _, s := range sortedKeys(d.Symptoms) {
			g.disBySym[s] = append(g.disBySym[s], i)
		}
	}
	for i, d := range g.diseases {
		for _, a := range d.Aliases {
			put(g.disByName, a, i)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Departments returns the catalogue in file order. Callers must not modify it.
func (g *KG) Departments() []Department { return g.departments }

// BodyParts returns all body parts. Callers must not modify it.
func (g *KG) BodyParts() []BodyPart { return g.bodyParts }

// Symptoms returns all symptoms. Callers must not modify it.
func (g *KG) Symptoms() []Symptom { return g.symptoms }

// RedFlags returns all red flags. Callers must not modify it.
func (g *KG) RedFlags() []RedFlag { return g.redFlags }

// Checks returns all checks. Callers must not modify it.
func (g *KG) Checks() []Check { return g.checks }

// Drugs returns all drugs. Callers must not modify it.
func (g *KG) Drugs() []Drug { return g.drugs }

// Diseases returns all diseases. Callers must not modify it.
func (g *KG) Diseases() []Disease { return g.diseases }

// Department looks a department up by official code.
func (g *KG) Department(code string) (*Department, bool) {
	return lookup(g.departments, g.deptByCode, code)
}

// DepartmentByAlias maps a label (official name, familiar clinic name or
// code) to its catalogue entry.
func (g *KG) DepartmentByAlias(label string) (*Department, bool) {
	if d, ok := lookup(g.departments, g.deptByAlias, label); ok {
		return d, true
	}
	return g.Department(label)
}

// BodyPart looks a body part up by id.
func (g *KG) BodyPart(id string) (*BodyPart, bool) { return lookup(g.bodyParts, g.bodyByID, id) }

// Symptom looks a symptom up by id.
func (g *KG) Symptom(id string) (*Symptom, bool) { return lookup(g.symptoms, g.symByID, id) }

// SymptomByName looks a symptom up by standard name or synonym.
func (g *KG) SymptomByName(name string) (*Symptom, bool) {
	return lookup(g.symptoms, g.symByName, name)
}

// RedFlag looks a red flag up by id.
func (g *KG) RedFlag(id string) (*RedFlag, bool) { return lookup(g.redFlags, g.rfByID, id) }

// Check looks a check up by id, name or synonym.
func (g *KG) Check(idOrName string) (*Check, bool) {
	if c, ok := lookup(g.checks, g.checkByID, idOrName); ok {
		return c, true
	}
	return lookup(g.checks, g.checkByName, idOrName)
}

// Drug looks a drug up by id, name or synonym.
func (g *KG) Drug(idOrName string) (*Drug, bool) {
	if d, ok := lookup(g.drugs, g.drugByID, idOrName); ok {
		return d, true
	}
	return lookup(g.drugs, g.drugByName, idOrName)
}

// Disease looks a disease up by id.
func (g *KG) Disease(id string) (*Disease, bool) { return lookup(g.diseases, g.disByID, id) }

// DiseaseByName looks a disease up by name or alias.
func (g *KG) DiseaseByName(name string) (*Disease, bool) {
	return lookup(g.diseases, g.disByName, name)
}

// DiseasesUsing returns the ids of the diseases listing a drug or check
// id, in KG order. Callers must not modify it.
func (g *KG) DiseasesUsing(id string) []string { return g.disByUse[id] }

// DiseasesWithSymptom returns the diseases listing the symptom id.
func (g *KG) DiseasesWithSymptom(symptomID string) []*Disease {
	idx := g.disBySym[symptomID]
	out := make([]*Disease, len(idx))
	for i, j := range idx {
		out[i] = &g.diseases[j]
	}
	return out
}

// Bundle returns the KG as a single serialisable value.
func (g *KG) Bundle() Bundle {
	return Bundle{
		Version: BundleVersion, Departments: g.departments, BodyParts: g.bodyParts,
		Symptoms: g.symptoms, RedFlags: g.redFlags, Checks: g.checks, Drugs: g.drugs,
		Diseases: g.diseases,
	}
}

func lookup[T any](items []T, m map[string]int, key string) (*T, bool) {
	i, ok := m[Normalize(key)]
	if !ok {
		return nil, false
	}
	return &items[i], true
}
