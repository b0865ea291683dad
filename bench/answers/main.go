// Command answers dumps the /v1/triage answers of a running server for every
// vignette, interview and a slice of the xfyun consultations, and compares
// two dumps. It proves a performance change left the answers identical:
//
//	go run ./bench/answers dump -url http://127.0.0.1:8080 -out /tmp/before.jsonl   # old binary
//	go run ./bench/answers dump -url http://127.0.0.1:8080 -out /tmp/after.jsonl    # new binary
//	go run ./bench/answers compare /tmp/before.jsonl [/tmp/before2.jsonl ...] /tmp/after.jsonl
//
// Dump the old binary from two or three fresh processes: a few answers of
// the main branch differ between processes (see runCompare).
//
// Dumps hold answers derived from patient text (symptom spans); keep them out
// of the repository. Nothing here prints request text: a difference is
// reported by its case key (file:line) and the JSON path that differs, so the
// sealed hold-out files can be fed without being read.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: answers dump -url URL -out FILE | answers compare OLD [OLD...] NEW")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "dump":
		err = runDump(os.Args[2:])
	case "compare":
		err = runCompare(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want dump or compare)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "answers:", err)
		os.Exit(1)
	}
}

// request is the body of POST /v1/triage (the wire form, as clients send it).
type request struct {
	Text     string     `json:"text"`
	Age      *float64   `json:"age,omitempty"`
	Sex      string     `json:"sex,omitempty"`
	Evidence []evidence `json:"evidence,omitempty"`
}

type evidence struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// testCase is one text to triage; truth, when set, makes it an interview
// whose simulated patient answers each next_question from it.
type testCase struct {
	key   string
	req   request
	truth map[string]bool
}

// record is one line of a dump.
type record struct {
	Key    string          `json:"key"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func runDump(args []string) error {
	fs := flag.NewFlagSet("dump", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	out := fs.String("out", "", "dump file (JSON lines)")
	repo := fs.String("repo", ".", "repository root (triage/testdata)")
	xfyun := fs.String("xfyun", filepath.Join(dataDir(), "consultations/xfyun_train.jsonl"), "xfyun consultations (JSON lines)")
	nx := fs.Int("n-xfyun", 3000, "xfyun texts to include (the first n)")
	workers := fs.Int("workers", 4, "concurrent requests")
	fs.Parse(args)
	if *out == "" {
		return errors.New("dump: -out is required")
	}
	cases, err := loadCases(*repo, *xfyun, *nx)
	if err != nil {
		return err
	}
	recs, err := runAll(*url, cases, *workers)
	if err != nil {
		return err
	}
	return writeDump(*out, recs)
}

func dataDir() string {
	if d := os.Getenv("FENZHEN_DATA"); d != "" {
		return d
	}
	return "../shared/data"
}

// loadCases reads every vignette file, the hold-out files (sealed ones
// included, never printed), the interview vignettes and n xfyun texts.
func loadCases(repo, xfyun string, n int) ([]testCase, error) {
	var files []string
	for _, g := range []string{"triage/testdata/*.tsv", "triage/testdata/holdout/*.tsv"} {
		m, err := filepath.Glob(filepath.Join(repo, g))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no triage/testdata/*.tsv under %s", repo)
	}
	var cases []testCase
	for _, f := range files {
		cs, err := tsvCases(repo, f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, cs...)
	}
	xs, err := xfyunCases(xfyun, n)
	if err != nil {
		return nil, err
	}
	return append(cases, xs...), nil
}

// tsvCases reads one vignette file. The layouts differ (level, age, sex,
// text; diagnosis, synonyms, age, sex, text; departments, age, sex, text,
// truth; phrase, symptom id): the text is the column after the sex column,
// or the first column when there is none.
func tsvCases(repo, path string) ([]testCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vignettes: %w", err)
	}
	rel, _ := filepath.Rel(repo, path)
	interview := strings.HasSuffix(path, "interview_vignettes.tsv")
	var out []testCase
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		c := testCase{key: rel + ":" + strconv.Itoa(i+1)}
		sexAt := sexColumn(cols)
		if sexAt >= 1 {
			c.req = request{Text: cols[sexAt+1], Age: parseAge(cols[sexAt-1])}
			if cols[sexAt] != "-" {
				c.req.Sex = cols[sexAt]
			}
			if interview && sexAt+2 < len(cols) {
				c.truth = map[string]bool{}
				for _, id := range strings.Split(cols[sexAt+2], ",") {
					c.truth[strings.TrimSpace(id)] = true
				}
			}
		} else {
			c.req = request{Text: cols[0]}
		}
		out = append(out, c)
	}
	return out, nil
}

// sexColumn is the index of the sex column (male, female or "-"), found
// from the right so that a "-" in an earlier column (no synonyms) is not
// taken for it; -1 when the layout has none. The text follows it.
func sexColumn(cols []string) int {
	for i := len(cols) - 2; i >= 1; i-- {
		if s := cols[i]; s == "male" || s == "female" || s == "-" {
			return i
		}
	}
	return -1
}

func parseAge(s string) *float64 {
	a, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return &a
}

// xfyunCases takes the first n consultations, with their age where given.
func xfyunCases(path string, n int) ([]testCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("xfyun: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var out []testCase
	for line := 1; sc.Scan() && len(out) < n; line++ {
		var row struct {
			Text string   `json:"text"`
			Age  *float64 `json:"age"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("xfyun line %d: %w", line, err)
		}
		out = append(out, testCase{key: "xfyun:" + strconv.Itoa(line), req: request{Text: row.Text, Age: row.Age}})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("xfyun: %w", err)
	}
	return out, nil
}

// runAll triages every case with a few workers; an interview case yields a
// record per step.
func runAll(base string, cases []testCase, workers int) ([]record, error) {
	hc := &http.Client{Timeout: 60 * time.Second}
	results := make([][]record, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = runCase(hc, base+"/v1/triage", cases[i])
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []record
	for i, rs := range results {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", cases[i].key, errs[i])
		}
		out = append(out, rs...)
	}
	return out, nil
}

// maxSteps bounds a simulated interview.
const maxSteps = 8

// runCase posts the case; an interview answers next_question from the truth
// and posts again until no question is asked.
func runCase(hc *http.Client, url string, c testCase) ([]record, error) {
	req := c.req
	var out []record
	for step := 0; ; step++ {
		rec, next, err := post(hc, url, req)
		if err != nil {
			return nil, err
		}
		rec.Key = c.key
		if c.truth != nil {
			rec.Key += "#" + strconv.Itoa(step)
		}
		out = append(out, rec)
		if c.truth == nil || next == "" || step == maxSteps {
			return out, nil
		}
		state := "absent"
		if c.truth[next] {
			state = "present"
		}
		req.Evidence = append(slices.Clip(req.Evidence), evidence{ID: next, State: state})
	}
}

// post sends one request and returns its canonical record and the symptom
// id of its next question ("" when none).
func post(hc *http.Client, url string, req request) (record, string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return record{}, "", err
	}
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return record{}, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return record{}, "", err
	}
	canon, next, err := canonical(raw)
	if err != nil {
		return record{}, "", fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	return record{Status: resp.StatusCode, Body: canon}, next, nil
}

// volatile are the fields that differ between two runs of the same request.
var volatile = []string{"request_id"}

// canonical re-encodes an answer with sorted keys and numbers exactly as
// sent, without the volatile fields (the error envelope's request_id too).
func canonical(raw []byte) (json.RawMessage, string, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, "", fmt.Errorf("decode answer: %w", err)
	}
	for _, k := range volatile {
		delete(v, k)
	}
	if e, ok := v["error"].(map[string]any); ok {
		delete(e, "request_id")
	}
	next := ""
	if q, ok := v["next_question"].(map[string]any); ok {
		next, _ = q["symptom_id"].(string)
	}
	b, err := json.Marshal(v)
	return b, next, err
}

func writeDump(path string, recs []record) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return fmt.Errorf("dump: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("dump: %w", err)
	}
	fmt.Printf("%d answers written to %s\n", len(recs), path)
	return f.Close()
}

func readDump(path string) (map[string]record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("compare: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	m := map[string]record{}
	var keys []string
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, nil, fmt.Errorf("compare: %s: %w", path, err)
		}
		m[r.Key] = r
		keys = append(keys, r.Key)
	}
	return m, keys, sc.Err()
}

// runCompare reports every case whose status or answer differs, by key and
// JSON path only. With several old dumps (the old binary run in fresh
// processes), a new answer passes when it equals any of them: the main
// branch itself answers a few texts differently from one process to the
// next (float sums over Go maps, whose order is per process), and those
// cases are counted and reported apart.
func runCompare(args []string) error {
	if len(args) < 2 {
		return errors.New("compare: want OLD [OLD...] NEW")
	}
	olds := make([]map[string]record, len(args)-1)
	var keys []string
	for i, path := range args[:len(args)-1] {
		m, k, err := readDump(path)
		if err != nil {
			return err
		}
		olds[i] = m
		if i == 0 {
			keys = k
		}
	}
	newPath := args[len(args)-1]
	cur, curKeys, err := readDump(newPath)
	if err != nil {
		return err
	}
	diffs, unstable := 0, 0
	for _, k := range keys {
		b, ok := cur[k]
		if !ok {
			fmt.Printf("%s: missing in %s\n", k, newPath)
			diffs++
			continue
		}
		if varies(olds, k) {
			unstable++
		}
		if matchesAny(olds, k, b) {
			continue
		}
		a := olds[0][k]
		diffs++
		if a.Status != b.Status {
			fmt.Printf("%s: status %d → %d\n", k, a.Status, b.Status)
			continue
		}
		fmt.Printf("%s: differs at %s\n", k, firstDiff(a.Body, b.Body))
	}
	for _, k := range curKeys {
		if _, ok := olds[0][k]; !ok {
			fmt.Printf("%s: only in %s\n", k, newPath)
			diffs++
		}
	}
	fmt.Printf("%d answers compared with %d old dumps (%d of them differ between the old dumps), %d differ from every old answer\n",
		len(keys), len(olds), unstable, diffs)
	if diffs > 0 {
		return fmt.Errorf("%d answers differ", diffs)
	}
	return nil
}

// matchesAny reports a new record equal to the old one of some dump.
func matchesAny(olds []map[string]record, k string, b record) bool {
	for _, m := range olds {
		if a, ok := m[k]; ok && a.Status == b.Status && bytes.Equal(a.Body, b.Body) {
			return true
		}
	}
	return false
}

// varies reports a case the old dumps do not agree on.
func varies(olds []map[string]record, k string) bool {
	for _, m := range olds[1:] {
		if a, b := olds[0][k], m[k]; a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
			return true
		}
	}
	return false
}

// firstDiff names the first JSON path at which two documents differ, without
// their values (they may quote the patient).
func firstDiff(a, b []byte) string {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return "(undecodable)"
	}
	return walk("$", x, y)
}

func walk(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return path
		}
		keys := make([]string, 0, len(xv)+len(yv))
		for k := range xv {
			keys = append(keys, k)
		}
		for k := range yv {
			if _, ok := xv[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p := walk(path+"."+k, xv[k], yv[k]); p != "" {
				return p
			}
		}
		return ""
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return path + " (length)"
		}
		for i := range xv {
			if p := walk(path+"["+strconv.Itoa(i)+"]", xv[i], yv[i]); p != "" {
				return p
			}
		}
		return ""
	}
	ax, _ := json.Marshal(x)
	ay, _ := json.Marshal(y)
	if !bytes.Equal(ax, ay) {
		return path
	}
	return ""
}
