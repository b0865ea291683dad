package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/triage"
)

type triageResp struct {
	RequestID string `json:"request_id"`
	Symptoms  []struct {
		ID, Name, Text, State string
		Start, End            int
	}
	Departments []struct {
		Code, Name  string
		ParentCode  string `json:"parent_code"`
		Probability float64
	}
	Urgency struct {
		Level, Label string
		RedFlags     []struct{ ID, Name, Text string } `json:"red_flags"`
		Reasons      []string
	}
	Diseases     []json.RawMessage
	NextQuestion *struct {
		SymptomID string `json:"symptom_id"`
		Name      string
		Text      string
	} `json:"next_question"`
	Models     []struct{ Name, Version string }
	Disclaimer string
}

func postTriage(t *testing.T, s *Server, body string) (int, triageResp, string) {
	t.Helper()
	rec := do(t, s, "POST", "/v1/triage", "application/json", []byte(body))
	var out triageResp
	if rec.Code == 200 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("decode: %v: %s", err, rec.Body)
		}
	}
	return rec.Code, out, rec.Body.String()
}

func TestTriageRoute(t *testing.T) {
	s := newTestServer(t, nil)
	code, r, raw := postTriage(t, s, `{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3,"sex":"male"}`)
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	states := map[string]string{}
	for _, sym := range r.Symptoms {
		states[sym.ID] = sym.State
	}
	if states["fever"] != "present" || states["cough"] != "present" || states["diarrhea"] != "absent" {
		t.Errorf("symptoms %+v", r.Symptoms)
	}
	if len(r.Departments) == 0 || !(r.Departments[0].Code == "07" || r.Departments[0].ParentCode == "07") {
		t.Errorf("a 3-year-old should go to 儿科: %+v", r.Departments)
	}
	if r.Urgency.Level == "" || r.Urgency.Label == "" || len(r.Diseases) == 0 || r.Disclaimer == "" || r.RequestID == "" {
		t.Errorf("incomplete answer: %s", raw)
	}
	hasDeptModel := false
	for _, m := range r.Models {
		hasDeptModel = hasDeptModel || m.Name == "triage-department"
	}
	if !hasDeptModel {
		t.Errorf("models %+v do not name the department model", r.Models)
	}

	_, r, raw = postTriage(t, s, `{"text":"胸口疼得厉害，出了一身冷汗","age":58,"sex":"male"}`)
	if r.Urgency.Level != "emergency" || len(r.Urgency.RedFlags) == 0 || r.Departments[0].Code != "20" {
		t.Errorf("chest pain with sweating must be an emergency in 急诊: %s", raw)
	}

	// No recognisable symptom: 200, empty lists, routine, a question for the main complaint.
	_, r, raw = postTriage(t, s, `{"text":"你好，请问在吗"}`)
	if len(r.Symptoms) != 0 || r.Urgency.Level != "routine" || r.NextQuestion == nil || !strings.Contains(raw, `"departments":[]`) {
		t.Errorf("no-symptom answer: %s", raw)
	}
}

func TestTriageErrors(t *testing.T) {
	s := newTestServer(t, nil)
	long := strings.Repeat("头疼", 1001)
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty text", `{"text":""}`, 400, CodeInvalidArgument},
		{"missing text", `{}`, 400, CodeInvalidArgument},
		{"too long", `{"text":"` + long + `"}`, 400, CodeInvalidArgument},
		{"age too high", `{"text":"头疼","age":121}`, 400, CodeInvalidArgument},
		{"age negative", `{"text":"头疼","age":-1}`, 400, CodeInvalidArgument},
		{"bad sex", `{"text":"头疼","sex":"x"}`, 400, CodeInvalidArgument},
		{"top_k", `{"text":"头疼","top_k":21}`, 400, CodeInvalidArgument},
		{"unknown evidence", `{"text":"头疼","evidence":[{"id":"no_such_symptom","state":"present"}]}`, 422, CodeUnprocessable},
		{"bad evidence state", `{"text":"头疼","evidence":[{"id":"fever","state":"maybe"}]}`, 422, CodeUnprocessable},
		{"wrong type", `{"text":123}`, 400, CodeInvalidArgument},
		{"not json", `text=头疼`, 400, CodeInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := do(t, s, "POST", "/v1/triage", "application/json", []byte(c.body))
			var e errorBody
			json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != c.status || e.Error.Code != c.code {
				t.Errorf("%d %s, want %d %s", rec.Code, rec.Body, c.status, c.code)
			}
		})
	}
}

func TestRecordAndMedication(t *testing.T) {
	s := newTestServer(t, nil)
	rec := do(t, s, "POST", "/v1/record", "application/json", []byte(`{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3}`))
	var r struct {
		ChiefComplaint string `json:"chief_complaint"`
		PresentIllness string `json:"present_illness"`
		Positives      []string
		Negatives      []string
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if !strings.HasPrefix(r.ChiefComplaint, "发热2天") || !strings.Contains(r.PresentIllness, "39") || len(r.Negatives) == 0 || r.Negatives[0] != "腹泻" {
		t.Errorf("record %+v", r)
	}
	// The sections, the patient line and the plain text; every statement
	// from the text cites spans of it.
	text := []rune("我58岁，男，今天早上开始胸口闷痛，像压了块石头，出了一身冷汗，左胳膊发麻，有高血压十年")
	rec = do(t, s, "POST", "/v1/record", "application/json", []byte(`{"text":"`+string(text)+`","evidence":[{"id":"dyspnea","state":"absent"}]}`))
	var full triage.RecordResponse
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &full) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if full.Patient.Sex != "male" || full.Patient.Age != "58岁" || full.Patient.Reporter != "本人" {
		t.Errorf("patient %+v", full.Patient)
	}
	want := map[string]string{triage.SecChiefComplaint: "今晨起胸痛", triage.SecPastHistory: "高血压10年", triage.SecInterview: "无"}
	for _, sec := range full.Sections {
		if w, ok := want[sec.Key]; ok && !strings.Contains(sec.Text, w) {
			t.Errorf("%s %q, want it to hold %q", sec.Title, sec.Text, w)
		}
		delete(want, sec.Key)
		for _, st := range sec.Statements {
			for _, e := range st.Evidence {
				if e.Start < 0 || e.End > len(text) || string(text[e.Start:e.End]) != e.Text {
					t.Errorf("%s: %q cites %+v, not a span of the text", sec.Title, st.Text, e)
				}
			}
			if st.Source == triage.SourceText && len(st.Evidence) == 0 {
				t.Errorf("%s: %q cites nothing", sec.Title, st.Text)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("sections missing: %v", want)
	}
	if bad := triage.CheckRecord(string(text), &full); len(bad) > 0 {
		t.Errorf("ungrounded: %v", bad)
	}
	if !strings.Contains(full.Text, "主诉：今晨起胸痛") || !strings.Contains(full.Text, "过敏史：（未述）") {
		t.Errorf("plain text %q", full.Text)
	}
	rec = do(t, s, "POST", "/v1/medication/check", "application/json", []byte(`{"drugs":["阿司匹林","布洛芬","不存在的药"],"conditions":["消化性溃疡"],"age":8}`))
	var m struct {
		Warnings []struct{ Drug, Severity, Reason string }
		Unknown  []string `json:"unknown_drugs"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	sev := map[string]bool{}
	for _, w := range m.Warnings {
		sev[w.Drug+"/"+w.Severity] = true
	}
	if !sev["阿司匹林/contraindicated"] || !sev["阿司匹林/interaction"] || len(m.Unknown) != 1 || m.Unknown[0] != "不存在的药" {
		t.Errorf("medication %s", rec.Body)
	}
	if rec := do(t, s, "POST", "/v1/medication/check", "application/json", []byte(`{"drugs":[]}`)); rec.Code != 400 {
		t.Errorf("no drugs: %d %s", rec.Code, rec.Body)
	}
}

// TestTriageRealQuestions: questions with no symptom still get a
// department (API.md: departments is never empty for text about health);
// text with no medical content gets empty lists.
func TestTriageRealQuestions(t *testing.T) {
	s := newTestServer(t, nil)
	cases := []struct {
		name, body string
		want       []string // acceptable first departments (a sub-department of one matches)
	}{
		{"disease only", `{"text":"乙肝患者需要吃保肝药吗？"}`, []string{"03.02", "16"}},
		{"disease only, diet", `{"text":"肾病综合征平时饮食要注意什么"}`, []string{"03.06"}},
		{"disease only, remission", `{"text":"糖尿病能逆转吗"}`, []string{"03.07"}},
		{"drug only", `{"text":"二甲双胍饭前吃还是饭后吃？"}`, []string{"03.07"}},
		{"check result only", `{"text":"体检血压150/95，需要吃药吗"}`, []string{"03.04"}},
		{"check result only, AFP", `{"text":"甲胎蛋白43是什么意思"}`, []string{"03.02", "19", "16"}},
		{"male sexual function", `{"text":"早泄怎么办","sex":"male"}`, []string{"04.04"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, r, raw := postTriage(t, s, c.body)
			if code != 200 {
				t.Fatalf("%d %s", code, raw)
			}
			if len(r.Departments) == 0 {
				t.Fatalf("no department for a health question: %s", raw)
			}
			got := r.Departments[0]
			ok := false
			for _, w := range c.want {
				ok = ok || got.Code == w || got.ParentCode == w
			}
			if !ok {
				t.Errorf("first department %s %s, want one of %v", got.Code, got.Name, c.want)
			}
		})
	}
	for _, text := range []string{"你好", "谢谢", "asdf", "今天天气不错"} {
		code, r, raw := postTriage(t, s, `{"text":"`+text+`"}`)
		if code != 200 || len(r.Departments) != 0 || len(r.Diseases) != 0 || r.Urgency.Level != "routine" || r.NextQuestion == nil {
			t.Errorf("%q: want 200 with empty lists, routine and a main-complaint question, got %d %s", text, code, raw)
		}
	}
}

// TestTriageInvalidUTF8: invalid bytes in a JSON body are 400
// invalid_argument, never replaced and answered.
func TestTriageInvalidUTF8(t *testing.T) {
	s := newTestServer(t, nil)
	for _, body := range [][]byte{
		[]byte("{\"text\":\"\xff\xfe咳嗽\"}"),
		[]byte("{\"text\":\"头疼\xc3\"}"),
	} {
		rec := do(t, s, "POST", "/v1/triage", "application/json", body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"invalid_argument"`) || !strings.Contains(rec.Body.String(), "UTF-8") {
			t.Errorf("%q: got %d %s", body, rec.Code, rec.Body)
		}
	}
}
