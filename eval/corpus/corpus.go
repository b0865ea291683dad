// Package corpus reads the real consultation sets of the shared data folder
// by key, with the project's seeded split and the table that maps each
// platform's department labels to official codes.
//
// The text of these sets is never committed (see ../shared/data/README.md):
// the repository holds only keys, hashes, splits and labels, embedded here,
// and the text is read from the data folder at run time. A key names a row:
//
//	xf:<n>  line n (0-based) of consultations/xfyun_train.jsonl
//	im:<n>  data row n (0-based) of consultations/internal_medicine.csv (title + "。" + ask)
//	cm:<n>  data row n (0-based) of consultations/cmtmedqa_dev.csv
//
// models/triage/make_splits.py writes the splits and models/triage/label_sample.py
// the labelling samples; both read the files exactly as this package does.
package corpus

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Sources, by key prefix.
const (
	Xfyun            = "xfyun"
	InternalMedicine = "internal_medicine"
	CMtMedQA         = "cmtmedqa"
)

// Sources lists every source in a stable order.
var Sources = []string{Xfyun, InternalMedicine, CMtMedQA}

var prefix = map[string]string{Xfyun: "xf", InternalMedicine: "im", CMtMedQA: "cm"}

// Splits.
const (
	Train = "train"
	Val   = "val"
	Test  = "test"
)

// ErrNoData means the data folder lacks a source file; tests skip on it.
var ErrNoData = errors.New("shared data not found")

//go:embed splits/*.tsv platform_labels.tsv
var files embed.FS

// Case is one consultation.
type Case struct {
	Key      string
	Source   string
	Text     string
	Label    string   // the platform's department label
	SubLabel string   // xfyun sub_label or cmtmedqa sub_department
	Age      *float64 // xfyun's age bucket, when given
	Split    string   // train, val or test
	// Code is the official department code Label maps to; "" when the
	// label is not a visit direction (cmtmedqa 家居健康).
	Code string
}

// SHA8 is the first 8 hex digits of sha256(text), as the split and label
// files record it.
func SHA8(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:4])
}

// DataDir is $FENZHEN_DATA, else the shared/data folder beside the
// repository (found from the working directory up, so package tests find
// it too), else ../shared/data.
func DataDir() string {
	if d := os.Getenv("FENZHEN_DATA"); d != "" {
		return d
	}
	if dir, err := os.Getwd(); err == nil {
		for ; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.Join(dir, "..", "shared", "data")
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return filepath.Join("..", "shared", "data")
}

// Load reads every case of source from the data folder, with its split and
// mapped code. A row whose text no longer hashes to the split file's sha8
// is an error: the data changed under the labels.
func Load(dataDir, source string) ([]Case, error) {
	cases, err := read(dataDir, source)
	if err != nil {
		return nil, err
	}
	splits, err := readSplits(source)
	if err != nil {
		return nil, err
	}
	table, err := LabelTable()
	if err != nil {
		return nil, err
	}
	for i := range cases {
		c := &cases[i]
		s, ok := splits[c.Key]
		if !ok {
			return nil, fmt.Errorf("corpus %s: %s has no split (rerun models/triage/make_splits.py)", source, c.Key)
		}
		if s.sha8 != SHA8(c.Text) {
			return nil, fmt.Errorf("corpus %s: %s: text changed since the split was made (sha8 %s, split file %s)", source, c.Key, SHA8(c.Text), s.sha8)
		}
		c.Split = s.split
		c.Code = table.Code(source, c.Label, c.SubLabel)
	}
	return cases, nil
}

// ByKey reads the given keys (any sources) and checks their hashes.
func ByKey(dataDir string, keys map[string]string) (map[string]Case, error) {
	need := map[string]bool{}
	for k := range keys {
		src, err := SourceOf(k)
		if err != nil {
			return nil, err
		}
		need[src] = true
	}
	out := make(map[string]Case, len(keys))
	for _, src := range Sources {
		if !need[src] {
			continue
		}
		cases, err := Load(dataDir, src)
		if err != nil {
			return nil, err
		}
		for _, c := range cases {
			if want, ok := keys[c.Key]; ok {
				if want != "" && want != SHA8(c.Text) {
					return nil, fmt.Errorf("corpus: %s: text changed (sha8 %s, labels say %s)", c.Key, SHA8(c.Text), want)
				}
				out[c.Key] = c
			}
		}
	}
	for k := range keys {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("corpus: no row %s in the data", k)
		}
	}
	return out, nil
}

// SourceOf returns the source a key belongs to.
func SourceOf(key string) (string, error) {
	p, _, ok := strings.Cut(key, ":")
	for src, pre := range prefix {
		if ok && p == pre {
			return src, nil
		}
	}
	return "", fmt.Errorf("corpus: key %q: want xf:<n>, im:<n> or cm:<n>", key)
}

func read(dataDir, source string) ([]Case, error) {
	dir := filepath.Join(dataDir, "consultations")
	switch source {
	case Xfyun:
		f, err := open(filepath.Join(dir, "xfyun_train.jsonl"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var out []Case
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for n := 0; sc.Scan(); n++ {
			var r struct {
				Text     string   `json:"text"`
				Label    string   `json:"label"`
				SubLabel string   `json:"sub_label"`
				Age      *float64 `json:"age"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("xfyun_train.jsonl line %d: %w", n+1, err)
			}
			out = append(out, Case{Key: fmt.Sprintf("xf:%d", n), Source: source, Text: r.Text, Label: r.Label, SubLabel: r.SubLabel, Age: r.Age})
		}
		return out, sc.Err()
	case InternalMedicine, CMtMedQA:
		name := "internal_medicine.csv"
		if source == CMtMedQA {
			name = "cmtmedqa_dev.csv"
		}
		f, err := open(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r := csv.NewReader(f)
		head, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("%s: header: %w", name, err)
		}
		col := map[string]int{}
		for i, h := range head {
			col[strings.TrimPrefix(h, "\ufeff")] = i
		}
		var out []Case
		for n := 0; ; n++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", name, n, err)
			}
			c := Case{Key: fmt.Sprintf("%s:%d", prefix[source], n), Source: source, Label: rec[col["department"]]}
			if source == InternalMedicine {
				c.Text = rec[col["title"]] + "。" + rec[col["ask"]]
			} else {
				c.Text, c.SubLabel = rec[col["text"]], rec[col["sub_department"]]
			}
			out = append(out, c)
		}
	}
	return nil, fmt.Errorf("corpus: unknown source %q (have %s)", source, strings.Join(Sources, ", "))
}

func open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (set FENZHEN_DATA or --data)", ErrNoData, path)
	}
	return f, err
}

type splitRow struct{ sha8, split string }

func readSplits(source string) (map[string]splitRow, error) {
	raw, err := files.ReadFile("splits/" + source + ".tsv")
	if err != nil {
		return nil, fmt.Errorf("corpus: split of %s: %w", source, err)
	}
	out := map[string]splitRow{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("corpus: splits/%s.tsv: bad line %q", source, line)
		}
		out[f[0]] = splitRow{f[1], f[2]}
	}
	return out, nil
}

// Table maps platform labels to official department codes
// (platform_labels.tsv, documented row by row).
type Table struct {
	rows map[[3]string]string // source, label, sub_label ("*" for any) → code
}

// LabelTable parses the embedded platform_labels.tsv.
func LabelTable() (*Table, error) {
	raw, err := files.ReadFile("platform_labels.tsv")
	if err != nil {
		return nil, err
	}
	t := &Table{rows: map[[3]string]string{}}
	for n, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 4 {
			return nil, fmt.Errorf("platform_labels.tsv line %d: want source, label, sub_label, code, why", n+1)
		}
		t.rows[[3]string{f[0], f[1], f[2]}] = f[3]
	}
	return t, nil
}

// Code returns the official code of a label ("" when unmapped or not a
// visit direction).
func (t *Table) Code(source, label, sub string) string {
	code, ok := t.rows[[3]string{source, label, sub}]
	if !ok {
		code, ok = t.rows[[3]string{source, label, "*"}]
	}
	if !ok || code == "-" {
		return ""
	}
	return code
}

// Codes lists every code the table maps to, sorted.
func (t *Table) Codes() []string {
	seen := map[string]bool{}
	for _, c := range t.rows {
		if c != "-" {
			seen[c] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Filter keeps the cases of split ("" or "all" keeps all).
func Filter(cases []Case, split string) []Case {
	if split == "" || split == "all" {
		return cases
	}
	var out []Case
	for _, c := range cases {
		if c.Split == split {
			out = append(out, c)
		}
	}
	return out
}
