package knowledge

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	g := loadFixture(t)
	x, err := NewIndex(g)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	tests := []struct {
		q        string
		types    []string
		wantTop  string // "type:id" of the first hit
		wantAlso []string
	}{
		{q: "肚子疼", wantTop: "symptom:abdominal_pain", wantAlso: []string{"disease:acute_gastroenteritis", "disease:peptic_ulcer"}},
		{q: "心梗", wantTop: "disease:acute_myocardial_infarction"},
		{q: "心肌梗死", wantTop: "disease:acute_myocardial_infarction"},
		{q: "发烧", wantTop: "symptom:fever", wantAlso: []string{"disease:pneumonia"}},
		{q: "心内科", wantTop: "department:03.04"},
		{q: "芬必得", wantTop: "drug:ibuprofen"},
		{q: "血象", wantTop: "check:blood_routine"},
		{q: "ECG", wantTop: "check:ecg"},
		{q: "支气管", wantTop: "disease:acute_bronchitis"},
		{q: "胃肠", types: []string{TypeDisease}, wantTop: "disease:acute_gastroenteritis"},
	}
	for _, tc := range tests {
		hits, err := x.Search(tc.q, 10, tc.types...)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		got := make([]string, len(hits))
		for i, h := range hits {
			got[i] = h.Type + ":" + h.ID
			if h.Name == "" {
				t.Errorf("%q: hit %s has no name", tc.q, got[i])
			}
		}
		if len(got) == 0 || got[0] != tc.wantTop {
			t.Errorf("%q: top = %v, want %s", tc.q, got, tc.wantTop)
		}
		for _, w := range tc.wantAlso {
			if !contains(got, w) {
				t.Errorf("%q: %v lacks %s", tc.q, got, w)
			}
		}
	}
}

func TestSearchBadInput(t *testing.T) {
	x, err := NewIndex(loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search("  ", 10); !errors.Is(err, ErrEmptyQuery) {
		t.Errorf("blank query: err = %v", err)
	}
	if _, err := x.Search(strings.Repeat("痛", 200), 10); err == nil {
		t.Error("long query: want error")
	}
	for _, q := range []string{"😀", "\x00\x01", "頭痛", "zzz", "\xff\xfe", "*", "+-&&||!(){}[]^\"~*?:\\/"} {
		if _, err := x.Search(q, 5); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	hits, err := x.Search("痛", 1000)
	if err != nil || len(hits) > MaxSearchLimit {
		t.Errorf("limit not clamped: %d hits, %v", len(hits), err)
	}
}

func TestWriteOpenIndex(t *testing.T) {
	g := loadFixture(t)
	dir := filepath.Join(t.TempDir(), "idx")
	if err := WriteIndex(g, dir); err != nil {
		t.Fatal(err)
	}
	x, err := OpenIndex(g, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	hits, err := x.Search("拉肚子", 3)
	if err != nil || len(hits) == 0 || hits[0].ID != "diarrhea" {
		t.Fatalf("hits %v, err %v", hits, err)
	}
}

// TestSearchDefaultKG runs the acceptance queries on the real KG.
func TestSearchDefaultKG(t *testing.T) {
	g, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	x, err := NewIndex(g)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	tests := []struct{ q, top, name string }{
		{"肚子疼", "symptom:abdominal_pain", "腹痛"},
		{"心梗", "disease:acute_myocardial_infarction", "急性心肌梗死"},
		{"拉肚子", "symptom:diarrhea", "腹泻"},
		{"心内科", "department:03.04", "心血管内科"},
	}
	for _, tc := range tests {
		hits, err := x.Search(tc.q, 10)
		if err != nil || len(hits) == 0 {
			t.Fatalf("%q: %v %v", tc.q, hits, err)
		}
		if got := hits[0].Type + ":" + hits[0].ID; got != tc.top || hits[0].Name != tc.name {
			t.Errorf("%q: top %s %s, want %s %s", tc.q, got, hits[0].Name, tc.top, tc.name)
		}
	}
	hits, _ := x.Search("肚子疼", 10)
	diseases := 0
	for _, h := range hits {
		if h.Type == TypeDisease {
			diseases++
		}
	}
	if diseases < 3 {
		t.Errorf("肚子疼: want diseases with 腹痛 among hits, got %v", hits)
	}
}
