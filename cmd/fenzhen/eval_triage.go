package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
	fs := newFlagSet("eval triage", "Triage every labelled text of a CSV or JSONL file and print department top-1/top-3,\nper-department recall, the confusion of expected × predicted department and, where the\nfile gives one, urgency accuracy and under-triage counts. CSV needs the columns text and\ndepartment (official code or a platform name such as 呼吸科), optionally urgency.",
		"  fenzhen eval triage --data triage/testdata/department_eval.csv\n  fenzhen eval triage --data cases.jsonl --no-model\n  fenzhen eval triage --data $FENZHEN_DATA/consultations/cmtmedqa_dev.csv --json")
	data := fs.String("data", "", "CSV or JSONL file of labelled texts (required)")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	noModel := fs.Bool("no-model", false, "knowledge graph only, without the department classifier")
	weight := fs.Float64("model-weight", 0, "classifier share when blended with the knowledge graph (default: the engine's 0.5)")
	noSym := fs.Bool("classify-without-symptoms", false, "let the classifier answer texts with no recognised symptom")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr(fs, fmt.Errorf("--data is required"))
	}
	cases, err := triage.ReadEvalFile(*data)
	if err != nil {
		return err
	}
	e, done, err := triageEngine(*models, *ortLib, *noModel, triage.Options{ModelWeight: *weight, ClassifyWithoutSymptoms: *noSym})
	if err != nil {
		return err
	}
	defer done()
	p := newProgress(fmt.Sprintf("eval triage (%d cases)", len(cases)), 0, "")
	res, err := e.Evaluate(context.Background(), cases)
	p.Done()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Printf("triage on %s, models %v\n", *data, e.Models())
	res.Print(os.Stdout)
	return nil
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
