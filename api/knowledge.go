package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/knowledge"
)

func (s *Server) kg() (*knowledge.KG, error) {
	if s.deps.KG == nil {
		return nil, errorf(CodeUnavailable, "the knowledge graph is not loaded")
	}
	return s.deps.KG, nil
}

// GET /v1/knowledge/search?q=胸痛&limit=10[&type=disease]
func (s *Server) knowledgeSearch(c echo.Context) error {
	if s.deps.Index == nil {
		return errorf(CodeUnavailable, "the knowledge index is not loaded")
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	switch {
	case q == "":
		return errorf(CodeInvalidArgument, "q must not be empty")
	case !utf8.ValidString(q):
		return errorf(CodeInvalidArgument, "q is not valid UTF-8")
	case utf8.RuneCountInString(q) > knowledge.MaxQueryRunes:
		return errorf(CodeInvalidArgument, "q is longer than %d characters", knowledge.MaxQueryRunes)
	}
	limit := knowledge.DefaultSearchLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > knowledge.MaxSearchLimit {
			return errorf(CodeInvalidArgument, "limit must be an integer from 1 to %d", knowledge.MaxSearchLimit)
		}
		limit = n
	}
	var types []string
	if t := c.QueryParam("type"); t != "" {
		for _, typ := range strings.Split(t, ",") {
			switch typ {
			case knowledge.TypeDisease, knowledge.TypeSymptom, knowledge.TypeDepartment, knowledge.TypeCheck, knowledge.TypeDrug:
				types = append(types, typ)
			default:
				return errorf(CodeInvalidArgument, "type %q is not one of disease, symptom, department, check, drug", typ)
			}
		}
	}
	hits, err := s.deps.Index.Search(q, limit, types...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"hits": hits})
}

type namedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type symptomRef struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Frequency float64 `json:"frequency"`
}

type departmentRef struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	ParentCode string `json:"parent_code"`
}

type redFlagRef struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Urgency string `json:"urgency,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

type diseaseDetail struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Aliases       []string        `json:"aliases"`
	Description   string          `json:"description"`
	Age           []float64       `json:"age,omitempty"`
	Sex           string          `json:"sex,omitempty"`
	Symptoms      []symptomRef    `json:"symptoms"`
	Departments   []departmentRef `json:"departments"`
	Checks        []namedRef      `json:"checks"`
	Drugs         []namedRef      `json:"drugs"`
	Complications []namedRef      `json:"complications"`
	RedFlags      []redFlagRef    `json:"red_flags"`
}

// GET /v1/knowledge/diseases/{id}
func (s *Server) knowledgeDisease(c echo.Context) error {
	g, err := s.kg()
	if err != nil {
		return err
	}
	d, ok := g.Disease(c.Param("id"))
	if !ok {
		return errorf(CodeNotFound, "no disease with id %q", c.Param("id"))
	}
	out := diseaseDetail{ID: d.ID, Name: d.Name, Aliases: orEmpty(d.Aliases), Description: d.Description, Age: d.Age, Sex: d.Sex,
		Symptoms: []symptomRef{}, Departments: []departmentRef{}, Checks: []namedRef{}, Drugs: []namedRef{}, Complications: []namedRef{}, RedFlags: []redFlagRef{}}
	for _, sid := range sortedByFrequency(d.Symptoms) {
		if sym, ok := g.Symptom(sid); ok {
			out.Symptoms = append(out.Symptoms, symptomRef{ID: sid, Name: sym.Name, Frequency: d.Symptoms[sid]})
		}
	}
	for _, code := range append([]string{d.Department}, d.Departments...) {
		if dep, ok := g.Department(code); ok {
			out.Departments = append(out.Departments, departmentRef{Code: dep.Code, Name: dep.Name, ParentCode: dep.ParentCode})
		}
	}
	for _, id := range d.Checks {
		if ch, ok := g.Check(id); ok {
			out.Checks = append(out.Checks, namedRef{ID: ch.ID, Name: ch.Name})
		}
	}
	for _, id := range d.Drugs {
		if dr, ok := g.Drug(id); ok {
			out.Drugs = append(out.Drugs, namedRef{ID: dr.ID, Name: dr.Name})
		}
	}
	for _, id := range d.Complications {
		if co, ok := g.Disease(id); ok {
			out.Complications = append(out.Complications, namedRef{ID: co.ID, Name: co.Name})
		}
	}
	for _, id := range d.RedFlags {
		if rf, ok := g.RedFlag(id); ok {
			out.RedFlags = append(out.RedFlags, redFlagRef{ID: rf.ID, Name: rf.Name, Urgency: rf.Urgency, Reason: rf.Reason})
		} else if sym, ok := g.Symptom(id); ok {
			out.RedFlags = append(out.RedFlags, redFlagRef{ID: sym.ID, Name: sym.Name})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// GET /v1/departments
func (s *Server) departments(c echo.Context) error {
	g, err := s.kg()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"departments": g.Departments()})
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedByFrequency(m map[string]float64) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	// Most frequent first; ties by id so the output is stable.
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && (m[ids[j]] > m[ids[j-1]] || (m[ids[j]] == m[ids[j-1]] && ids[j] < ids[j-1])); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}
