package eval

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/triage"
)

// levels in order of urgency, least first.
var levels = []string{triage.LevelSelfCare, triage.LevelRoutine, triage.LevelUrgent, triage.LevelEmergency}

func levelRank(l string) int {
	for i, x := range levels {
		if x == l {
			return i
		}
	}
	return -1
}

// UrgencyCase is a text with the level a triage nurse gives it.
type UrgencyCase struct {
	Key   string
	Text  string
	Age   *float64
	Sex   string
	Level string
}

// ReadUrgencyFile reads level<TAB>age<TAB>sex<TAB>text lines (age and sex
// "-" when not sent); # starts a comment.
func ReadUrgencyFile(path string) ([]UrgencyCase, error) {
	var out []UrgencyCase
	err := readTSV(path, 4, func(line int, f []string) error {
		if levelRank(f[0]) < 0 {
			return fmt.Errorf("level %q", f[0])
		}
		age, sex, err := ageSex(f[1], f[2])
		if err != nil {
			return err
		}
		out = append(out, UrgencyCase{Key: fmt.Sprintf("%s:%d", filepath.Base(path), line), Level: f[0], Age: age, Sex: sex, Text: f[3]})
		return nil
	})
	return out, err
}

func ageSex(a, s string) (*float64, string, error) {
	var age *float64
	if a != "-" && a != "" {
		v, err := strconv.ParseFloat(a, 64)
		if err != nil {
			return nil, "", fmt.Errorf("age %q", a)
		}
		age = &v
	}
	if s == "-" {
		s = ""
	}
	if s != "" && s != "male" && s != "female" {
		return nil, "", fmt.Errorf("sex %q", s)
	}
	return age, s, nil
}

func readTSV(path string, cols int, row func(line int, f []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		fs := strings.Split(l, "\t")
		if len(fs) != cols {
			return fmt.Errorf("%s:%d: want %d tab-separated columns, have %d", path, n, cols, len(fs))
		}
		if err := row(n, fs); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}

// UrgencyResult scores levels against the labels.
type UrgencyResult struct {
	Name     string  `json:"name"`
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	// Confusion[expected][answered] counts cases.
	Confusion map[string]map[string]int `json:"confusion"`
	// Emergency recall and precision; the answered emergency share and the
	// labelled one.
	EmergencyRecall    float64 `json:"emergency_recall"`
	EmergencyPrecision float64 `json:"emergency_precision"`
	EmergencyShare     float64 `json:"emergency_share"`
	LabelledShare      float64 `json:"labelled_emergency_share"`
	// UnderTriaged counts answers below the label; EmergencyMissed those
	// of labelled emergencies.
	UnderTriaged    int      `json:"under_triaged"`
	EmergencyMissed int      `json:"emergency_missed"`
	OverTriaged     int      `json:"over_triaged"`
	Wrong           []string `json:"-"` // "key expected→answered"
}

// Urgency posts every case to /v1/triage and scores urgency.level.
func Urgency(ctx context.Context, s *Stack, name string, cases []UrgencyCase, explain ...func(UrgencyCase, *triage.Response)) (*UrgencyResult, error) {
	res := &UrgencyResult{Name: name, Confusion: map[string]map[string]int{}}
	var ok, tp, fp, pos int
	for _, c := range cases {
		resp, err := s.Triage(ctx, triage.Request{Text: c.Text, Age: c.Age, Sex: c.Sex})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Key, err)
		}
		got := resp.Urgency.Level
		res.N++
		if res.Confusion[c.Level] == nil {
			res.Confusion[c.Level] = map[string]int{}
		}
		res.Confusion[c.Level][got]++
		if got == c.Level {
			ok++
		} else {
			res.Wrong = append(res.Wrong, fmt.Sprintf("%s %s→%s", c.Key, c.Level, got))
			for _, f := range explain {
				f(c, resp)
			}
		}
		switch d := levelRank(got) - levelRank(c.Level); {
		case d < 0:
			res.UnderTriaged++
			if c.Level == triage.LevelEmergency {
				res.EmergencyMissed++
			}
		case d > 0:
			res.OverTriaged++
		}
		if c.Level == triage.LevelEmergency {
			pos++
			if got == triage.LevelEmergency {
				tp++
			}
		} else if got == triage.LevelEmergency {
			fp++
		}
	}
	if res.N > 0 {
		res.Accuracy = float64(ok) / float64(res.N)
		res.EmergencyShare = float64(tp+fp) / float64(res.N)
		res.LabelledShare = float64(pos) / float64(res.N)
	}
	if pos > 0 {
		res.EmergencyRecall = float64(tp) / float64(pos)
	}
	if tp+fp > 0 {
		res.EmergencyPrecision = float64(tp) / float64(tp+fp)
	}
	return res, nil
}

// Print writes the headline figures and the confusion matrix.
func (r *UrgencyResult) Print(w io.Writer) {
	fmt.Fprintf(w, "%s: n %d  level accuracy %.3f  emergency recall %.3f precision %.3f  answered emergency %.1f%% (labelled %.1f%%)  under-triaged %d (emergencies %d)  over-triaged %d\n",
		r.Name, r.N, r.Accuracy, r.EmergencyRecall, r.EmergencyPrecision, 100*r.EmergencyShare, 100*r.LabelledShare, r.UnderTriaged, r.EmergencyMissed, r.OverTriaged)
	fmt.Fprintf(w, "  %-10s", "label\\got")
	for i := len(levels) - 1; i >= 0; i-- {
		fmt.Fprintf(w, " %9s", levels[i])
	}
	fmt.Fprintln(w)
	for i := len(levels) - 1; i >= 0; i-- {
		fmt.Fprintf(w, "  %-10s", levels[i])
		for j := len(levels) - 1; j >= 0; j-- {
			fmt.Fprintf(w, " %9d", r.Confusion[levels[i]][levels[j]])
		}
		fmt.Fprintln(w)
	}
}

// DiagnosisCase is a vignette with its diagnosis (a name and the names
// also accepted).
type DiagnosisCase struct {
	Key   string
	Text  string
	Age   *float64
	Sex   string
	Names []string
}

// ReadDiagnosisFile reads expected<TAB>also_accept<TAB>age<TAB>sex<TAB>text
// lines; also_accept is comma-separated or "-".
func ReadDiagnosisFile(path string) ([]DiagnosisCase, error) {
	var out []DiagnosisCase
	err := readTSV(path, 5, func(line int, f []string) error {
		age, sex, err := ageSex(f[2], f[3])
		if err != nil {
			return err
		}
		names := []string{strings.TrimSpace(f[0])}
		if f[1] != "-" {
			for _, n := range strings.FieldsFunc(f[1], func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
				names = append(names, strings.TrimSpace(n))
			}
		}
		out = append(out, DiagnosisCase{Key: fmt.Sprintf("%s:%d", filepath.Base(path), line), Names: names, Age: age, Sex: sex, Text: f[4]})
		return nil
	})
	return out, err
}

// DiagnosisResult scores the differential.
type DiagnosisResult struct {
	Name string  `json:"name"`
	N    int     `json:"n"`
	Top1 float64 `json:"top1"`
	Top3 float64 `json:"top3"`
	// NotInKG counts cases whose diagnosis names no KG disease (always a miss).
	NotInKG int `json:"not_in_kg"`
	// Implausible counts answers with a child-only disease in an adult's
	// top 5, or an adult-only one in an infant's.
	Implausible int      `json:"implausible"`
	Wrong       []string `json:"-"`
}

// Diagnosis posts every case to /v1/triage (top_k 5) and scores diseases.
func Diagnosis(ctx context.Context, s *Stack, name string, cases []DiagnosisCase) (*DiagnosisResult, error) {
	res := &DiagnosisResult{Name: name}
	var top1, top3 int
	for _, c := range cases {
		want := map[string]bool{}
		for _, n := range c.Names {
			if d, ok := s.KG.DiseaseByName(n); ok {
				want[d.ID] = true
			}
		}
		resp, err := s.Triage(ctx, triage.Request{Text: c.Text, Age: c.Age, Sex: c.Sex, TopK: 5})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Key, err)
		}
		res.N++
		if len(want) == 0 {
			res.NotInKG++
		}
		rank := -1
		for i, d := range resp.Diseases {
			if want[d.ID] {
				rank = i
				break
			}
		}
		switch {
		case rank == 0:
			top1++
			top3++
		case rank > 0 && rank < 3:
			top3++
		}
		if rank != 0 {
			got := "-"
			if len(resp.Diseases) > 0 {
				got = resp.Diseases[0].Name
			}
			res.Wrong = append(res.Wrong, fmt.Sprintf("%s %s→%s", c.Key, c.Names[0], got))
		}
		age := -1.0
		if c.Age != nil {
			age = *c.Age
		}
		if implausible(s.KG, resp.Diseases, age) {
			res.Implausible++
		}
	}
	if res.N > 0 {
		res.Top1 = float64(top1) / float64(res.N)
		res.Top3 = float64(top3) / float64(res.N)
	}
	return res, nil
}

// ChildOnly reports a disease of children only (its KG age range ends
// by 14); AdultOnly one that starts at 14 or later.
func ChildOnly(d *knowledge.Disease) bool { _, hi := d.AgeRange(); return hi <= 14 }

// AdultOnly reports a disease that starts at 14 or later.
func AdultOnly(d *knowledge.Disease) bool { lo, _ := d.AgeRange(); return lo >= 14 }

// implausible: a child-only disease in an adult's top 5 (age ≥ 18) or an
// adult-only one in an infant's (age < 1).
func implausible(kg *knowledge.KG, ds []triage.Disease, age float64) bool {
	for i, d := range ds {
		if i == 5 {
			break
		}
		kd, ok := kg.Disease(d.ID)
		if !ok {
			continue
		}
		if age >= 18 && ChildOnly(kd) || age >= 0 && age < 1 && AdultOnly(kd) {
			return true
		}
	}
	return false
}

// Print writes the headline figures.
func (r *DiagnosisResult) Print(w io.Writer) {
	fmt.Fprintf(w, "%s: n %d  top-1 %.3f  top-3 %.3f  diagnosis not in the KG %d  implausible top-5 %d\n",
		r.Name, r.N, r.Top1, r.Top3, r.NotInKG, r.Implausible)
}
