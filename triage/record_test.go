package triage

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fenzhen/fenzhen/knowledge"
)

func TestRecord(t *testing.T) {
	e := kgEngine(t)
	age := 3.0
	cases := []struct {
		name      string
		req       Request
		cc, pi    string
		pos, negs []string
	}{
		{
			name: "api example",
			req:  Request{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: &age},
			cc:   "发热2天，咳嗽、黄痰",
			pi:   "患儿2天前无明显诱因出现发热，最高体温39℃，伴咳嗽、黄痰，无腹泻。",
			pos:  []string{"发热", "咳嗽", "黄痰"}, negs: []string{"腹泻"},
		},
		{
			name: "answers are included",
			req:  Request{Text: "头痛一周", Evidence: []Answer{{ID: "vomiting", State: "absent"}, {ID: "fever", State: "present"}}},
			cc:   "头痛1周，发热",
			pi:   "患者1周前无明显诱因出现头痛，伴发热，无呕吐。",
			pos:  []string{"头痛", "发热"}, negs: []string{"呕吐"},
		},
		{
			name: "nothing recognisable",
			req:  Request{Text: "你好"},
			pos:  []string{}, negs: []string{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := e.Record(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			if r.ChiefComplaint != c.cc || r.PresentIllness != c.pi {
				t.Errorf("got\n  %q\n  %q\nwant\n  %q\n  %q", r.ChiefComplaint, r.PresentIllness, c.cc, c.pi)
			}
			if !slices.Equal(r.Positives, c.pos) || !slices.Equal(r.Negatives, c.negs) {
				t.Errorf("positives %v negatives %v, want %v %v", r.Positives, r.Negatives, c.pos, c.negs)
			}
			if r.Disclaimer != Disclaimer {
				t.Error("no disclaimer")
			}
		})
	}
	if _, err := e.Record(context.Background(), Request{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty text: got %v", err)
	}
}

func TestDurationText(t *testing.T) {
	for days, want := range map[float64]string{0: "", 0.125: "3小时", 2: "2天", 14: "2周", 10: "10天", 90: "3个月", 365: "1年", 1.5: "1.5天"} {
		if got := durationText(days); got != want {
			t.Errorf("durationText(%v) = %q, want %q", days, got, want)
		}
	}
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
