package triage

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

const diseaseModelDir = "../models/triage-disease/1"

// TestDiseaseFeaturesMatchTraining: the vectors the engine feeds the ranker
// (text, answered evidence, patient hints) are the ones
// models/triage/train_disease.py composed for the same text and evidence.
func TestDiseaseFeaturesMatchTraining(t *testing.T) {
	e := servingEngine(t)
	f := exportFeaturizer(t, diseaseModelDir)
	for i, r := range loadGolden(t, "disease_golden.jsonl") {
		pc := e.buildCase(&Request{Text: r.Text})
		pc.state = r.State
		checkFeatures(t, unpadded(f, f.Indices(pc.state, pc.extraction.Diseases, casePatient(pc), pc.extraction.Grams)), r, i)
	}
}

// bothModelsRepo opens a repository with the department classifier and
// the disease ranker, or skips without ONNX Runtime or the exports.
func bothModelsRepo(t testing.TB) *inference.Repository {
	return openExports(t, "no exported model: %[2]v", deptExport, diseaseExport)
}

func modelEngine(t testing.TB) *Engine {
	t.Helper()
	repo := bothModelsRepo(t)
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.disease == nil || e.dept == nil {
		t.Fatal("models not loaded")
	}
	return e
}

// TestDiseaseModelMatchesTorch runs the exported ranker through the
// repository (and its batcher) and compares both outputs with PyTorch's.
func TestDiseaseModelMatchesTorch(t *testing.T) {
	e := modelEngine(t)
	for i, r := range loadGolden(t, "disease_golden.jsonl") {
		got, err := e.rank(context.Background(), padded(e.disease.feat, r.X))
		if err != nil {
			t.Fatal(err)
		}
		for k, id := range e.disease.labels {
			checkTorch(t, got.probs[e.diseaseIdx[k]], r.Probs[k], "row %d disease %s", i, id)
		}
		for k := range r.Ask {
			checkTorch(t, float64(got.ask[k]), r.Ask[k], "row %d ask %d", i, k)
		}
	}
	resp, err := e.Triage(context.Background(), Request{Text: "孩子三岁，拉肚子一天五六次，水样便，有点发烧"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Models) != 2 || resp.Models[1].Name != DefaultDiseaseModel {
		t.Fatalf("models = %+v", resp.Models)
	}
	if len(resp.Diseases) == 0 || resp.Diseases[0].ID != "pediatric_diarrhea" {
		t.Fatalf("want 小儿腹泻 first, got %+v", resp.Diseases)
	}
	for _, d := range resp.Diseases {
		if _, ok := e.kg.Disease(d.ID); !ok || d.EvidenceFor == nil || d.EvidenceAgainst == nil {
			t.Errorf("disease %+v: want a KG id with evidence lists", d)
		}
	}
}

func TestInterviewSplit(t *testing.T) {
	var cases []InterviewCase
	for i := 0; i < 300; i++ {
		cases = append(cases, InterviewCase{Disease: []string{"a", "b", "c"}[i%3]})
	}
	s1, s2 := InterviewSplit("mz", cases), InterviewSplit("mz", cases)
	if !slices.Equal(s1, s2) {
		t.Fatal("split is not deterministic")
	}
	n := map[string]map[string]int{}
	for i, s := range s1 {
		if n[cases[i].Disease] == nil {
			n[cases[i].Disease] = map[string]int{}
		}
		n[cases[i].Disease][s]++
	}
	for d, m := range n {
		if m[SplitTest] != 15 || m[SplitVal] != 15 || m[SplitTrain] != 70 {
			t.Errorf("disease %s: %v, want 70/15/15", d, m)
		}
	}
	if slices.Equal(s1, InterviewSplit("dxy", cases)) {
		t.Error("sets share one split order")
	}
}

type interviewVignette struct {
	line  int
	depts []string
	req   Request
	truth map[string]bool
	chief string // first truth symptom: the answer to 哪里不舒服
}

func loadInterviewVignettes(t *testing.T) []interviewVignette {
	t.Helper()
	f, err := os.Open("testdata/interview_vignettes.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kg, _ := kgAndExtractor(t)
	var out []interviewVignette
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 5 {
			t.Fatalf("line %d: want 5 columns, got %d", n, len(cols))
		}
		v := interviewVignette{line: n, depts: strings.Split(cols[0], "|"), req: Request{Text: cols[3]}, truth: map[string]bool{}}
		if cols[1] != "-" {
			a, err := strconv.ParseFloat(cols[1], 64)
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			v.req.Age = &a
		}
		if cols[2] != "-" {
			v.req.Sex = cols[2]
		}
		for _, id := range strings.Split(cols[4], ",") {
			if _, ok := kg.Symptom(id); !ok {
				t.Fatalf("line %d: unknown symptom %q", n, id)
			}
			v.truth[id] = true
			if v.chief == "" {
				v.chief = id
			}
		}
		for _, d := range v.depts {
			if _, ok := kg.Department(d); !ok {
				t.Fatalf("line %d: unknown department %q", n, d)
			}
		}
		out = append(out, v)
	}
	return out
}

// runVignette answers up to 5 questions from the hidden truth (a request
// for the main complaint, when nothing in the opening was recognised, is
// answered once with the chief symptom's name and counts as a question)
// and returns
// the top department (急诊 skipped when it is only the emergency override)
// and the answers given.
func runVignette(t *testing.T, e *Engine, v interviewVignette) (string, []Answer) {
	t.Helper()
	req := v.req
	asked := false
	for {
		r, err := e.Triage(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		q := r.NextQuestion
		if q != nil && q.SymptomID == "" && !asked && len(req.Evidence) < 5 {
			// 请问您哪里不舒服？ The patient names the chief complaint, the
			// first symptom of the hidden truth.
			asked = true
			s, _ := e.kg.Symptom(v.chief)
			req.Text += "，" + s.Name
			continue
		}
		if q == nil || q.SymptomID == "" || len(req.Evidence)+b2i(asked) >= 5 {
			for i, d := range r.Departments {
				if d.Code == emergencyCode && r.Urgency.Level == LevelEmergency && !slices.Contains(v.depts, emergencyCode) && len(r.Departments) > i+1 {
					continue
				}
				return d.Code, req.Evidence
			}
			return "", req.Evidence
		}
		st := StateAbsent
		if v.truth[q.SymptomID] {
			st = StatePresent
		}
		req.Evidence = append(req.Evidence, Answer{ID: q.SymptomID, State: st})
	}
}

// minVignettesPass: issue #5 asks for at least 20 vignettes that reach the
// right department. The file has 26; the first run (before any change to
// the engine) passed 16 with the KG alone; misses are logged.
const minVignettesPass = 20

// TestInterviewVignettes (issue #5): from a vague complaint, answering the
// engine's questions from the vignette's hidden truth, the right
// department is reached within 5 questions, with the KG alone and with
// both ONNX models (the served configuration).
func TestInterviewVignettes(t *testing.T) {
	vs := loadInterviewVignettes(t)
	if len(vs) < 20 {
		t.Fatalf("only %d vignettes, want ≥ 20", len(vs))
	}
	run := func(t *testing.T, e *Engine) {
		kg := e.kg
		pass := 0
		for _, v := range vs {
			got, ev := runVignette(t, e, v)
			ok := false
			for _, want := range v.depts {
				d, known := kg.Department(got)
				ok = ok || got == want || known && d.ParentCode == want
			}
			if ok {
				pass++
				continue
			}
			var asked []string
			for _, a := range ev {
				asked = append(asked, a.ID+"="+a.State)
			}
			t.Logf("miss: line %d %q: top department %q, want %v; answers %v", v.line, v.req.Text, got, v.depts, asked)
		}
		t.Logf("interview vignettes: %d/%d reach the right department within 5 questions", pass, len(vs))
		if pass < minVignettesPass {
			t.Errorf("%d vignettes reach the right department, want ≥ %d", pass, minVignettesPass)
		}
	}
	t.Run("kg", func(t *testing.T) { run(t, kgEngine(t)) })
	t.Run("models", func(t *testing.T) { run(t, modelEngine(t)) })
}

// TestInterviewBenchmark runs `fenzhen eval interview` on the validation
// part when the diagnosis data and the models are present. The floors
// are regression gates a little below the figures in
// models/triage-disease/MODEL_CARD.md, not targets.
func TestInterviewBenchmark(t *testing.T) {
	data := os.Getenv("FENZHEN_DATA")
	if data == "" {
		data = filepath.Join("..", "..", "shared", "data")
	}
	e := modelEngine(t)
	for set, floor := range map[string]float64{"dxy": 0.70, "mz": 0.62} {
		cases, err := ReadInterviewFile(filepath.Join(data, "diagnosis", set+"_train.jsonl"))
		if err != nil {
			t.Skipf("no diagnosis data (set FENZHEN_DATA): %v", err)
		}
		res, err := e.Interview(context.Background(), set, cases, 5, SplitVal)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s val: n=%d top-1 explicit %.4f, after ≤5 questions %.4f, %.2f asked, %.0f%% hit", set, res.N, res.NoQuestions, res.WithQuestion, res.MeanAsked, 100*res.AnsweredRate)
		if res.WithQuestion < floor {
			t.Errorf("%s: top-1 %.4f below %.2f", set, res.WithQuestion, floor)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkTriageWithRanker: one client, the served models; compare with
// DiseaseModel "-" (BenchmarkTriageWithoutRanker).
func BenchmarkTriageWithRanker(b *testing.B) { benchTriage(b, Options{}) }

func BenchmarkTriageWithoutRanker(b *testing.B) { benchTriage(b, Options{DiseaseModel: "-"}) }

func benchTriage(b *testing.B, opts Options) {
	repo := bothModelsRepo(b)
	kg, x := kgAndExtractor(b)
	e, err := New(kg, x, repo, opts)
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{"孩子三岁，拉肚子一天五六次，水样便，有点发烧", "最近胃疼，反酸烧心，吃完饭肚子胀", "胸口不舒服", "头疼两天了，有点恶心"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Triage(context.Background(), Request{Text: texts[i%len(texts)]}); err != nil {
			b.Fatal(err)
		}
	}
}
