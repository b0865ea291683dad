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
		past      string
	}{
		{
			name: "issue 15",
			req:  Request{Text: "我58岁，男，今天早上开始胸口闷痛，像压了块石头，出了一身冷汗，左胳膊发麻，有高血压十年"},
			cc:   "",
		},
		{
			name: "api example",
			req:  Request{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: &age},
		},
		{
			name: "answers are included",
			req:  Request{Text: "头痛一周", Evidence: []Answer{{ID: "vomiting", State: "absent"}, {ID: "fever", State: "present"}}},
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
			t.Logf("%s", r.Text)
			t.Logf("%v %v", r.Positives, r.Negatives)
			for _, p := range CheckRecord(c.req.Text, r) {
				t.Error(p)
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
