package triage

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/knowledge"
)

var updateRecords = flag.Bool("update-records", false, "rewrite testdata/records.golden")

// recordCases are hand-written texts whose records are kept in
// testdata/records.golden (run with -update-records after a deliberate
// change, and read the diff).
var recordCases = []struct {
	name string
	req  Request
}{
	{"issue 15", Request{Text: "我58岁，男，今天早上开始胸口闷痛，像压了块石头，出了一身冷汗，左胳膊发麻，有高血压十年"}},
	{"api example", Request{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: ptr(3.0)}},
	{"answers", Request{Text: "头痛一周", Evidence: []Answer{{ID: "vomiting", State: "absent"}, {ID: "fever", State: "present"}, {ID: "dizziness", State: "unknown"}}}},
	{"request fields", Request{Text: "咳嗽三天", Age: ptr(0.5), Sex: "female"}},
	{"allergy and medicines", Request{Text: "我对青霉素过敏，有糖尿病五年，长期吃二甲双胍。这两天发烧，吃了布洛芬"}},
	{"pregnancy", Request{Text: "怀孕32周，这几天脚肿，不头疼"}},
	{"denied allergy and smoking", Request{Text: "我咳嗽一个多月了，没有过敏史，不抽烟"}},
	{"disease is the complaint", Request{Text: "体检查出脂肪肝，肝功能正常"}},
	{"negation stops at a verb", Request{Text: "宝宝不睡觉一晚哭闹，体温37.7度"}},
	{"times as said", Request{Text: "腰疼大半年了，右腿也疼"}},
	{"nothing recognisable", Request{Text: "你好"}},
}

func ptr(f float64) *float64 { return &f }

// TestRecord compares the records of recordCases with the golden file and
// checks every statement against its text (CheckRecord).
func TestRecord(t *testing.T) {
	e := kgEngine(t)
	var got strings.Builder
	for _, c := range recordCases {
		r, err := e.Record(context.Background(), c.req)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range CheckRecord(c.req.Text, r) {
			t.Errorf("%s: %s", c.name, p)
		}
		if r.Disclaimer != Disclaimer || r.Positives == nil || r.Negatives == nil || r.Sections == nil {
			t.Errorf("%s: incomplete %+v", c.name, r)
		}
		if len(r.Sections) < 5 || r.Sections[0].Title != "主诉" || r.Sections[0].Text != r.ChiefComplaint || r.Sections[1].Text != r.PresentIllness {
			t.Errorf("%s: sections %+v", c.name, r.Sections)
		}
		fmt.Fprintf(&got, "== %s: %s\n%s阳性：%s\n阴性：%s\n\n", c.name, c.req.Text, r.Text, strings.Join(r.Positives, "、"), strings.Join(r.Negatives, "、"))
	}
	path := filepath.Join("testdata", "records.golden")
	if *updateRecords {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("records differ from %s (rerun with -update-records and read the diff):\n%s", path, got.String())
	}
	if _, err := e.Record(context.Background(), Request{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty text: got %v", err)
	}
}

// TestRecordIssue15 pins the example of issue 15: no invented time, history
// apart, the character in the patient's words.
func TestRecordIssue15(t *testing.T) {
	e := kgEngine(t)
	r, err := e.Record(context.Background(), recordCases[0].req)
	if err != nil {
		t.Fatal(err)
	}
	if r.ChiefComplaint != "今晨起胸痛，出汗多、肢体麻木" {
		t.Errorf("主诉 %q", r.ChiefComplaint)
	}
	for _, w := range []string{"今晨起胸痛", "压榨样（“像压了块石头”）", "左侧肢体麻木"} {
		if !strings.Contains(r.PresentIllness, w) {
			t.Errorf("现病史 %q lacks %q", r.PresentIllness, w)
		}
	}
	for _, no := range []string{"无明显诱因", "小时", "高血压"} {
		if strings.Contains(r.PresentIllness, no) || strings.Contains(r.ChiefComplaint, no) {
			t.Errorf("主诉 %q / 现病史 %q holds %q", r.ChiefComplaint, r.PresentIllness, no)
		}
	}
	if r.Sections[2].Text != "高血压10年。" {
		t.Errorf("既往史 %q", r.Sections[2].Text)
	}
	if p := r.Patient; p.Sex != "male" || p.Age != "58岁" || p.Reporter != "本人" {
		t.Errorf("patient %+v", p)
	}
}

// FuzzRecord: any text gives a record whose every statement is grounded.
func FuzzRecord(f *testing.F) {
	for _, c := range recordCases {
		f.Add(c.req.Text)
	}
	f.Add("没有发烧，也不咳嗽，对鸡蛋过敏，孕3个月，产后两个月，以前得过肺炎")
	e := kgEngine(f)
	f.Fuzz(func(t *testing.T, text string) {
		r, err := e.Record(context.Background(), Request{Text: text})
		if err != nil {
			return // refused (empty, too long)
		}
		if bad := CheckRecord(text, r); len(bad) > 0 {
			t.Errorf("%q: %v", text, bad)
		}
	})
}

func TestCheckMedication(t *testing.T) {
	kg, _ := kgAndExtractor(t)
	f := func(v float64) *float64 { return &v }
	type w struct{ drug, with, severity string }
	cases := []struct {
		name    string
		req     MedicationRequest
		want    []w
		unknown []string
		err     error
	}{
		{"api example", MedicationRequest{Drugs: []string{"阿司匹林", "布洛芬"}, Conditions: []string{"消化性溃疡"}, Age: f(8), Sex: "female"},
			[]w{{"阿司匹林", "", "contraindicated"}, {"阿司匹林", "", "contraindicated"}, {"布洛芬", "", "contraindicated"}, {"阿司匹林", "布洛芬", "interaction"}}, nil, nil},
		{"pregnancy by flag", MedicationRequest{Drugs: []string{"布洛芬"}, Pregnant: true}, []w{{"布洛芬", "", "caution"}}, nil, nil},
		{"pregnancy by condition", MedicationRequest{Drugs: []string{"布洛芬"}, Conditions: []string{"怀孕"}}, []w{{"布洛芬", "", "caution"}}, nil, nil},
		{"infant ibuprofen", MedicationRequest{Drugs: []string{"美林"}, Age: f(0.3)}, []w{{"美林", "", "contraindicated"}}, nil, nil},
		{"same drug twice", MedicationRequest{Drugs: []string{"布洛芬", "芬必得"}}, []w{{"芬必得", "布洛芬", "caution"}}, nil, nil},
		{"unknown drug", MedicationRequest{Drugs: []string{"不存在的药", "对乙酰氨基酚"}}, nil, []string{"不存在的药"}, nil},
		{"no drugs", MedicationRequest{}, nil, nil, ErrInvalid},
		{"bad age", MedicationRequest{Drugs: []string{"布洛芬"}, Age: f(130)}, nil, nil, ErrInvalid},
		{"pregnant male", MedicationRequest{Drugs: []string{"布洛芬"}, Sex: "male", Pregnant: true}, nil, nil, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := CheckMedication(kg, c.req)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []w
			for _, x := range r.Warnings {
				got = append(got, w{x.Drug, x.With, x.Severity})
				if x.Reason == "" {
					t.Errorf("warning %+v without reason", x)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("warnings %v, want %v", got, c.want)
			}
			if c.unknown == nil {
				c.unknown = []string{}
			}
			if !slices.Equal(r.UnknownDrugs, c.unknown) {
				t.Errorf("unknown %v, want %v", r.UnknownDrugs, c.unknown)
			}
		})
	}
	_ = knowledge.SeverityCaution
}
