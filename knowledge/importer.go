package knowledge

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Imported relations carry no frequency, so a middling one is assumed.
const importedFrequency = 0.5

// maxTermRunes rejects names that are sentences rather than terms.
const maxTermRunes = 30

// LineError is one malformed input line, skipped by the importer.
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

// Counts of one kind of item in an import.
type Counts struct {
	Added    int `json:"added"`
	Merged   int `json:"merged"`
	Rejected int `json:"rejected"`
}

// ImportReport says what one source added, merged or rejected.
type ImportReport struct {
	Source      string            `json:"source"`
	Lines       int               `json:"lines"`
	Malformed   []LineError       `json:"malformed,omitempty"`
	Diseases    Counts            `json:"diseases"`
	Symptoms    Counts            `json:"symptoms"`
	Checks      Counts            `json:"checks"`
	Drugs       Counts            `json:"drugs"`
	Departments map[string]string `json:"departments"` // source label → code ("" unmapped)
	Skipped     []string          `json:"skipped,omitempty"`
	Reasons     map[string]int    `json:"reasons,omitempty"` // rejection reason → count
}

// DepartmentsMapped counts distinct labels mapped to an official code.
func (r *ImportReport) DepartmentsMapped() (mapped, total int) {
	for _, c := range r.Departments {
		if c != "" {
			mapped++
		}
	}
	return mapped, len(r.Departments)
}

func (r *ImportReport) reject(c *Counts, reason string) {
	c.Rejected++
	if r.Reasons == nil {
		r.Reasons = map[string]int{}
	}
	r.Reasons[reason]++
}

// Importer merges third-party sources into a copy of a base KG.
type Importer struct {
	base     *KG
	b        Bundle
	symIdx   map[string]int
	checkIdx map[string]int
	drugIdx  map[string]int
	disIdx   map[string]int
	ids      map[string]bool
	pending  map[int][]string // disease index → complication names
}

// NewImporter starts an import on top of base (usually the default KG).
func NewImporter(base *KG) *Importer {
	im := &Importer{
		base: base, symIdx: map[string]int{}, checkIdx: map[string]int{}, drugIdx: map[string]int{},
		disIdx: map[string]int{}, ids: map[string]bool{}, pending: map[int][]string{},
	}
	b := base.Bundle()
	// Deep enough copy: the slices we append to or edit.
	im.b = Bundle{Version: BundleVersion, Departments: b.Departments, BodyParts: b.BodyParts, RedFlags: b.RedFlags,
		Symptoms: append([]Symptom(nil), b.Symptoms...), Checks: append([]Check(nil), b.Checks...),
		Drugs: append([]Drug(nil), b.Drugs...), Diseases: make([]Disease, len(b.Diseases))}
	for i, d := range b.Diseases {
		d.Symptoms = copyMap(d.Symptoms)
		d.Aliases = append([]string(nil), d.Aliases...)
		d.Checks = append([]string(nil), d.Checks...)
		d.Drugs = append([]string(nil), d.Drugs...)
		d.Departments = append([]string(nil), d.Departments...)
		im.b.Diseases[i] = d
	}
	for i, s := range im.b.Symptoms {
		im.index(im.symIdx, i, s.ID, s.Name, s.Synonyms...)
	}
	for i, c := range im.b.Checks {
		im.index(im.checkIdx, i, c.ID, c.Name, c.Synonyms...)
	}
	for i, d := range im.b.Drugs {
		im.index(im.drugIdx, i, d.ID, d.Name, d.Synonyms...)
	}
	for i, d := range im.b.Diseases {
		im.index(im.disIdx, i, d.ID, d.Name, d.Aliases...)
	}
	return im
}

func copyMap(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (im *Importer) index(m map[string]int, i int, id, name string, syns ...string) {
	im.ids[id] = true
	for _, n := range append([]string{name}, syns...) {
		if n = Normalize(n); n != "" {
			if _, ok := m[n]; !ok {
				m[n] = i
			}
		}
	}
}

// newID derives a stable ASCII id from a Chinese name.
func (im *Importer) newID(prefix, name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	id := fmt.Sprintf("%s_%012x", prefix, h.Sum64()&0xffffffffffff)
	for n := 2; im.ids[id]; n++ {
		id = fmt.Sprintf("%s_%012x_%d", prefix, h.Sum64()&0xffffffffffff, n)
	}
	im.ids[id] = true
	return id
}

// cleanTerm trims a source term and rejects truncated or sentence-like ones.
func cleanTerm(s string) (string, string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "empty name"
	case strings.HasSuffix(s, "...") || strings.HasSuffix(s, "…"):
		return "", "truncated name"
	case utf8.RuneCountInString(s) > maxTermRunes:
		return "", "name too long"
	case strings.ContainsAny(s, "\t\n"):
		return "", "control characters in name"
	}
	return s, ""
}

func (im *Importer) symptom(name string, r *ImportReport) (string, bool) {
	name, why := cleanTerm(name)
	if why != "" {
		r.reject(&r.Symptoms, "symptom: "+why)
		return "", false
	}
	if i, ok := im.symIdx[Normalize(name)]; ok {
		r.Symptoms.Merged++
		return im.b.Symptoms[i].ID, true
	}
	id := im.newID("sym", name)
	im.b.Symptoms = append(im.b.Symptoms, Symptom{ID: id, Name: name})
	im.symIdx[Normalize(name)] = len(im.b.Symptoms) - 1
	r.Symptoms.Added++
	return id, true
}

func (im *Importer) check(name string, r *ImportReport) (string, bool) {
	name, why := cleanTerm(name)
	if why != "" {
		r.reject(&r.Checks, "check: "+why)
		return "", false
	}
	if i, ok := im.checkIdx[Normalize(name)]; ok {
		r.Checks.Merged++
		return im.b.Checks[i].ID, true
	}
	id := im.newID("chk", name)
	im.b.Checks = append(im.b.Checks, Check{ID: id, Name: name})
	im.checkIdx[Normalize(name)] = len(im.b.Checks) - 1
	r.Checks.Added++
	return id, true
}

func (im *Importer) drug(name string, r *ImportReport) (string, bool) {
	name, why := cleanTerm(name)
	if why != "" {
		r.reject(&r.Drugs, "drug: "+why)
		return "", false
	}
	if i, ok := im.drugIdx[Normalize(name)]; ok {
		r.Drugs.Merged++
		return im.b.Drugs[i].ID, true
	}
	id := im.newID("drg", name)
	im.b.Drugs = append(im.b.Drugs, Drug{ID: id, Name: name})
	im.drugIdx[Normalize(name)] = len(im.b.Drugs) - 1
	r.Drugs.Added++
	return id, true
}

// department maps a platform label to an official code: catalogue names
// and aliases first, then the label without its 科/门诊 suffix.
func (im *Importer) department(label string, r *ImportReport) string {
	label = strings.TrimSpace(label)
	if label == "" {
		return ""
	}
	code, seen := r.Departments[label]
	if seen {
		return code
	}
	if d, ok := im.base.DepartmentByAlias(label); ok {
		code = d.Code
	} else {
		stem := strings.TrimSuffix(strings.TrimSuffix(label, "门诊"), "科")
		for _, try := range []string{stem, stem + "科", stem + "内科", stem + "外科"} {
			if d, ok := im.base.DepartmentByAlias(try); ok && try != "" {
				code = d.Code
				break
			}
		}
	}
	r.Departments[label] = code
	return code
}

// record is one disease from any source, already mapped to our fields.
type record struct {
	name          string
	aliases       []string
	departments   []string
	symptoms      []string
	checks        []string
	drugs         []string
	complications []string
	age           string
	description   string
}

func (im *Importer) addRecord(rec record, r *ImportReport) {
	name, why := cleanTerm(rec.name)
	if why != "" {
		r.reject(&r.Diseases, "disease: "+why)
		return
	}
	// Departments: prefer the most specific mapped label (内科 消化内科 → 03.02).
	var codes []string
	for _, l := range rec.departments {
		if c := im.department(l, r); c != "" && !contains(codes, c) {
			codes = append(codes, c)
		}
	}
	sort.SliceStable(codes, func(i, j int) bool { return len(codes[i]) > len(codes[j]) })
	syms := map[string]float64{}
	for _, s := range rec.symptoms {
		if id, ok := im.symptom(s, r); ok {
			syms[id] = importedFrequency
		}
	}
	var checks, drugs []string
	for _, c := range rec.checks {
		if id, ok := im.check(c, r); ok && !contains(checks, id) {
			checks = append(checks, id)
		}
	}
	for _, d := range rec.drugs {
		if id, ok := im.drug(d, r); ok && !contains(drugs, id) {
			drugs = append(drugs, id)
		}
	}
	if i, ok := im.lookupDisease(name, rec.aliases); ok {
		d := &im.b.Diseases[i]
		for id := range syms {
			if _, has := d.Symptoms[id]; !has {
				d.Symptoms[id] = importedFrequency
			}
		}
		d.Checks = union(d.Checks, checks)
		d.Drugs = union(d.Drugs, drugs)
		for _, c := range codes {
			if c != d.Department && !contains(d.Departments, c) {
				d.Departments = append(d.Departments, c)
			}
		}
		if d.Description == "" {
			d.Description = rec.description
		}
		im.pending[i] = append(im.pending[i], rec.complications...)
		r.Diseases.Merged++
		return
	}
	if len(codes) == 0 {
		r.reject(&r.Diseases, "disease: no department maps to an official code")
		return
	}
	if len(syms) == 0 {
		r.reject(&r.Diseases, "disease: no usable symptoms")
		return
	}
	d := Disease{ID: im.newID("dis", name), Name: name, Department: codes[0], Departments: codes[1:],
		Symptoms: syms, Checks: checks, Drugs: drugs, Description: rec.description}
	for _, a := range rec.aliases {
		if a, why := cleanTerm(a); why == "" && a != name && !contains(d.Aliases, a) {
			d.Aliases = append(d.Aliases, a)
		}
	}
	d.Age, d.Sex = parseAgeSex(rec.age)
	im.b.Diseases = append(im.b.Diseases, d)
	i := len(im.b.Diseases) - 1
	im.index(im.disIdx, i, d.ID, d.Name, d.Aliases...)
	im.pending[i] = append(im.pending[i], rec.complications...)
	r.Diseases.Added++
}

func (im *Importer) lookupDisease(name string, aliases []string) (int, bool) {
	for _, n := range append([]string{name}, aliases...) {
		if i, ok := im.disIdx[Normalize(n)]; ok {
			return i, true
		}
	}
	return 0, false
}

// parseAgeSex reads kg39's free-text population ("成年男性", "儿童").
func parseAgeSex(s string) ([]float64, string) {
	var age []float64
	switch {
	case strings.Contains(s, "所有人群") || s == "":
	case strings.Contains(s, "新生儿") || strings.Contains(s, "婴"):
		age = []float64{0, 3}
	case strings.Contains(s, "儿童") || strings.Contains(s, "小儿") || strings.Contains(s, "幼"):
		age = []float64{0, 14}
	case strings.Contains(s, "老年"):
		age = []float64{50, 120}
	}
	sex := ""
	male := strings.Contains(s, "男")
	female := strings.Contains(s, "女") || strings.Contains(s, "妇") || strings.Contains(s, "孕")
	if male && !female {
		sex = "male"
	} else if female && !male {
		sex = "female"
	}
	return age, sex
}

func union(a, b []string) []string {
	for _, x := range b {
		if !contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// maxLine bounds one JSON line (kg39 lines are a few KB).
const maxLine = 4 << 20

// readJSONLines decodes one JSON object per line into T, reporting
// malformed lines with their number.
func readJSONLines[T any](r io.Reader, rep *ImportReport, fn func(T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		rep.Lines++
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			rep.Malformed = append(rep.Malformed, LineError{Line: n, Err: err.Error()})
			continue
		}
		if err := fn(v); err != nil {
			rep.Malformed = append(rep.Malformed, LineError{Line: n, Err: err.Error()})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: after line %d: %w", rep.Source, rep.Lines, err)
	}
	return nil
}

func newReport(source string) *ImportReport {
	return &ImportReport{Source: source, Departments: map[string]string{}}
}

// kg39Record is a line of kg39_diseases.jsonl.
type kg39Record struct {
	Name          string   `json:"name"`
	Alias         []string `json:"alias"`
	Age           string   `json:"age"`
	Department    []string `json:"department"`
	Checks        []string `json:"checks"`
	Symptoms      []string `json:"symptoms"`
	Complications []string `json:"complications"`
	Drugs         []string `json:"drugs"`
}

var errNoName = errors.New(`missing "name"`)

// ImportKG39 reads the kg39 disease knowledge base (one JSON object a line).
func (im *Importer) ImportKG39(r io.Reader, source string) (*ImportReport, error) {
	rep := newReport(source)
	err := readJSONLines(r, rep, func(v kg39Record) error {
		if strings.TrimSpace(v.Name) == "" {
			return errNoName
		}
		im.addRecord(record{name: v.Name, aliases: v.Alias, departments: v.Department, symptoms: v.Symptoms,
			checks: v.Checks, drugs: v.Drugs, complications: v.Complications, age: v.Age}, rep)
		return nil
	})
	return rep, err
}

// qaRecord is a line of QASystemOnMedicalKG's medical.json.
type qaRecord struct {
	Name           string   `json:"name"`
	Desc           string   `json:"desc"`
	Symptom        []string `json:"symptom"`
	CureDepartment []string `json:"cure_department"`
	Check          []string `json:"check"`
	CommonDrug     []string `json:"common_drug"`
	RecommandDrug  []string `json:"recommand_drug"`
	Acompany       []string `json:"acompany"`
	EasyGet        string   `json:"easy_get"`
}

// ImportQASystem reads the QASystemOnMedicalKG format.
func (im *Importer) ImportQASystem(r io.Reader, source string) (*ImportReport, error) {
	rep := newReport(source)
	err := readJSONLines(r, rep, func(v qaRecord) error {
		if strings.TrimSpace(v.Name) == "" {
			return errNoName
		}
		desc := v.Desc
		if utf8.RuneCountInString(desc) > 500 {
			desc = string([]rune(desc)[:500]) + "…"
		}
		im.addRecord(record{name: v.Name, departments: v.CureDepartment, symptoms: v.Symptom, checks: v.Check,
			drugs: union(append([]string(nil), v.CommonDrug...), v.RecommandDrug), complications: v.Acompany,
			age: v.EasyGet, description: desc}, rep)
		return nil
	})
	return rep, err
}

// ImportDict reads plain term lists (one term a line) from dir:
// symptom.txt, check.txt and drug.txt add terms; department.txt is mapped
// to codes; disease.txt names known diseases only (a bare name has no
// department or symptoms); other files are skipped and reported.
func (im *Importer) ImportDict(dir string) (*ImportReport, error) {
	rep := newReport(dir)
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .txt term lists", dir)
	}
	sort.Strings(files)
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".txt")
		var add func(string)
		switch base {
		case "symptom":
			add = func(s string) { im.symptom(s, rep) }
		case "check":
			add = func(s string) { im.check(s, rep) }
		case "drug":
			add = func(s string) { im.drug(s, rep) }
		case "department":
			add = func(s string) { im.department(s, rep) }
		case "disease":
			add = func(s string) {
				if _, ok := im.lookupDisease(strings.TrimSpace(s), nil); ok {
					rep.Diseases.Merged++
				} else {
					rep.reject(&rep.Diseases, "disease: bare name without department or symptoms")
				}
			}
		default:
			rep.Skipped = append(rep.Skipped, filepath.Base(f)+" (not a KG kind)")
			continue
		}
		if err := readLines(f, rep, add); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func readLines(path string, rep *ImportReport, add func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		rep.Lines++
		if !utf8.ValidString(line) {
			rep.Malformed = append(rep.Malformed, LineError{Line: n, Err: filepath.Base(path) + ": invalid UTF-8"})
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		add(line)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// KG resolves complications by name (unknown ones are dropped and
// counted in the returned number) and builds the validated merged KG.
func (im *Importer) KG() (*KG, int, error) {
	dropped := 0
	idxs := make([]int, 0, len(im.pending))
	for i := range im.pending {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	for _, i := range idxs {
		d := &im.b.Diseases[i]
		for _, name := range im.pending[i] {
			j, ok := im.disIdx[Normalize(name)]
			if !ok || j == i {
				dropped++
				continue
			}
			if id := im.b.Diseases[j].ID; !contains(d.Complications, id) {
				d.Complications = append(d.Complications, id)
			}
		}
	}
	im.pending = map[int][]string{}
	g, err := FromBundle(im.b, "imported KG")
	if err != nil {
		return nil, dropped, fmt.Errorf("merged KG: %w", err)
	}
	return g, dropped, nil
}
