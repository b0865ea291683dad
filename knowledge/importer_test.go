package knowledge

import (
	"os"
	"path/filepath"
	"testing"
)

func dataDir() string {
	if d := os.Getenv("FENZHEN_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "data")
}

func TestImportQASystem(t *testing.T) {
	base := loadFixture(t)
	f, err := os.Open("testdata/qasystem_small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im := NewImporter(base)
	rep, err := im.ImportQASystem(f, "qasystem_small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	g, dropped, err := im.KG()
	if err != nil {
		t.Fatal(err)
	}
	// Lines 5 (no name) and 7 (not JSON) are malformed, with line numbers.
	if len(rep.Malformed) != 2 || rep.Malformed[0].Line != 5 || rep.Malformed[1].Line != 7 {
		t.Errorf("malformed = %+v", rep.Malformed)
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"diseases added (流感, 小儿支气管炎, 脱水)", rep.Diseases.Added, 3},
		{"diseases merged (急性胃肠炎)", rep.Diseases.Merged, 1},
		{"diseases rejected (no department, no symptoms)", rep.Diseases.Rejected, 2},
		{"drugs rejected (truncated)", rep.Drugs.Rejected, 1},
		{"complications dropped (none unresolved)", dropped, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
	if rep.Departments["呼吸科"] != "03.01" || rep.Departments["小儿内科"] != "07" || rep.Departments["家居健康科室不存在"] != "" {
		t.Errorf("department mapping = %v", rep.Departments)
	}
	flu, ok := g.DiseaseByName("流行性感冒")
	if !ok {
		t.Fatal("流行性感冒 not imported")
	}
	if flu.Department != "03.01" {
		t.Errorf("flu department = %q, want 03.01 (most specific)", flu.Department)
	}
	if _, ok := flu.Symptoms["fever"]; !ok {
		t.Errorf("发烧 not mapped to existing symptom fever: %v", flu.Symptoms)
	}
	if _, ok := flu.Symptoms["cough"]; !ok {
		t.Errorf("咳嗽 not mapped to cough: %v", flu.Symptoms)
	}
	if len(flu.Complications) != 1 || flu.Complications[0] != "pneumonia" {
		t.Errorf("flu complications = %v", flu.Complications)
	}
	ge, _ := g.Disease("acute_gastroenteritis")
	if _, ok := ge.Symptoms["nausea"]; ok {
		t.Error("new symptom should get a generated id, not nausea")
	}
	if len(ge.Complications) != 1 {
		t.Errorf("merged disease complications = %v (want the imported 脱水)", ge.Complications)
	}
	if child, _ := g.DiseaseByName("小儿支气管炎"); child == nil || child.Age[1] != 14 {
		t.Errorf("child disease age = %+v", child)
	}
	// The base KG is untouched.
	if base.Stats().Diseases != 5 {
		t.Errorf("base KG modified: %+v", base.Stats())
	}
	// Round trip through the --kg file.
	p := filepath.Join(t.TempDir(), "imported.json")
	if err := g.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	if g2, err := LoadFile(p); err != nil || g2.Stats() != g.Stats() {
		t.Fatalf("reload: %v", err)
	}
}

func TestImportKG39Full(t *testing.T) {
	p := filepath.Join(dataDir(), "kg", "kg39_diseases.jsonl")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("kg39 data not present (%v); set FENZHEN_DATA", err)
	}
	defer f.Close()
	// Base: the authored department catalogue, body parts and symptoms
	// (the authored diseases may be mid-edit).
	def, err := LoadDefault()
	if def == nil {
		t.Fatal(err)
	}
	base, err := FromBundle(Bundle{Version: BundleVersion, Departments: def.Departments(), BodyParts: def.BodyParts(), Symptoms: def.Symptoms()}, "default")
	if err != nil {
		t.Fatal(err)
	}
	im := NewImporter(base)
	rep, err := im.ImportKG39(f, "kg39_diseases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	drep, err := im.ImportDict(filepath.Join(dataDir(), "kg", "qasystem_dict"))
	if err != nil {
		t.Fatal(err)
	}
	g, dropped, err := im.KG()
	if err != nil {
		t.Fatal(err)
	}
	mapped, total := rep.DepartmentsMapped()
	t.Logf("kg39: lines %d malformed %d; diseases %+v symptoms %+v checks %+v drugs %+v; departments mapped %d/%d; complications dropped %d; reasons %v",
		rep.Lines, len(rep.Malformed), rep.Diseases, rep.Symptoms, rep.Checks, rep.Drugs, mapped, total, dropped, rep.Reasons)
	dm, dt := drep.DepartmentsMapped()
	t.Logf("dict: symptoms %+v checks %+v drugs %+v diseases %+v departments %d/%d skipped %v", drep.Symptoms, drep.Checks, drep.Drugs, drep.Diseases, dm, dt, drep.Skipped)
	t.Logf("merged KG: %+v", g.Stats())
	for label, code := range rep.Departments {
		if code == "" {
			t.Logf("unmapped department label: %q", label)
		}
	}
	if rep.Lines != 14336 || rep.Diseases.Added+rep.Diseases.Merged < 12000 || mapped*10 < total*8 {
		t.Errorf("expected ~14,336 diseases, got %+v of %d lines", rep.Diseases, rep.Lines)
	}
}
