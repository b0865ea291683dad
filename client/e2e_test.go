package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/client"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

// End-to-end: every client method against the real server (api.New with the
// committed models and the embedded knowledge graph) over HTTP.

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// realServer starts one server for all end-to-end tests of the package.
func realServer(t *testing.T) string {
	t.Helper()
	serverOnce.Do(func() {
		if serverErr = inference.InitRuntime(""); serverErr != nil {
			serverErr = errors.New("end-to-end tests need ONNX Runtime (run `make setup`): " + serverErr.Error())
			return
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		reg := prometheus.NewRegistry()
		var repo *inference.Repository
		repo, serverErr = inference.OpenRepository(filepath.Join("..", "models"), inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: log})
		if serverErr != nil {
			return
		}
		var kg *knowledge.KG
		if kg, serverErr = knowledge.LoadDefault(); serverErr != nil {
			return
		}
		var seg *segment.Segmenter
		if seg, serverErr = segment.New(kg.Terms()); serverErr != nil {
			return
		}
		var idx *knowledge.Index
		if idx, serverErr = knowledge.NewIndexWith(kg, seg); serverErr != nil {
			return
		}
		x, err := triage.NewExtractor(kg, idx)
		if err != nil {
			serverErr = err
			return
		}
		eng, err := triage.New(kg, x, repo, triage.Options{})
		if err != nil {
			serverErr = err
			return
		}
		s := api.New(api.DefaultConfig(), api.Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Registry: reg}, log)
		// Lives until the test binary exits.
		serverURL = httptest.NewServer(s.Handler()).URL
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverURL
}

func newClient(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(realServer(t), client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEndToEndTriageAndRecord(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	req := client.TriageRequest{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: client.Age(3), Sex: client.SexMale}
	r, err := c.Triage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, s := range r.Symptoms {
		states[s.ID] = s.State
		if got := string([]rune(req.Text)[s.Start:s.End]); got != s.Text {
			t.Errorf("symptom %s at [%d,%d) reads %q, says %q", s.ID, s.Start, s.End, got, s.Text)
		}
	}
	if states["fever"] != client.StatePresent || states["diarrhea"] != client.StateAbsent {
		t.Errorf("symptoms %+v", r.Symptoms)
	}
	if len(r.Departments) == 0 || (r.Departments[0].Code != "07" && r.Departments[0].ParentCode != "07") {
		t.Errorf("a 3-year-old goes to 儿科: %+v", r.Departments)
	}
	if r.RequestID == "" || r.Urgency.Label == "" || len(r.Diseases) == 0 || r.Disclaimer == "" || len(r.Models) == 0 {
		t.Errorf("incomplete: %+v", r)
	}
	// Answering the next question is accepted and changes the evidence.
	if r.NextQuestion != nil && r.NextQuestion.SymptomID != "" {
		req.Evidence = []client.Evidence{{ID: r.NextQuestion.SymptomID, State: client.StateAbsent}}
		r2, err := c.Triage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if r2.NextQuestion != nil && r2.NextQuestion.SymptomID == r.NextQuestion.SymptomID {
			t.Errorf("asked %s again after it was answered", r2.NextQuestion.SymptomID)
		}
	}

	em, err := c.Triage(ctx, client.TriageRequest{Text: "胸口疼得厉害，出了一身冷汗", Age: client.Age(58), Sex: client.SexMale})
	if err != nil {
		t.Fatal(err)
	}
	if em.Urgency.Level != client.LevelEmergency || len(em.Urgency.RedFlags) == 0 || em.Departments[0].Code != "20" {
		t.Errorf("chest pain with cold sweat must be an emergency in 急诊: %+v", em.Urgency)
	}

	rec, err := c.Record(ctx, client.TriageRequest{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: client.Age(3)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.ChiefComplaint, "发热2天") || !strings.Contains(rec.PresentIllness, "39") || len(rec.Negatives) == 0 || rec.Negatives[0] != "腹泻" {
		t.Errorf("record %+v", rec)
	}

	// Errors come back typed, with the caller's request id, and are not retried.
	_, err = c.Triage(client.WithRequestID(ctx, "his-0001"), client.TriageRequest{Text: "头疼", TopK: 21})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != client.CodeInvalidArgument || e.RequestID != "his-0001" || e.Attempts != 1 || !strings.Contains(e.Message, "top_k") {
		t.Errorf("top_k 21: %#v", err)
	}
	_, err = c.Triage(ctx, client.TriageRequest{Text: "头疼", Evidence: []client.Evidence{{ID: "no_such_symptom", State: client.StatePresent}}})
	if !client.IsCode(err, client.CodeUnprocessable) {
		t.Errorf("unknown evidence: %v", err)
	}
}

func TestEndToEndMedicationAndKnowledge(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	m, err := c.MedicationCheck(ctx, client.MedicationRequest{Drugs: []string{"阿司匹林", "布洛芬", "不存在的药"}, Conditions: []string{"消化性溃疡"}, Age: client.Age(8)})
	if err != nil {
		t.Fatal(err)
	}
	sev := map[string]bool{}
	for _, w := range m.Warnings {
		sev[w.Drug+"/"+w.Severity] = true
	}
	if !sev["阿司匹林/"+client.SeverityContraindicated] || !sev["阿司匹林/"+client.SeverityInteraction] || len(m.UnknownDrugs) != 1 || m.UnknownDrugs[0] != "不存在的药" {
		t.Errorf("medication %+v", m)
	}
	if _, err := c.MedicationCheck(ctx, client.MedicationRequest{}); !client.IsCode(err, client.CodeInvalidArgument) {
		t.Errorf("no drugs: %v", err)
	}

	hits, err := c.SearchKnowledge(ctx, client.SearchRequest{Query: "心梗"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits.Hits) == 0 || hits.Hits[0].Name != "急性心肌梗死" {
		t.Errorf("心梗: %+v", hits.Hits)
	}
	drugs, err := c.SearchKnowledge(ctx, client.SearchRequest{Query: "布洛芬", Limit: 3, Types: []string{"drug"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(drugs.Hits) == 0 || len(drugs.Hits) > 3 || drugs.Hits[0].Type != "drug" {
		t.Errorf("布洛芬 as drug: %+v", drugs.Hits)
	}

	d, err := c.Disease(ctx, hits.Hits[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "急性心肌梗死" || len(d.Symptoms) < 3 || len(d.Departments) == 0 || len(d.RedFlags) == 0 || len(d.Checks) == 0 {
		t.Errorf("disease %+v", d)
	}
	_, err = c.Disease(ctx, "no_such_disease")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != client.CodeNotFound || e.RequestID == "" {
		t.Errorf("unknown disease: %#v", err)
	}

	deps, err := c.Departments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, dep := range deps {
		names[dep.Code] = dep.Name
	}
	if names["07"] != "儿科" || names["03.01"] != "呼吸内科" || names["20"] != "急诊医学科" {
		t.Errorf("departments %+v", deps)
	}
}

type expectedImages struct {
	Labels []string
	Cases  []struct {
		File  string
		Probs []float64
	}
}

func TestEndToEndImaging(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	for _, m := range []struct {
		model    string
		classify func(context.Context, io.Reader, string) (*client.ImagingResponse, error)
	}{
		{"chest-xray", c.ClassifyChest},
		{"dermatology", c.ClassifyDermatology},
	} {
		dir := filepath.Join("..", "models", m.model, "testdata")
		raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		var exp expectedImages
		if err := json.Unmarshal(raw, &exp); err != nil {
			t.Fatal(err)
		}
		for i, cs := range exp.Cases[:2] {
			img, err := os.ReadFile(filepath.Join(dir, cs.File))
			if err != nil {
				t.Fatal(err)
			}
			ct := "image/png"
			if i == 1 {
				ct = "" // sniffed
			}
			r, err := m.classify(ctx, bytes.NewReader(img), ct)
			if err != nil {
				t.Fatalf("%s %s: %v", m.model, cs.File, err)
			}
			if len(r.Findings) != len(exp.Labels) || r.Input.Format != "png" || r.Models[0].Name != m.model || r.Disclaimer == "" {
				t.Fatalf("%s %s: %+v", m.model, cs.File, r)
			}
			for j, label := range exp.Labels {
				for _, f := range r.Findings {
					if f.Label == label && (f.Probability-cs.Probs[j] > 2e-4 || cs.Probs[j]-f.Probability > 2e-4) {
						t.Errorf("%s %s: p(%s) = %.5f, torch %.5f", m.model, cs.File, label, f.Probability, cs.Probs[j])
					}
				}
			}
			if m.model == "dermatology" && (r.Department != "13" || r.Urgency == nil) {
				t.Errorf("dermatology without department 13 or urgency: %+v", r)
			}
		}
	}
	_, err := c.ClassifyChest(ctx, strings.NewReader("this is not an image at all"), "image/png")
	if !client.IsCode(err, client.CodeUnsupportedMediaType) {
		t.Errorf("text as png: %v", err)
	}
}

func TestEndToEndV2AndReady(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join("..", "models", "cnn-test", "testdata", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Shape []int64
		Input []float32
		Probs []float32
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"", "1"} {
		resp, err := c.V2Infer(ctx, "cnn-test", version, client.V2InferRequest{ID: "q-1", Inputs: []client.V2Input{{Name: "input", Shape: ref.Shape, Datatype: "FP32", Data: ref.Input}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.ModelName != "cnn-test" || resp.ModelVersion != "1" || resp.ID != "q-1" || len(resp.Outputs) != 1 {
			t.Fatalf("%+v", resp)
		}
		probs, err := resp.Outputs[0].Float32s()
		if err != nil || len(probs) != len(ref.Probs) {
			t.Fatalf("%v: %d probs", err, len(probs))
		}
		for i, p := range probs {
			if d := p - ref.Probs[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("probs[%d] = %v, torch %v", i, p, ref.Probs[i])
			}
		}
	}
	_, err = c.V2Infer(ctx, "nope", "", client.V2InferRequest{Inputs: []client.V2Input{{Name: "input", Shape: []int64{1}, Datatype: "FP32", Data: []float32{0}}}})
	if !client.IsCode(err, client.CodeNotFound) {
		t.Errorf("unknown model: %v", err)
	}

	r, err := c.Ready(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == "not_ready" || !r.Knowledge || !r.Triage || len(r.Models) < 3 {
		t.Errorf("ready %+v", r)
	}
}

// The client's types carry every field the server sends: each answer, decoded
// into the client type and encoded again, has all the keys of the original.
func TestEndToEndTypesCoverServerFields(t *testing.T) {
	base := realServer(t)
	img, err := os.ReadFile(filepath.Join("..", "models", "dermatology", "testdata", "test_0005_mel.png"))
	if err != nil {
		t.Fatal(err)
	}
	infer := `{"id":"x","inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[` + strings.TrimSuffix(strings.Repeat("0.5,", 784), ",") + `]}]}`
	for _, c := range []struct {
		method, path, ctype, body string
		into                      any
	}{
		{"POST", "/v1/triage", "application/json", `{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3,"sex":"male"}`, &client.TriageResponse{}},
		{"POST", "/v1/triage", "application/json", `{"text":"胸口疼得厉害，出了一身冷汗，头晕"}`, &client.TriageResponse{}},
		{"POST", "/v1/record", "application/json", `{"text":"我肚子疼了三天，拉肚子，不发烧，对青霉素过敏","evidence":[{"id":"vomiting","state":"absent"}]}`, &client.RecordResponse{}},
		{"POST", "/v1/medication/check", "application/json", `{"drugs":["阿司匹林","布洛芬","华法林","不存在的药"],"conditions":["消化性溃疡","怀孕","没听过的病"],"age":8}`, &client.MedicationResponse{}},
		{"GET", "/v1/knowledge/search?q=%E8%83%B8%E7%97%9B&limit=20", "", "", &client.SearchResponse{}},
		{"GET", "/v1/knowledge/diseases/acute_myocardial_infarction", "", "", &client.Disease{}},
		{"GET", "/v1/departments", "", "", &struct {
			Departments []client.Department `json:"departments"`
		}{}},
		{"POST", "/v1/dermatology", "image/png", string(img), &client.ImagingResponse{}},
		{"POST", "/v2/models/cnn-test/infer", "application/json", infer, &client.V2InferResponse{}},
		{"GET", "/readyz", "", "", &client.Readiness{}},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, raw)
		}
		if err := json.Unmarshal(raw, c.into); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		again, _ := json.Marshal(c.into)
		var orig, round any
		json.Unmarshal(raw, &orig)
		json.Unmarshal(again, &round)
		var missing []string
		missingKeys(orig, round, "", &missing)
		if len(missing) > 0 {
			sort.Strings(missing)
			t.Errorf("%s %s: the client types drop %v", c.method, c.path, missing)
		}
	}
}

// missingKeys lists the object keys of a that b lacks, recursively.
func missingKeys(a, b any, at string, out *[]string) {
	switch a := a.(type) {
	case map[string]any:
		bm, _ := b.(map[string]any)
		for k, v := range a {
			bv, ok := bm[k]
			if !ok {
				*out = append(*out, at+"."+k)
				continue
			}
			missingKeys(v, bv, at+"."+k, out)
		}
	case []any:
		bs, _ := b.([]any)
		for i, v := range a {
			if i < len(bs) {
				missingKeys(v, bs[i], at+"[]", out)
			}
		}
	}
}
