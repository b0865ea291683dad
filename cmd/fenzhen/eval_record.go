package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/fenzhen/fenzhen/eval"
	"github.com/fenzhen/fenzhen/eval/corpus"
	"github.com/fenzhen/fenzhen/triage"
)

func init() { evalTargets["record"] = evalRecord }

// recordReport is the --json output of eval record.
type recordReport struct {
	Split        string             `json:"split"`
	Records      int                `json:"records"`
	CCAcceptable float64            `json:"cc_acceptable"`
	Sex          float64            `json:"sex"`
	Age          float64            `json:"age"`
	Reporter     float64            `json:"reporter"`
	Sections     map[string]sectPR  `json:"sections"`
	Invented     int                `json:"invented"`
	AllXfyun     *allXfyunReport    `json:"all_xfyun,omitempty"`
	Misses       []string           `json:"misses,omitempty"`
	Counts       map[string]eval.PR `json:"counts"`
}

type sectPR struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

type allXfyunReport struct {
	Texts      int      `json:"texts"`
	Statements int      `json:"statements"`
	Invented   int      `json:"invented"`
	P50Ms      float64  `json:"p50_ms"`
	P99Ms      float64  `json:"p99_ms"`
	Examples   []string `json:"examples,omitempty"`
}

func evalRecord(args []string) error {
	fs := newFlagSet("eval record", "Draft the pre-consultation record (POST /v1/record of an in-process server) of every\n"+
		"reference record's text and score it by docs/labelling/records.md: patient line, 主诉 acceptable,\n"+
		"findings precision and recall per section, and statements that cite nothing the text says\n"+
		"(invented). The split is records_split.tsv beside the references: develop on dev, score test once.\n"+
		"--all-xfyun also drafts a record for every xfyun text, checks every statement and reports the\n"+
		"latency at one client.",
		"  fenzhen eval record --split dev\n  fenzhen eval record --split test --json\n  fenzhen eval record --split dev --all-xfyun")
	split := fs.String("split", "dev", "split of the references: dev, test or all")
	refsPath := fs.String("refs", "models/triage/labels/records_ref.jsonl", "reference records")
	dataDir := fs.String("data-dir", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	allXfyun := fs.Bool("all-xfyun", false, "check every statement of the records of all xfyun texts, and the latency")
	misses := fs.Bool("misses", false, "print each record's misses (draft and reference items, never the text; dev only)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *split != "dev" && *split != "test" && *split != "all" {
		return fmt.Errorf("--split %q: want dev, test or all", *split)
	}
	if *misses && *split != "dev" {
		return errors.New("--misses is for the dev split only: never tune on test")
	}
	refs, err := eval.LoadRecordRefs(*refsPath)
	if err != nil {
		return err
	}
	texts, err := eval.RecordTexts(*dataDir, refs)
	if err != nil {
		return err
	}
	st, err := eval.NewStack("", triage.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	sc, err := eval.EvalRecords(ctx, st, refs, texts, *split)
	if err != nil {
		return err
	}
	n := float64(max(sc.Records, 1))
	rep := recordReport{
		Split: *split, Records: sc.Records, CCAcceptable: float64(sc.CCAcceptable) / n,
		Sex: float64(sc.Sex) / n, Age: float64(sc.Age) / n, Reporter: float64(sc.Reporter) / n,
		Sections: map[string]sectPR{}, Invented: sc.Invented, Counts: sc.Sections,
	}
	for k, pr := range sc.Sections {
		rep.Sections[k] = sectPR{pr.Precision(), pr.Recall()}
	}
	if *misses {
		rep.Misses = sc.Misses
	}
	if *allXfyun {
		cases, err := corpus.Load(*dataDir, corpus.Xfyun)
		if err != nil {
			return err
		}
		keys := make([]string, len(cases))
		all := make([]string, len(cases))
		for i, c := range cases {
			keys[i], all[i] = c.Key, c.Text
		}
		p := newProgress("eval record all xfyun", int64(len(all)), "texts")
		g, err := eval.CheckRecords(ctx, st, keys, all)
		p.Done()
		if err != nil {
			return err
		}
		rep.AllXfyun = &allXfyunReport{Texts: g.Texts, Statements: g.Statements, Invented: g.Invented,
			P50Ms: float64(g.P50.Microseconds()) / 1000, P99Ms: float64(g.P99.Microseconds()) / 1000, Examples: g.Examples}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Printf("records (%s): %d\n", rep.Split, rep.Records)
	fmt.Printf("主诉 acceptable  %.1f %%\n", 100*rep.CCAcceptable)
	fmt.Printf("patient line     sex %.1f %%  age %.1f %%  reporter %.1f %%\n", 100*rep.Sex, 100*rep.Age, 100*rep.Reporter)
	fmt.Printf("%-28s %9s %9s   (draft correct/items, reference found/items)\n", "section", "precision", "recall")
	for _, k := range eval.RecordSections {
		pr := sc.Sections[k]
		fmt.Printf("%-28s %9.3f %9.3f   (%d/%d, %d/%d)\n", k, pr.Precision(), pr.Recall(), pr.DraftCorrect, pr.DraftItems, pr.RefFound, pr.RefItems)
	}
	fmt.Printf("invented statements: %d\n", rep.Invented)
	if a := rep.AllXfyun; a != nil {
		fmt.Printf("all xfyun: %d texts, %d statements, %d invented; /v1/record at one client p50 %.2f ms, p99 %.2f ms\n",
			a.Texts, a.Statements, a.Invented, a.P50Ms, a.P99Ms)
		for _, e := range a.Examples {
			fmt.Println("  " + e)
		}
	}
	for _, m := range rep.Misses {
		fmt.Println(m)
	}
	return nil
}
