package api

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestKnowledgeRoutes(t *testing.T) {
	s := newTestServer(t, nil)
	search := func(q string, extra string) []struct{ ID, Type, Name string } {
		t.Helper()
		rec := do(t, s, "GET", "/v1/knowledge/search?q="+url.QueryEscape(q)+extra, "", nil)
		if rec.Code != 200 {
			t.Fatalf("search %q: %d %s", q, rec.Code, rec.Body)
		}
		var out struct {
			Hits []struct{ ID, Type, Name string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out.Hits
	}
	hits := search("肚子疼", "&limit=10")
	if len(hits) < 3 || hits[0].Name != "腹痛" || hits[0].Type != "symptom" {
		t.Errorf("肚子疼: %+v", hits)
	}
	diseases := 0
	for _, h := range hits {
		if h.Type == "disease" {
			diseases++
		}
	}
	if diseases == 0 {
		t.Errorf("肚子疼 found no disease with abdominal pain: %+v", hits)
	}
	if hits := search("心梗", ""); len(hits) == 0 || hits[0].Name != "急性心肌梗死" {
		t.Errorf("心梗: %+v", hits)
	}
	if hits := search("布洛芬", "&type=drug"); len(hits) == 0 || hits[0].Type != "drug" {
		t.Errorf("布洛芬 as drug: %+v", hits)
	}

	rec := do(t, s, "GET", "/v1/knowledge/diseases/acute_myocardial_infarction", "", nil)
	var d diseaseDetail
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &d) != nil {
		t.Fatalf("disease: %d %s", rec.Code, rec.Body)
	}
	if d.Name != "急性心肌梗死" || len(d.Symptoms) < 3 || len(d.Departments) == 0 || len(d.RedFlags) == 0 || len(d.Checks) == 0 {
		t.Errorf("disease detail incomplete: %+v", d)
	}
	for i := 1; i < len(d.Symptoms); i++ {
		if d.Symptoms[i].Frequency > d.Symptoms[i-1].Frequency {
			t.Errorf("symptoms not most frequent first: %+v", d.Symptoms)
		}
	}

	rec = do(t, s, "GET", "/v1/departments", "", nil)
	var deps struct {
		Departments []struct{ Code, Name, ParentCode string }
	}
	json.Unmarshal(rec.Body.Bytes(), &deps)
	codes := map[string]string{}
	for _, dep := range deps.Departments {
		codes[dep.Code] = dep.Name
	}
	for code, name := range map[string]string{"03": "内科", "03.01": "呼吸内科", "07": "儿科", "13": "皮肤科", "20": "急诊医学科"} {
		if codes[code] != name {
			t.Errorf("department %s = %q, want %s", code, codes[code], name)
		}
	}

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/v1/knowledge/search?q=", 400},
		{"/v1/knowledge/search?q=%E8%83%B8%E7%97%9B&limit=0", 400},
		{"/v1/knowledge/search?q=%E8%83%B8%E7%97%9B&limit=abc", 400},
		{"/v1/knowledge/search?q=%E8%83%B8%E7%97%9B&type=food", 400},
		{"/v1/knowledge/search?q=%ff%fe", 400},
		{"/v1/knowledge/diseases/no_such_disease", 404},
	} {
		if rec := do(t, s, "GET", c.path, "", nil); rec.Code != c.status {
			t.Errorf("%s: %d, want %d (%s)", c.path, rec.Code, c.status, rec.Body)
		}
	}
}
