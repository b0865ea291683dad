package triage

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// Split of the DXY / Muzhi diagnosis files (their own test splits are held
// back by the publishers, so ours are carved out of the files we have).
// Per disease label, records are ordered by FNV-1a-64 of
// "<seed>/<set>/<line index>"; the first 15 % are the test part, the next
// 15 % the validation part, the rest train. Stratified, seeded, and the
// same in Go (eval) and Python (models/triage/train_disease.py reads the
// assignment from triage/cmd/rankerdata, never recomputes it).
const (
	InterviewSplitSeed = 20241123
	interviewTestShare = 0.15
	interviewValShare  = 0.15
)

// Split names.
const (
	SplitTrain = "train"
	SplitVal   = "val"
	SplitTest  = "test"
)

// InterviewSplit returns train, val or test for each case of set ("dxy",
// "mz").
func InterviewSplit(set string, cases []InterviewCase) []string {
	byLabel := map[string][]int{}
	for i, c := range cases {
		byLabel[c.Disease] = append(byLabel[c.Disease], i)
	}
	key := func(i int) uint64 {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s/%d", InterviewSplitSeed, set, i)
		return h.Sum64()
	}
	out := make([]string, len(cases))
	for _, idx := range byLabel {
		sort.Slice(idx, func(a, b int) bool { return key(idx[a]) < key(idx[b]) })
		n := len(idx)
		nt := int(interviewTestShare*float64(n) + 0.5)
		nv := int(interviewValShare*float64(n) + 0.5)
		for k, i := range idx {
			switch {
			case k < nt:
				out[i] = SplitTest
			case k < nt+nv:
				out[i] = SplitVal
			default:
				out[i] = SplitTrain
			}
		}
	}
	return out
}

// BenchmarkDisease is the KG disease a benchmark label is trained as
// (the first of its mapped diseases); "" when the label is unknown.
func BenchmarkDisease(label string) string {
	if ids := benchmarkDiseases[label]; len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// interviewStart builds the case the engine sees before any question: the
// record's text (DXY's self-report, else the explicit symptom names) run
// through the extractor, overridden by the explicit symptoms mapped to KG
// ids. implicit holds what the simulated patient can answer; unmapped
// lists the symptom names with no KG id.
func (e *Engine) interviewStart(c InterviewCase) (pc *patientCase, text string, implicit map[string]string, unmapped []string) {
	text = c.SelfReport
	if strings.TrimSpace(text) == "" {
		text = strings.Join(sortedNames(c.Explicit), "，")
	}
	if r := []rune(text); len(r) > MaxTextRunes {
		text = string(r[:MaxTextRunes])
	}
	pc = e.buildCase(&Request{Text: text})
	// DXY and Muzhi are children's consultations (their records rarely say
	// so: Muzhi has no text at all); a platform sends the patient's age.
	if pc.age < 0 && pc.ageGroup == "" {
		pc.ageGroup = "child"
	}
	for name, v := range c.Explicit {
		if id := e.symptomID(name); id != "" {
			pc.state[id] = boolState(v)
			pc.asked[id] = true
		} else {
			unmapped = append(unmapped, name)
		}
	}
	implicit = map[string]string{}
	for _, name := range sortedNames(c.Implicit) {
		if id := e.symptomID(name); id != "" {
			if _, dup := implicit[id]; !dup || c.Implicit[name] {
				implicit[id] = boolState(c.Implicit[name])
			}
		} else {
			unmapped = append(unmapped, name)
		}
	}
	sort.Strings(unmapped)
	return pc, text, implicit, unmapped
}

// RankerRecord is one benchmark record as the disease ranker's training
// sees it (triage/cmd/rankerdata writes these).
type RankerRecord struct {
	Set      string            `json:"set"`
	Line     int               `json:"line"`
	Split    string            `json:"split"`
	Label    string            `json:"label"`    // benchmark disease name
	Disease  string            `json:"disease"`  // KG disease id trained as
	Text     string            `json:"text"`     // what the engine reads
	Patient  []int             `json:"patient"`  // feature indices past the symptoms: named diseases, patient, n-grams
	State    map[string]string `json:"state"`    // symptoms known before any question
	Implicit map[string]string `json:"implicit"` // answers the simulated patient holds
	Names    int               `json:"names"`    // explicit + implicit symptom names
	Unmapped []string          `json:"unmapped"` // names with no KG symptom
}

// RankerRecords converts benchmark cases for training the ranker.
func (e *Engine) RankerRecords(set string, cases []InterviewCase) []RankerRecord {
	split := InterviewSplit(set, cases)
	out := make([]RankerRecord, 0, len(cases))
	for i, c := range cases {
		pc, text, implicit, unmapped := e.interviewStart(c)
		var pat []int
		for _, j := range e.feat.Indices(nil, pc.extraction.Diseases, casePatient(pc), pc.extraction.Grams) {
			if j < int64(e.feat.Vocab()) {
				pat = append(pat, int(j))
			}
		}
		out = append(out, RankerRecord{
			Set: set, Line: i, Split: split[i], Label: c.Disease, Disease: BenchmarkDisease(c.Disease),
			Text: text, Patient: pat, State: pc.state, Implicit: implicit,
			Names: len(c.Explicit) + len(c.Implicit), Unmapped: unmapped,
		})
	}
	return out
}
