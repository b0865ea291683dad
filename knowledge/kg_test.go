package knowledge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func loadFixture(t testing.TB) *KG {
	t.Helper()
	g, err := LoadDir("testdata/kg")
	if err != nil {
		t.Fatalf("load fixture KG: %v", err)
	}
	return g
}

func TestLoadFixture(t *testing.T) {
	g := loadFixture(t)
	st := g.Stats()
	if st.Departments != 12 || st.Symptoms != 13 || st.Diseases != 5 || st.Drugs != 3 || st.RedFlags != 3 {
		t.Fatalf("unexpected stats %+v", st)
	}
	tests := []struct {
		name string
		got  func() (string, bool)
		want string
	}{
		{"symptom by id", func() (string, bool) {
			s, ok := g.Symptom("fever")
			return name(s, ok, func() string { return s.Name })
		}, "发热"},
		{"symptom by synonym", func() (string, bool) {
			s, ok := g.SymptomByName("拉肚子")
			return name(s, ok, func() string { return s.ID })
		}, "diarrhea"},
		{"department by code", func() (string, bool) {
			d, ok := g.Department("03.04")
			return name(d, ok, func() string { return d.Name })
		}, "心血管内科"},
		{"department by alias", func() (string, bool) {
			d, ok := g.DepartmentByAlias("心内科")
			return name(d, ok, func() string { return d.Code })
		}, "03.04"},
		{"department by name", func() (string, bool) {
			d, ok := g.DepartmentByAlias("儿科")
			return name(d, ok, func() string { return d.Code })
		}, "07"},
		{"drug by synonym", func() (string, bool) { d, ok := g.Drug("芬必得"); return name(d, ok, func() string { return d.ID }) }, "ibuprofen"},
		{"drug by id", func() (string, bool) { d, ok := g.Drug("aspirin"); return name(d, ok, func() string { return d.Name }) }, "阿司匹林"},
		{"check by synonym", func() (string, bool) { c, ok := g.Check("ecg"); return name(c, ok, func() string { return c.Name }) }, "心电图"},
		{"disease by alias", func() (string, bool) {
			d, ok := g.DiseaseByName("心梗")
			return name(d, ok, func() string { return d.ID })
		}, "acute_myocardial_infarction"},
		{"red flag", func() (string, bool) {
			r, ok := g.RedFlag("high_fever")
			return name(r, ok, func() string { return r.Urgency })
		}, "urgent"},
	}
	for _, tc := range tests {
		got, ok := tc.got()
		if !ok || got != tc.want {
			t.Errorf("%s: got %q (found %v), want %q", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := g.Symptom("nope"); ok {
		t.Error("unknown symptom found")
	}
	if n := len(g.DiseasesWithSymptom("abdominal_pain")); n != 2 {
		t.Errorf("diseases with abdominal_pain: got %d, want 2", n)
	}
}

func name[T any](p *T, ok bool, f func() string) (string, bool) {
	if !ok || p == nil {
		return "", false
	}
	return f(), true
}

// TestBadBundles loads every testdata/*.bad.yaml and checks the error names
// the file and the offending field, as written on the file's first line:
// "# want: <substring>".
func TestBadBundles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("want at least 8 bad cases, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line must be '# want: <substring>'")
			}
			_, err = LoadFile(f)
			if err == nil {
				t.Fatalf("loaded without error, want %q", want)
			}
			msg := err.Error()
			if !strings.Contains(msg, filepath.Base(f)) {
				t.Errorf("error does not name the file: %v", msg)
			}
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		})
	}
}

func TestLoadFSErrorsNameFile(t *testing.T) {
	base, _ := os.ReadFile("testdata/kg/departments.yaml")
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown field", map[string]string{"symptoms.yaml": "- {id: fever, name: 发热, colour: red}\n"},
			[]string{"symptoms.yaml", "colour"}},
		{"unknown file", map[string]string{"sympotms.yaml": "[]\n"}, []string{"sympotms.yaml", "unknown KG file"}},
		{"bad disease ref", map[string]string{
			"symptoms.yaml":     "- {id: fever, name: 发热}\n",
			"diseases/flu.yaml": "- {id: flu, name: 流感, department: \"03\", symptoms: {fevr: 0.9}}\n"},
			[]string{"diseases/flu.yaml", "flu", "symptoms", "fevr"}},
		{"not a list", map[string]string{"checks.yaml": "id: x\n"}, []string{"checks.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"kg/departments.yaml": {Data: base}}
			for n, d := range tc.files {
				fsys["kg/"+n] = &fstest.MapFile{Data: []byte(d)}
			}
			_, err := LoadFS(fsys, "kg")
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestBundleRoundTrip(t *testing.T) {
	g := loadFixture(t)
	dir := t.TempDir()
	for _, n := range []string{"kg.json", "kg.yaml"} {
		p := filepath.Join(dir, n)
		if err := g.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		g2, err := LoadFile(p)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if g2.Stats() != g.Stats() {
			t.Errorf("%s: stats %+v, want %+v", n, g2.Stats(), g.Stats())
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{" ＥＣＧ ": "ecg", "发热": "发热", "CT检查": "ct检查", "": ""} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDefaultKG checks the embedded authored KG: it must load, pass
// integrity checks and meet the size the issue asks for.
func TestDefaultKG(t *testing.T) {
	g, err := LoadDefault()
	if g != nil {
		t.Logf("default KG: %+v", g.Stats())
	}
	if err != nil {
		t.Fatal(err)
	}
	st := g.Stats()
	if st.Departments < 40 || st.Symptoms < 800 || st.SymptomSynonym < 2000 || st.Diseases < 300 {
		t.Errorf("default KG below the agreed size: %+v", st)
	}
}
