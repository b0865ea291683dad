package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fenzhen/fenzhen/eval/corpus"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/triage"
)

// The pre-consultation record evaluation: drafts of POST /v1/record scored
// against the hand-written reference records of
// models/triage/labels/records_ref.jsonl by the rules of
// docs/labelling/records.md (patient line, 主诉 acceptable, findings
// precision and recall per section, invented statements).

// RecordRef is one reference record.
type RecordRef struct {
	Key     string `json:"key"`
	SHA8    string `json:"sha8"`
	Patient struct {
		Sex      string `json:"sex"`
		Age      string `json:"age"`
		Reporter string `json:"reporter"`
	} `json:"patient"`
	ChiefComplaint string   `json:"chief_complaint"`
	CCSymptoms     []string `json:"cc_symptoms"`
	CCDuration     string   `json:"cc_duration"`
	PresentIllness struct {
		Positives []string `json:"positives"`
		Negatives []string `json:"negatives"`
		Details   []string `json:"details"`
	} `json:"present_illness"`
	PastHistory       []string `json:"past_history"`
	AllergyHistory    []string `json:"allergy_history"`
	MedicationHistory []string `json:"medication_history"`
	Menstrual         []string `json:"menstrual_obstetric_history"`
	PersonalHistory   []string `json:"personal_history"`
	Split             string   `json:"-"`
}

// RecordSections are the scored sections, in report order.
var RecordSections = []string{"positives", "negatives", triage.SecPastHistory, triage.SecAllergyHistory,
	triage.SecMedicationHistory, triage.SecMenstrualObstetric, triage.SecPersonalHistory}

func (r *RecordRef) items(sec string) []string {
	switch sec {
	case "positives":
		return r.PresentIllness.Positives
	case "negatives":
		return r.PresentIllness.Negatives
	case triage.SecPastHistory:
		return r.PastHistory
	case triage.SecAllergyHistory:
		return r.AllergyHistory
	case triage.SecMedicationHistory:
		return r.MedicationHistory
	case triage.SecMenstrualObstetric:
		return r.Menstrual
	case triage.SecPersonalHistory:
		return r.PersonalHistory
	}
	return nil
}

// LoadRecordRefs reads the reference records and their split
// (records_split.tsv beside the file).
func LoadRecordRefs(path string) ([]RecordRef, error) {
	split := map[string]string{}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(path), "records_split.tsv"))
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		if k, s, ok := strings.Cut(line, "\t"); ok {
			split[k] = s
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []RecordRef
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for n := 1; sc.Scan(); n++ {
		var r RecordRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		if r.Split = split[r.Key]; r.Split == "" {
			return nil, fmt.Errorf("%s: %s has no split in records_split.tsv", path, r.Key)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// RecordTexts reads the texts of the references' keys (xf, im, cm from the
// consultation sets, dxy:<n> = line n of diagnosis/dxy_train.jsonl), each
// checked against its sha8.
func RecordTexts(dataDir string, refs []RecordRef) (map[string]string, error) {
	want := map[string]string{}
	dxy := map[int]string{}
	for _, r := range refs {
		if n, ok := strings.CutPrefix(r.Key, "dxy:"); ok {
			var i int
			if _, err := fmt.Sscan(n, &i); err != nil {
				return nil, fmt.Errorf("bad key %s", r.Key)
			}
			dxy[i] = r.Key
			continue
		}
		want[r.Key] = r.SHA8
	}
	cases, err := corpus.ByKey(dataDir, want)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, c := range cases {
		out[k] = c.Text
	}
	if len(dxy) > 0 {
		path := filepath.Join(dataDir, "diagnosis", "dxy_train.jsonl")
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", corpus.ErrNoData, path)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for n := 0; sc.Scan(); n++ {
			key, ok := dxy[n]
			if !ok {
				continue
			}
			var row struct {
				SelfReport string `json:"self_report"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, n+1, err)
			}
			out[key] = row.SelfReport
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	for _, r := range refs {
		t, ok := out[r.Key]
		if !ok {
			return nil, fmt.Errorf("no text for %s", r.Key)
		}
		if corpus.SHA8(t) != r.SHA8 {
			return nil, fmt.Errorf("%s: text changed (sha8 %s, reference %s)", r.Key, corpus.SHA8(t), r.SHA8)
		}
	}
	return out, nil
}

// PR counts matches of one section.
type PR struct {
	DraftItems, DraftCorrect int
	RefItems, RefFound       int
}

// Precision of the draft's items (1 when it wrote none).
func (p PR) Precision() float64 { return ratio(p.DraftCorrect, p.DraftItems) }

// Recall of the reference's items (1 when it has none).
func (p PR) Recall() float64 { return ratio(p.RefFound, p.RefItems) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// RecordScore is the result of RecordEval.
type RecordScore struct {
	Records      int           `json:"records"`
	CCAcceptable int           `json:"cc_acceptable"`
	Sex          int           `json:"sex_right"`
	Age          int           `json:"age_right"`
	Reporter     int           `json:"reporter_right"`
	Sections     map[string]PR `json:"sections"`
	// Invented: statements CheckRecord rejects; InventedRecords: records
	// with at least one.
	Invented        int      `json:"invented"`
	InventedRecords int      `json:"invented_records"`
	Misses          []string `json:"misses,omitempty"`
}

// Scorer matches record items by standard term.
type Scorer struct {
	KG *knowledge.KG
	X  *nlp.Extractor
}

// ids are the KG symptom ids an item names: its own name, else what the
// extractor reads in it (a composite gives its parts too).
func (s Scorer) ids(item string) map[string]bool {
	out := map[string]bool{}
	core := coreTerm(item)
	if sym, ok := s.KG.SymptomByName(core); ok {
		out[sym.ID] = true
	}
	for _, m := range s.X.Extract(core).Symptoms {
		out[m.ID] = true
	}
	if d, ok := s.KG.DiseaseByName(core); ok {
		out["disease:"+d.ID] = true
	}
	return out
}

var qualifier = regexp.MustCompile(`[（(][^）)]*[）)]`)
var timeSuffix = regexp.MustCompile(`([0-9一二两三四五六七八九十半几好大]+[-~]?[0-9]*(个)?(多|余)?(小时|天|日|周|星期|个月|月|年)(多|余)?(前|以来|余)?|今晨|昨晚|今日|今天|昨天|近期|最近|反复)`)

// coreTerm strips qualifiers and times from an item (高血压10年 → 高血压).
func coreTerm(item string) string {
	s := qualifier.ReplaceAllString(item, "")
	s = timeSuffix.ReplaceAllString(s, "")
	return strings.Trim(s, "，,、 ")
}

// Match reports whether a draft item and a reference item name the same thing.
func (s Scorer) Match(draft, ref string, symptoms bool) bool {
	a, b := coreTerm(draft), coreTerm(ref)
	if a == "" || b == "" {
		return false
	}
	if a == b || (utf8.RuneCountInString(a) >= 2 && strings.Contains(b, a)) || (utf8.RuneCountInString(b) >= 2 && strings.Contains(a, b)) {
		return digitsAgree(draft, ref)
	}
	ia, ib := s.ids(a), s.ids(b)
	for k := range ia {
		if ib[k] {
			return digitsAgree(draft, ref)
		}
	}
	return false
}

var digits = regexp.MustCompile(`[0-9]+`)

func digitsAgree(a, b string) bool {
	da, db := digits.FindAllString(nlp.SaidTime(a), -1), digits.FindAllString(nlp.SaidTime(b), -1)
	if len(da) == 0 || len(db) == 0 {
		return true
	}
	return strings.Join(da, ",") == strings.Join(db, ",")
}

// ccTimes finds the times a 主诉 gives.
var ccTimes = regexp.MustCompile(`[0-9]+[-~]?[0-9]*(个)?(多|余)?(小时|天|日|周|星期|个月|月|年|晚)(多|余)?|半(个)?(多)?(小时|天|月|年)(多|余)?|大半年|今晨|今日|今天|今晚|昨日|昨天|昨晚|昨夜|前日|前天|前晚|上周|上月|去年|[0-9]+号晚?`)

// CCAcceptable judges a 主诉 by the rules of docs/labelling/records.md.
func (s Scorer) CCAcceptable(cc string, ref *RecordRef) (bool, string) {
	if cc == "" {
		return false, "empty"
	}
	if utf8.RuneCountInString(cc) > 20 {
		return false, "longer than 20"
	}
	named := false
	for _, t := range ref.CCSymptoms {
		if strings.Contains(cc, t) {
			named = true
			break
		}
		for _, part := range strings.FieldsFunc(qualifier.ReplaceAllString(cc, ""), func(r rune) bool { return strings.ContainsRune("，、,；", r) }) {
			if s.Match(part, t, true) {
				named = true
				break
			}
		}
	}
	if !named {
		return false, "names none of " + strings.Join(ref.CCSymptoms, "/")
	}
	want := normTime(ref.CCDuration)
	got := ccTimes.FindAllString(nlp.SaidTime(cc), -1)
	if want != "" && !strings.Contains(normTime(cc), want) {
		return false, "no time " + ref.CCDuration
	}
	for _, g := range got {
		if g = normTime(g); want == "" || !strings.Contains(want, g) {
			return false, "other time " + g
		}
	}
	for _, h := range append(append(append([]string{}, ref.PastHistory...), ref.AllergyHistory...), ref.MedicationHistory...) {
		h = coreTerm(h)
		if utf8.RuneCountInString(h) < 2 || !strings.Contains(cc, h) {
			continue
		}
		also := false
		for _, t := range ref.CCSymptoms {
			if strings.Contains(t, h) || strings.Contains(h, t) {
				also = true
			}
		}
		if !also {
			return false, "history item " + h
		}
	}
	return true, ""
}

// normTime compares times: numerals as digits, point words in one form.
func normTime(t string) string {
	t = nlp.SaidTime(t)
	r := strings.NewReplacer("今天早上", "今晨", "今早", "今晨", "今天", "今日", "昨天晚上", "昨晚", "昨天", "昨日", "前天晚上", "前晚",
		"前天", "前日", "余", "多", "星期", "周")
	return r.Replace(t)
}

// ScoreRecord scores one draft against its reference into sc.
func (s Scorer) ScoreRecord(text string, draft *triage.RecordResponse, ref *RecordRef, sc *RecordScore) {
	sc.Records++
	var miss []string
	if ok, why := s.CCAcceptable(draft.ChiefComplaint, ref); ok {
		sc.CCAcceptable++
	} else {
		miss = append(miss, fmt.Sprintf("主诉 %q: %s (ref %q)", draft.ChiefComplaint, why, ref.ChiefComplaint))
	}
	if draft.Patient.Sex == ref.Patient.Sex {
		sc.Sex++
	} else {
		miss = append(miss, fmt.Sprintf("sex %q ref %q", draft.Patient.Sex, ref.Patient.Sex))
	}
	if nlp.SaidTime(draft.Patient.Age) == nlp.SaidTime(ref.Patient.Age) {
		sc.Age++
	} else {
		miss = append(miss, fmt.Sprintf("age %q ref %q", draft.Patient.Age, ref.Patient.Age))
	}
	if draft.Patient.Reporter == ref.Patient.Reporter {
		sc.Reporter++
	} else {
		miss = append(miss, fmt.Sprintf("reporter %q ref %q", draft.Patient.Reporter, ref.Patient.Reporter))
	}
	if sc.Sections == nil {
		sc.Sections = map[string]PR{}
	}
	for _, sec := range RecordSections {
		d := DraftItems(draft, sec)
		r := ref.items(sec)
		pr := sc.Sections[sec]
		pr.DraftItems += len(d)
		pr.RefItems += len(r)
		for _, di := range d {
			ok := false
			for _, ri := range r {
				if s.Match(di, ri, sec == "positives" || sec == "negatives") {
					ok = true
					break
				}
			}
			if ok {
				pr.DraftCorrect++
			} else {
				miss = append(miss, fmt.Sprintf("%s: extra %q", sec, di))
			}
		}
		for _, ri := range r {
			ok := false
			for _, di := range d {
				if s.Match(di, ri, sec == "positives" || sec == "negatives") {
					ok = true
					break
				}
			}
			if ok {
				pr.RefFound++
			} else {
				miss = append(miss, fmt.Sprintf("%s: missed %q", sec, ri))
			}
		}
		sc.Sections[sec] = pr
	}
	if bad := triage.CheckRecord(text, draft); len(bad) > 0 {
		sc.Invented += len(bad)
		sc.InventedRecords++
		miss = append(miss, bad...)
	}
	if len(miss) > 0 {
		sc.Misses = append(sc.Misses, ref.Key+": "+strings.Join(miss, "; "))
	}
}

// DraftItems lists a draft's items of one scored section.
func DraftItems(d *triage.RecordResponse, sec string) []string {
	switch sec {
	case "positives":
		return d.Positives
	case "negatives":
		return d.Negatives
	}
	var out []string
	for _, s := range d.Sections {
		if s.Key == sec {
			for _, st := range s.Statements {
				out = append(out, st.Text)
			}
		}
	}
	return out
}

// Record posts one text to /v1/record.
func (s *Stack) Record(ctx context.Context, req triage.Request) (*triage.RecordResponse, error) {
	var out triage.RecordResponse
	code, err := s.Post(ctx, "/v1/record", req, &out)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/v1/record answered %d", code)
	}
	return &out, nil
}

// EvalRecords drafts the record of every reference of split ("dev", "test"
// or "all") through the server and scores it.
func EvalRecords(ctx context.Context, st *Stack, refs []RecordRef, texts map[string]string, split string) (*RecordScore, error) {
	sc := &RecordScore{Sections: map[string]PR{}}
	s := Scorer{KG: st.KG, X: st.X}
	for i := range refs {
		r := &refs[i]
		if split != "all" && r.Split != split {
			continue
		}
		d, err := st.Record(ctx, triage.Request{Text: texts[r.Key]})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Key, err)
		}
		s.ScoreRecord(texts[r.Key], d, r, sc)
	}
	sort.Strings(sc.Misses)
	return sc, nil
}

// GroundingRun is the invented-statement check and latency over a set of
// texts (every xfyun text with --all-xfyun).
type GroundingRun struct {
	Texts      int      `json:"texts"`
	Statements int      `json:"statements"`
	Invented   int      `json:"invented"`
	Examples   []string `json:"examples,omitempty"` // keys and the check's complaint, never the text
	P50, P99   time.Duration
}

// CheckRecords drafts a record for every text through the server, one at
// a time (one client), and checks every statement.
func CheckRecords(ctx context.Context, st *Stack, keys, texts []string) (*GroundingRun, error) {
	g := &GroundingRun{}
	lat := make([]time.Duration, 0, len(texts))
	for i, t := range texts {
		t0 := time.Now()
		d, err := st.Record(ctx, triage.Request{Text: t})
		lat = append(lat, time.Since(t0))
		if err != nil {
			continue // a text the API refuses (empty, too long) has no record
		}
		g.Texts++
		for _, s := range d.Sections {
			g.Statements += len(s.Statements)
		}
		g.Statements += len(d.Patient.Statements)
		if bad := triage.CheckRecord(t, d); len(bad) > 0 {
			g.Invented += len(bad)
			if len(g.Examples) < 20 {
				g.Examples = append(g.Examples, keys[i]+": "+bad[0])
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		g.P50, g.P99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	return g, nil
}
