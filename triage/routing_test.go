package triage

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRouting(t *testing.T) {
	e := kgEngine(t)
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name      string
		req       Request
		firstPref string   // first department code must start with this
		never     []string // code prefixes that must not appear
	}{
		{"child cough to paediatrics", Request{Text: "咳嗽三天，有黄痰，发烧", Age: f(5)}, "07", nil},
		{"child cue without age", Request{Text: "孩子咳嗽三天，有黄痰"}, "07", nil},
		{"child eye stays in ophthalmology", Request{Text: "眼睛红，痒，有眼屎", Age: f(6)}, "10", nil},
		{"child skin stays in dermatology", Request{Text: "身上起红疹子，很痒", Age: f(8)}, "13", nil},
		{"adult cough to respiratory", Request{Text: "咳嗽三天，有黄痰", Age: f(40)}, "03.01", []string{"07"}},
		{"no gynaecology for men", Request{Text: "下腹痛，尿频", Sex: "male", Age: f(30)}, "", []string{"05", "06"}},
		{"emergency first", Request{Text: "胸口压榨样疼痛，出冷汗", Age: f(60)}, "20", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := e.Triage(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Departments) == 0 {
				t.Fatal("no departments")
			}
			if !strings.HasPrefix(r.Departments[0].Code, c.firstPref) {
				t.Errorf("first department %+v, want %s…", r.Departments[0], c.firstPref)
			}
			var sum float64
			for _, d := range r.Departments {
				sum += d.Probability
				for _, p := range c.never {
					if strings.HasPrefix(d.Code, p) {
						t.Errorf("department %s must not be offered", d.Code)
					}
				}
			}
			if sum > 1.0001 {
				t.Errorf("probabilities sum to %.4f", sum)
			}
		})
	}
}

func TestNextQuestion(t *testing.T) {
	e := kgEngine(t)
	// Chest pain alone: ask the red-flag companion first.
	r, err := e.Triage(context.Background(), Request{Text: "胸口疼"})
	if err != nil {
		t.Fatal(err)
	}
	if r.NextQuestion == nil || r.NextQuestion.SymptomID == "" || r.NextQuestion.Text == "" {
		t.Fatalf("want a question, got %+v", r.NextQuestion)
	}
	first := r.NextQuestion.SymptomID
	if first != "sweating" && first != "cold_clammy_skin" && first != "dyspnea" {
		t.Errorf("first question %s, want a chest-pain red-flag companion", first)
	}
	// Answered questions are never asked again, and the loop ends.
	req := Request{Text: "咳嗽三天"}
	asked := map[string]bool{}
	for i := 0; i < 20; i++ {
		r, err := e.Triage(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		q := r.NextQuestion
		if q == nil {
			if i == 0 {
				t.Fatal("no question after one symptom")
			}
			return
		}
		if asked[q.SymptomID] {
			t.Fatalf("asked %s twice", q.SymptomID)
		}
		asked[q.SymptomID] = true
		req.Evidence = append(req.Evidence, Answer{ID: q.SymptomID, State: StateAbsent})
	}
	t.Fatalf("still asking after 20 answers (max %d)", e.opts.MaxQuestions)
}

// TestResponseJSON pins the field names of API.md's /v1/triage.
func TestResponseJSON(t *testing.T) {
	e := kgEngine(t)
	r, err := e.Triage(context.Background(), Request{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"request_id", "symptoms", "departments", "urgency", "diseases", "next_question", "models", "disclaimer"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	for path, keys := range map[string][]string{
		"departments": {"code", "name", "parent_code", "probability"},
		"diseases":    {"id", "name", "probability", "department_code", "evidence_for", "evidence_against"},
		"symptoms":    {"id", "name", "text", "start", "end", "state", "duration_days", "severity", "body_part"},
	} {
		list, _ := m[path].([]any)
		if len(list) == 0 {
			t.Fatalf("%s empty", path)
		}
		item := list[0].(map[string]any)
		for _, k := range keys {
			if _, ok := item[k]; !ok {
				t.Errorf("%s[0] missing %q", path, k)
			}
		}
	}
	u := m["urgency"].(map[string]any)
	for _, k := range []string{"level", "label", "red_flags", "reasons"} {
		if _, ok := u[k]; !ok {
			t.Errorf("urgency missing %q", k)
		}
	}
	if r.Urgency.Level != LevelUrgent {
		t.Errorf("3-year-old with 39℃: level %s, want urgent", r.Urgency.Level)
	}
}
