package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/fenzhen/fenzhen/knowledge"
)

func init() {
	register(command{name: "kg", summary: "validate or import the knowledge graph", run: runKG})
}

func runKG(args []string) error {
	const help = "Usage: fenzhen kg <validate|import> [flags]\n\n  validate  check referential integrity and aliases, and print counts\n  import    merge third-party sources into the KG and write a --kg file\n\nRun 'fenzhen kg <subcommand> --help' for flags and examples.\n"
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, help)
		return errors.New("missing subcommand")
	}
	if isHelp(args[0]) {
		return printHelp(os.Stdout, help)
	}
	switch args[0] {
	case "validate":
		return runKGValidate(args[1:])
	case "import":
		return runKGImport(args[1:])
	}
	return subcommandErr("kg", args[0], "validate", "import")
}

// loadKG loads --kg when given, otherwise the embedded default.
func loadKG(path string) (*knowledge.KG, error) {
	if path != "" {
		return knowledge.LoadFile(path)
	}
	return knowledge.LoadDefault()
}

func runKGValidate(args []string) error {
	fs := newFlagSet("kg validate", "Check the KG's referential integrity and its aliases (none may be another disease's name,\na distinct diagnosis or a web site's category), and print counts.",
		"  fenzhen kg validate\n  fenzhen kg validate --kg imported.json")
	kgPath := fs.String("kg", "", "KG bundle file (default: the embedded KG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	g, err := loadKG(*kgPath)
	if g != nil {
		st := g.Stats()
		fmt.Printf("departments %d\nbody_parts %d\nsymptoms %d (synonyms %d)\nred_flags %d\nchecks %d\ndrugs %d\ndiseases %d (disease-symptom links %d)\n",
			st.Departments, st.BodyParts, st.Symptoms, st.SymptomSynonym, st.RedFlags, st.Checks, st.Drugs, st.Diseases, st.DiseaseSymptom)
	}
	if err != nil {
		var verr *knowledge.ValidationError
		if errors.As(err, &verr) {
			for _, p := range verr.Problems {
				fmt.Fprintln(os.Stderr, p)
			}
			return fmt.Errorf("%d integrity problems", len(verr.Problems))
		}
		return err
	}
	fmt.Println("ok")
	return nil
}

func runKGImport(args []string) error {
	fs := newFlagSet("kg import", "Merge third-party sources into the authored KG and write one file for 'fenzhen serve --kg'.\nThe embedded default KG is never changed: these sources carry no licence to ship.",
		"  fenzhen kg import --kg39 ../shared/data/kg/kg39_diseases.jsonl --out imported.json\n  fenzhen kg import --qasystem medical.json --dict ../shared/data/kg/qasystem_dict --out imported.json --report report.json")
	kg39 := fs.String("kg39", "", "kg39_diseases.jsonl (one disease a line)")
	qa := fs.String("qasystem", "", "QASystemOnMedicalKG medical.json (one disease a line)")
	dict := fs.String("dict", "", "directory of term lists (symptom.txt, check.txt, drug.txt, department.txt, disease.txt)")
	base := fs.String("base", "", "KG bundle to merge into (default: the embedded KG)")
	out := fs.String("out", "", "output file: .json or .yaml (required)")
	reportPath := fs.String("report", "", "also write the full import report as JSON here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || (*kg39 == "" && *qa == "" && *dict == "") {
		return usageErr(fs, errors.New("need --out and at least one of --kg39, --qasystem, --dict"))
	}
	g, err := loadKG(*base)
	if err != nil {
		return fmt.Errorf("base KG: %w", err)
	}
	im := knowledge.NewImporter(g)
	var reports []*knowledge.ImportReport
	jsonl := func(path string, fn func(*os.File, string) (*knowledge.ImportReport, error)) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := fn(f, filepath.Base(path))
		if r != nil {
			reports = append(reports, r)
		}
		return err
	}
	if *kg39 != "" {
		if err := jsonl(*kg39, func(f *os.File, n string) (*knowledge.ImportReport, error) { return im.ImportKG39(f, n) }); err != nil {
			return err
		}
	}
	if *qa != "" {
		if err := jsonl(*qa, func(f *os.File, n string) (*knowledge.ImportReport, error) { return im.ImportQASystem(f, n) }); err != nil {
			return err
		}
	}
	if *dict != "" {
		r, err := im.ImportDict(*dict)
		if r != nil {
			reports = append(reports, r)
		}
		if err != nil {
			return err
		}
	}
	merged, dropped, err := im.KG()
	if err != nil {
		return err
	}
	for _, r := range reports {
		printReport(r)
	}
	fmt.Printf("complications dropped (unknown disease): %d\n", dropped)
	if err := merged.WriteFile(*out); err != nil {
		return err
	}
	st := merged.Stats()
	fmt.Printf("wrote %s: %d diseases, %d symptoms, %d checks, %d drugs, %d departments\n", *out, st.Diseases, st.Symptoms, st.Checks, st.Drugs, st.Departments)
	if *reportPath != "" {
		data, err := json.MarshalIndent(reports, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*reportPath, data, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

func printReport(r *knowledge.ImportReport) {
	mapped, total := r.DepartmentsMapped()
	fmt.Printf("%s: %d lines, %d malformed\n", r.Source, r.Lines, len(r.Malformed))
	for i, m := range r.Malformed {
		if i == 20 {
			fmt.Printf("  … %d more malformed lines\n", len(r.Malformed)-20)
			break
		}
		fmt.Printf("  line %d: %s\n", m.Line, m.Err)
	}
	for _, c := range []struct {
		kind string
		c    knowledge.Counts
	}{{"diseases", r.Diseases}, {"symptoms", r.Symptoms}, {"checks", r.Checks}, {"drugs", r.Drugs}} {
		fmt.Printf("  %-9s added %d, merged %d, rejected %d\n", c.kind, c.c.Added, c.c.Merged, c.c.Rejected)
	}
	fmt.Printf("  departments: %d of %d labels map to official codes\n", mapped, total)
	var unmapped []string
	for l, c := range r.Departments {
		if c == "" {
			unmapped = append(unmapped, l)
		}
	}
	sort.Strings(unmapped)
	if len(unmapped) > 0 {
		fmt.Printf("  unmapped labels: %q\n", unmapped)
	}
	reasons := make([]string, 0, len(r.Reasons))
	for k := range r.Reasons {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Printf("  rejected: %s × %d\n", k, r.Reasons[k])
	}
	for _, s := range r.Skipped {
		fmt.Printf("  skipped: %s\n", s)
	}
}
