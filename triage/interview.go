package triage

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// InterviewCase is one record of the DXY / Muzhi diagnosis benchmarks.
type InterviewCase struct {
	Disease    string          `json:"disease"`
	SelfReport string          `json:"self_report"`
	Explicit   map[string]bool `json:"explicit_symptoms"`
	Implicit   map[string]bool `json:"implicit_symptoms"`
}

// ReadInterviewFile reads a DXY or Muzhi JSONL file.
func ReadInterviewFile(path string) ([]InterviewCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("interview data (set FENZHEN_DATA or --data): %w", err)
	}
	defer f.Close()
	var out []InterviewCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for n := 1; sc.Scan(); n++ {
		var c InterviewCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// benchmarkDiseases maps the benchmarks' disease labels to KG diseases; a
// label's score is the summed posterior of its KG diseases.
var benchmarkDiseases = map[string][]string{
	"上呼吸道感染": {"upper_respiratory_infection", "pediatric_urti_fever", "acute_pharyngitis", "influenza"},
	"过敏性鼻炎":  {"allergic_rhinitis"},
	"小儿腹泻":   {"pediatric_diarrhea", "acute_gastroenteritis"},
	"小儿手足口病": {"hfmd"},
	"肺炎":     {"pediatric_pneumonia", "pneumonia", "mycoplasma_pneumonia"},
	"小儿支气管炎": {"pediatric_bronchitis", "acute_bronchitis", "bronchiolitis"},
	"小儿消化不良": {"pediatric_dyspepsia", "functional_dyspepsia"},
}

// Published top-1 accuracies on the same benchmarks (their own test splits).
var publishedInterview = map[string]string{
	"dxy": "KR-DS (Xu et al. 2019) 0.74",
	"mz":  "DQN (Wei et al. 2018) 0.65, KR-DS (Xu et al. 2019) 0.73",
}

// InterviewResult is top-1 disease accuracy before and after questions.
type InterviewResult struct {
	Set          string  `json:"set"`
	Split        string  `json:"split"` // train, val, test or all
	N            int     `json:"n"`
	Turns        int     `json:"turns"`
	NoQuestions  float64 `json:"top1_no_questions"`
	WithQuestion float64 `json:"top1"`
	MeanAsked    float64 `json:"mean_questions"`
	AnsweredRate float64 `json:"answered_rate"` // questions that hit an implicit symptom
	// ImplicitFound is the share of the implicit symptoms (mapped to KG
	// ids) that the questions reached.
	ImplicitFound float64 `json:"implicit_found"`
	// Coverage is the share of the records' symptom names that map to a
	// KG symptom (through the extractor).
	Coverage     float64 `json:"symptom_name_coverage"`
	UnknownLabel int     `json:"unknown_labels"`
	// ByTurn is top-1 after k questions (k = 0 … Turns; an interview that
	// stopped earlier keeps its last answer).
	ByTurn []float64 `json:"top1_by_turn"`
	// Calibration compares the probability the engine gives its leading
	// label (the posterior mass of that label's KG diseases) with how
	// often that label is right, before and after the interview.
	Calibration struct {
		Before Reliability `json:"before"`
		After  Reliability `json:"after"`
	} `json:"calibration"`
	PerDisease map[string]int `json:"correct_per_disease"`
	Support    map[string]int `json:"support"`
	Models     []ModelRef     `json:"models"`
	Published  string         `json:"published"`
}

// Interview simulates the interviews on the records of one split
// (InterviewSplit; "" or "all" takes every record): the engine sees the
// text and the explicit symptoms, asks up to turns questions, and the
// simulated patient answers those that are among its implicit symptoms
// (others stay unknown). The prediction is the benchmark label whose KG
// diseases hold the most posterior (ranker blended with naive Bayes when
// the ranker is loaded).
func (e *Engine) Interview(ctx context.Context, set string, cases []InterviewCase, turns int, split string) (*InterviewResult, error) {
	if split == "" {
		split = "all"
	}
	res := &InterviewResult{Set: set, Split: split, Turns: turns, PerDisease: map[string]int{}, Support: map[string]int{},
		Models: e.Models(), Published: publishedInterview[set]}
	labels := map[string]bool{}
	for _, c := range cases {
		if _, ok := benchmarkDiseases[c.Disease]; ok {
			labels[c.Disease] = true
		}
	}
	labelList := make([]string, 0, len(labels))
	for l := range labels {
		labelList = append(labelList, l)
	}
	sort.Strings(labelList)
	parts := InterviewSplit(set, cases)
	var ok0, ok1, asked, answered, implicitN, names, unmappedN int
	byTurn := make([]int, turns+1)
	var before, after reliabilityBins
	for i, c := range cases {
		if split != "all" && parts[i] != split {
			continue
		}
		if !labels[c.Disease] {
			res.UnknownLabel++
			continue
		}
		res.N++
		res.Support[c.Disease]++
		pc, _, implicit, unmapped := e.interviewStart(c)
		pc.maxQuestions = turns
		names += len(c.Explicit) + len(c.Implicit)
		unmappedN += len(unmapped)
		for id := range implicit {
			if !pc.asked[id] {
				implicitN++
			}
		}
		post, ro, err := e.interviewPosterior(ctx, pc)
		if err != nil {
			return nil, err
		}
		label, p := e.predictLabel(post, labelList)
		before.add(p, label == c.Disease)
		if label == c.Disease {
			ok0++
		}
		t := 0
		for ; t < turns; t++ {
			q, _ := e.nextQuestion(pc, post, ro)
			if q == nil || q.SymptomID == "" {
				break
			}
			asked++
			pc.asked[q.SymptomID] = true
			pc.answers++
			if s, ok := implicit[q.SymptomID]; ok {
				pc.state[q.SymptomID] = s
				answered++
				if post, ro, err = e.interviewPosterior(ctx, pc); err != nil {
					return nil, err
				}
			}
			if l, _ := e.predictLabel(post, labelList); l == c.Disease {
				byTurn[t+1]++
			}
		}
		for ; t < turns; t++ {
			if l, _ := e.predictLabel(post, labelList); l == c.Disease {
				byTurn[t+1]++
			}
		}
		label, p = e.predictLabel(post, labelList)
		after.add(p, label == c.Disease)
		if label == c.Disease {
			ok1++
			res.PerDisease[c.Disease]++
		}
	}
	byTurn[0] = ok0
	res.Calibration.Before, res.Calibration.After = before.result(), after.result()
	if res.N > 0 {
		for _, k := range byTurn {
			res.ByTurn = append(res.ByTurn, float64(k)/float64(res.N))
		}
		res.NoQuestions = float64(ok0) / float64(res.N)
		res.WithQuestion = float64(ok1) / float64(res.N)
		res.MeanAsked = float64(asked) / float64(res.N)
	}
	if asked > 0 {
		res.AnsweredRate = float64(answered) / float64(asked)
	}
	if implicitN > 0 {
		res.ImplicitFound = float64(answered) / float64(implicitN)
	}
	if names > 0 {
		res.Coverage = 1 - float64(unmappedN)/float64(names)
	}
	return res, nil
}

// interviewPosterior is the engine's differential for the case as
// Triage computes it: naive Bayes, blended with the ranker when loaded.
func (e *Engine) interviewPosterior(ctx context.Context, pc *patientCase) ([]scored, *rankerOut, error) {
	post := e.nb.posterior(pc, pc.state)
	if e.disease == nil {
		return post, nil, nil
	}
	ro, err := e.rank(ctx, newInputs(pc).of(e.disease))
	if err != nil {
		return nil, nil, err
	}
	return e.blend(pc, post, ro), ro, nil
}

func (e *Engine) predictLabel(post []scored, labels []string) (string, float64) {
	prob := map[string]float64{}
	for _, s := range post {
		prob[e.nb.diseases[s.idx].ID] = s.prob
	}
	best, bestP := "", -1.0
	for _, l := range labels {
		var p float64
		for _, id := range benchmarkDiseases[l] {
			p += prob[id]
		}
		if p > bestP {
			best, bestP = l, p
		}
	}
	return best, bestP
}

// Reliability is a reliability diagram in ten equal-width confidence
// bins (empty bins left out) and its expected calibration error: the
// case-weighted mean gap between confidence and accuracy.
type Reliability struct {
	ECE  float64          `json:"ece"`
	Bins []ReliabilityBin `json:"bins"`
}

// ReliabilityBin holds the cases whose confidence is in [Lo, Lo+0.1).
type ReliabilityBin struct {
	Lo         float64 `json:"lo"`
	N          int     `json:"n"`
	Confidence float64 `json:"confidence"` // mean
	Accuracy   float64 `json:"accuracy"`
}

type reliabilityBins struct {
	n       [10]int
	conf    [10]float64
	correct [10]int
}

func (b *reliabilityBins) add(p float64, ok bool) {
	i := min(int(p*10), 9)
	i = max(i, 0)
	b.n[i]++
	b.conf[i] += p
	if ok {
		b.correct[i]++
	}
}

func (b *reliabilityBins) result() Reliability {
	var r Reliability
	total := 0
	for _, n := range b.n {
		total += n
	}
	for i, n := range b.n {
		if n == 0 {
			continue
		}
		bin := ReliabilityBin{Lo: float64(i) / 10, N: n, Confidence: b.conf[i] / float64(n), Accuracy: float64(b.correct[i]) / float64(n)}
		r.Bins = append(r.Bins, bin)
		r.ECE += float64(n) / float64(total) * math.Abs(bin.Confidence-bin.Accuracy)
	}
	return r
}

// symptomID maps a benchmark symptom name to a KG id: by name or synonym,
// else through the extractor.
func (e *Engine) symptomID(name string) string {
	if s, ok := e.kg.SymptomByName(name); ok {
		return s.ID
	}
	r := e.x.Extract(name)
	for _, m := range r.Symptoms {
		if m.State == StatePresent {
			return m.ID
		}
	}
	return ""
}

func boolState(v bool) string {
	if v {
		return StatePresent
	}
	return StateAbsent
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Print writes the result with the published figures beside it.
func (r *InterviewResult) Print(w io.Writer) {
	fmt.Fprintf(w, "%s (%s part): n=%d  top-1 without questions %.4f, after ≤%d questions %.4f  published: %s\n",
		r.Set, r.Split, r.N, r.NoQuestions, r.Turns, r.WithQuestion, r.Published)
	fmt.Fprintf(w, "    top-1 by turn %v\n", roundAll(r.ByTurn))
	fmt.Fprintf(w, "    mean %.2f questions, %.0f%% hit an implicit symptom, %.0f%% of implicit symptoms found; %.1f%% of symptom names map to the KG; models %v\n",
		r.MeanAsked, 100*r.AnsweredRate, 100*r.ImplicitFound, 100*r.Coverage, r.Models)
	for _, c := range []struct {
		name string
		r    Reliability
	}{{"before", r.Calibration.Before}, {"after", r.Calibration.After}} {
		fmt.Fprintf(w, "    calibration %s the interview: ECE %.3f; confidence→accuracy (n)", c.name, c.r.ECE)
		for _, b := range c.r.Bins {
			fmt.Fprintf(w, "  %.2f→%.2f (%d)", b.Confidence, b.Accuracy, b.N)
		}
		fmt.Fprintln(w)
	}
	names := make([]string, 0, len(r.Support))
	for k := range r.Support {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "    %-8s recall %.3f (n=%d)\n", k, float64(r.PerDisease[k])/float64(r.Support[k]), r.Support[k])
	}
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x*1000) / 1000
	}
	return out
}
