package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fenzhen/fenzhen/eval"
	"github.com/fenzhen/fenzhen/eval/corpus"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/triage"
)

func init() {
	evalTargets["triage"] = evalTriage
	evalTargets["interview"] = evalInterview
}

// triageEngine builds the engine as the server does: default KG, the
// extractor with the triage safety terms and, unless noModel, the
// department classifier served from the model repository.
func triageEngine(models, ortLib string, noModel bool, opts triage.Options) (*triage.Engine, func(), error) {
	kg, err := knowledge.LoadDefault()
	if err != nil {
		return nil, nil, err
	}
	x, err := nlp.NewExtractor(kg, triage.ExtractorOptions(kg)...)
	if err != nil {
		return nil, nil, err
	}
	if noModel {
		e, err := triage.New(kg, x, nil, opts)
		return e, func() {}, err
	}
	if err := inference.InitRuntime(ortLib); err != nil {
		return nil, nil, err
	}
	repo, err := inference.OpenRepository(models, inference.RepositoryOptions{})
	if err != nil {
		return nil, nil, err
	}
	e, err := triage.New(kg, x, repo, opts)
	if err != nil {
		repo.Close()
		return nil, nil, err
	}
	return e, repo.Close, nil
}

func evalTriage(args []string) error {
	fs := newFlagSet("eval triage", "Send labelled texts through POST /v1/triage of an in-process server built as `fenzhen serve`\nbuilds it, and print department top-1/top-3, the share answered with no department, and per\nexpected department its recall and most common wrong answer. Without --data it reads the\nreal consultation sets of --data-dir by their seeded split (eval/corpus): never tune on test.\nWith --data it reads a CSV (text, department[, urgency]) or JSONL file of hand-written cases.",
		"  fenzhen eval triage --set xfyun --split val\n  fenzhen eval triage --set all --split test\n  fenzhen eval triage --data triage/testdata/department_vignettes.csv")
	set := fs.String("set", "all", "real set: xfyun, internal_medicine, cmtmedqa or all")
	split := fs.String("split", corpus.Val, "split of the real sets: train, val, test or all")
	dataDir := fs.String("data-dir", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	data := fs.String("data", "", "CSV or JSONL file of hand-written labelled texts instead of the real sets")
	noAge := fs.Bool("no-age", false, "do not send the platform's age bucket with xfyun texts")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	failures := fs.String("failures", "", "write the keys answered wrongly to this file")
	modelWeight := fs.Float64("model-weight", 0, "department classifier's share beside the knowledge graph (default: the engine's)")
	showEmergency := fs.Bool("show-emergency", false, "print the texts answered emergency with their red flags (not on the test split)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sets, err := routingSets(*data, *dataDir, *set, *split, !*noAge)
	if err != nil {
		return err
	}
	if err := inference.InitRuntime(*ortLib); err != nil {
		return err
	}
	st, err := eval.NewStack(*models, triage.Options{ModelWeight: *modelWeight})
	if err != nil {
		return err
	}
	defer st.Close()
	var results []*eval.RoutingResult
	var failed []string
	for _, rs := range sets {
		p := newProgress("eval triage "+rs.name, int64(len(rs.cases)), "texts")
		var explain []func(eval.RoutingCase, *triage.Response)
		if *showEmergency {
			if *split == corpus.Test || *split == "all" {
				return fmt.Errorf("--show-emergency prints texts: only for the train or val split")
			}
			explain = append(explain, func(c eval.RoutingCase, r *triage.Response) {
				if r.Urgency.Level != triage.LevelEmergency {
					return
				}
				fmt.Printf("--- %s: %s\n", c.Key, c.Text)
				for _, f := range r.Urgency.RedFlags {
					var ev []string
					for _, e := range f.Evidence {
						ev = append(ev, e.Text)
					}
					fmt.Printf("    flag %s %v\n", f.ID, ev)
				}
			})
		}
		res, err := eval.Routing(context.Background(), st, rs.name, rs.cases, func() { p.Add(1) }, explain...)
		p.Done()
		if err != nil {
			return err
		}
		results = append(results, res)
		failed = append(failed, res.Failed...)
	}
	if *failures != "" {
		if err := os.WriteFile(*failures, []byte(strings.Join(failed, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	fmt.Printf("models %v\n", st.Engine.Models())
	for _, r := range results {
		r.Print(os.Stdout, st.KG)
	}
	return nil
}

type routingSet struct {
	name  string
	cases []eval.RoutingCase
}

// routingSets reads a hand-written file, or the real sets' split.
func routingSets(file, dataDir, set, split string, withAge bool) ([]routingSet, error) {
	if file != "" {
		cases, err := triage.ReadEvalFile(file)
		if err != nil {
			return nil, err
		}
		kg, err := knowledge.LoadDefault()
		if err != nil {
			return nil, err
		}
		var out []eval.RoutingCase
		for i, c := range cases {
			d, ok := kg.DepartmentByAlias(strings.TrimSpace(c.Department))
			if !ok || strings.TrimSpace(c.Text) == "" {
				continue
			}
			out = append(out, eval.RoutingCase{Key: fmt.Sprintf("%s:%d", filepath.Base(file), i+1), Text: c.Text, Code: d.Code, Age: c.Age, Sex: c.Sex})
		}
		return []routingSet{{filepath.Base(file), out}}, nil
	}
	names := corpus.Sources
	if set != "all" {
		names = []string{set}
	}
	switch split {
	case corpus.Train, corpus.Val, corpus.Test, "all":
	default:
		return nil, fmt.Errorf("--split %q: want train, val, test or all", split)
	}
	var out []routingSet
	for _, name := range names {
		cases, err := corpus.Load(dataDir, name)
		if err != nil {
			return nil, err
		}
		var rc []eval.RoutingCase
		for _, c := range corpus.Filter(cases, split) {
			if c.Code == "" {
				continue
			}
			r := eval.RoutingCase{Key: c.Key, Text: c.Text, Code: c.Code}
			if withAge {
				r.Age = c.Age
			}
			rc = append(rc, r)
		}
		out = append(out, routingSet{name + "/" + split, rc})
	}
	return out, nil
}

func evalInterview(args []string) error {
	fs := newFlagSet("eval interview", "Simulated interviews on the DXY and Muzhi diagnosis sets: the engine sees the explicit\nsymptoms (and DXY's self-report), asks up to --turns questions that a simulated patient\nanswers from the implicit symptoms, then names the disease. Prints top-1 accuracy with and\nwithout questions next to the published DQN / KR-DS figures. The disease ranker is trained on\nthe train part (triage.InterviewSplit, 70/15/15 per disease, seeded); report the val part,\nand the test part once.",
		"  fenzhen eval interview\n  fenzhen eval interview --split test\n  fenzhen eval interview --data /data/fenzhen --turns 8 --no-model")
	data := fs.String("data", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	turns := fs.Int("turns", 5, "questions the engine may ask")
	split := fs.String("split", triage.SplitVal, "records to simulate: train, val, test or all")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	noModel := fs.Bool("no-model", false, "knowledge graph only, without the ONNX models")
	weight := fs.Float64("disease-weight", 0, "disease ranker share when blended with naive Bayes (default: the engine's)")
	confident := fs.Float64("confident", 0, "stop asking once the leading disease reaches this posterior (default: the engine's)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *split {
	case triage.SplitTrain, triage.SplitVal, triage.SplitTest, "all":
	default:
		return fmt.Errorf("--split %q: want train, val, test or all", *split)
	}
	e, done, err := triageEngine(*models, *ortLib, *noModel, triage.Options{DiseaseModelWeight: *weight, ConfidentPosterior: *confident})
	if err != nil {
		return err
	}
	defer done()
	var all []*triage.InterviewResult
	for _, set := range []string{"dxy", "mz"} {
		path := filepath.Join(*data, "diagnosis", set+"_train.jsonl")
		cases, err := triage.ReadInterviewFile(path)
		if err != nil {
			return err
		}
		p := newProgress(fmt.Sprintf("eval interview %s (%d cases, %s part, %d turns)", set, len(cases), *split, *turns), 0, "")
		res, err := e.Interview(context.Background(), set, cases, *turns, *split)
		p.Done()
		if err != nil {
			return err
		}
		all = append(all, res)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	for _, r := range all {
		r.Print(os.Stdout)
	}
	return nil
}

func init() {
	evalTargets["urgency"] = evalUrgency
	evalTargets["diagnosis"] = evalDiagnosis
}

// evalStack initialises ONNX Runtime and builds the in-process server;
// rules only leaves the three ONNX heads out (the knowledge graph and the
// rules alone).
func evalStack(models, ortLib string, rulesOnly bool) (*eval.Stack, error) {
	if err := inference.InitRuntime(ortLib); err != nil {
		return nil, err
	}
	var opts triage.Options
	if rulesOnly {
		opts = triage.Options{DepartmentModel: "-", DiseaseModel: "-", UrgencyModel: "-"}
	}
	return eval.NewStack(models, opts)
}

func evalUrgency(args []string) error {
	fs := newFlagSet("eval urgency", "Send urgency vignettes (level<TAB>age<TAB>sex<TAB>text) through POST /v1/triage and print level\naccuracy, emergency recall and precision, the answered emergency share, under- and over-triage\nand the confusion matrix. --verbose also lists the wrong answers by file line (never the text,\nso sealed hold-out files can be run without being read).",
		"  fenzhen eval urgency --file triage/testdata/urgency_vignettes.tsv\n  fenzhen eval urgency --file triage/testdata/holdout/urgency_holdout5.tsv")
	var files multiFlag
	fs.Var(&files, "file", "vignette file (repeatable)")
	real := fs.Bool("real", false, "evaluate the hand-labelled real consultations ("+eval.RealUrgencyFile+")")
	split := fs.String("split", corpus.Val, "with --real: split to evaluate (train, val, test or all); never tune on test")
	dataDir := fs.String("data-dir", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	verbose := fs.Bool("verbose", false, "list wrong answers by file line or key")
	rulesOnly := fs.Bool("rules-only", false, "without the ONNX models: knowledge graph and rules alone")
	show := fs.String("show", "", "with --real on a train or val split: print text, answer and red flags of the cases answered wrongly at this expected level (or all)")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(files) == 0 && !*real {
		return fmt.Errorf("give --real or at least one --file")
	}
	st, err := evalStack(*models, *ortLib, *rulesOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	if *real {
		cases, splits, samples, err := eval.RealUrgency(*dataDir, eval.RealUrgencyFile)
		if err != nil {
			return err
		}
		for _, sample := range []string{"random", "enriched", "all"} {
			var sel []eval.UrgencyCase
			for _, c := range cases {
				if (*split == "all" || splits[c.Key] == *split) && (sample == "all" || samples[c.Key] == sample) {
					sel = append(sel, c)
				}
			}
			var explain []func(eval.UrgencyCase, *triage.Response)
			if *show != "" && sample == "all" {
				if *split == corpus.Test || *split == "all" {
					return fmt.Errorf("--show prints texts: only for the train or val split, never test")
				}
				explain = append(explain, func(c eval.UrgencyCase, r *triage.Response) {
					if *show != "all" && c.Level != *show {
						return
					}
					fmt.Printf("--- %s want %s got %s: %s\n", c.Key, c.Level, r.Urgency.Level, c.Text)
					for _, f := range r.Urgency.RedFlags {
						var ev []string
						for _, e := range f.Evidence {
							ev = append(ev, e.Text)
						}
						fmt.Printf("    flag %s %s %v\n", f.ID, f.Name, ev)
					}
					fmt.Printf("    reasons %v\n", r.Urgency.Reasons)
				})
			}
			res, err := eval.Urgency(context.Background(), st, fmt.Sprintf("real %s/%s", *split, sample), sel, explain...)
			if err != nil {
				return err
			}
			res.Print(os.Stdout)
			if *verbose && sample == "all" {
				for _, w := range res.Wrong {
					fmt.Println("  wrong:", w)
				}
			}
		}
	}
	for _, f := range files {
		cases, err := eval.ReadUrgencyFile(f)
		if err != nil {
			return err
		}
		res, err := eval.Urgency(context.Background(), st, f, cases)
		if err != nil {
			return err
		}
		res.Print(os.Stdout)
		if *verbose {
			for _, w := range res.Wrong {
				fmt.Println("  wrong:", w)
			}
		}
	}
	return nil
}

func evalDiagnosis(args []string) error {
	fs := newFlagSet("eval diagnosis", "Send diagnosis vignettes (expected<TAB>also_accept<TAB>age<TAB>sex<TAB>text) through POST\n/v1/triage and print top-1/top-3 of the differential, how many diagnoses the KG lacks, and how\nmany answers put a child-only disease in an adult's top 5 (or the reverse for infants).",
		"  fenzhen eval diagnosis --file triage/testdata/holdout/diagnosis_dev.tsv --verbose")
	var files multiFlag
	fs.Var(&files, "file", "vignette file (repeatable)")
	verbose := fs.Bool("verbose", false, "list wrong answers (file line, expected → top-1)")
	rulesOnly := fs.Bool("rules-only", false, "without the ONNX models: knowledge graph and rules alone")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("give at least one --file")
	}
	st, err := evalStack(*models, *ortLib, *rulesOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, f := range files {
		cases, err := eval.ReadDiagnosisFile(f)
		if err != nil {
			return err
		}
		res, err := eval.Diagnosis(context.Background(), st, f, cases)
		if err != nil {
			return err
		}
		res.Print(os.Stdout)
		if *verbose {
			for _, w := range res.Wrong {
				fmt.Println("  wrong:", w)
			}
		}
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
