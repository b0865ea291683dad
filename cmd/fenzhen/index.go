package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/fenzhen/fenzhen/knowledge"
)

func init() {
	register(command{name: "index", summary: "build the KG search index on disk", run: runIndex})
}

func runIndex(args []string) error {
	fs := newFlagSet("index", "Build the bleve search index over the KG (gse Chinese analyzer) and write it to a directory.\nThe server builds the same index in memory at start-up; this is for inspection and offline use.",
		"  fenzhen index --out kg.bleve\n  fenzhen index --kg imported.json --out imported.bleve --query 心梗")
	kgPath := fs.String("kg", "", "KG bundle file (default: the embedded KG)")
	out := fs.String("out", "", "index directory to create (must not exist)")
	q := fs.String("query", "", "after building, run this search and print the hits")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErr(fs, errors.New("need --out"))
	}
	g, err := loadKG(*kgPath)
	if err != nil {
		return err
	}
	start := time.Now()
	p := newProgress("index "+*out, 0, "")
	err = knowledge.WriteIndex(g, *out)
	p.Done()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s in %v\n", *out, time.Since(start).Round(time.Millisecond))
	if *q != "" {
		x, err := knowledge.OpenIndex(g, *out)
		if err != nil {
			return err
		}
		defer x.Close()
		hits, err := x.Search(*q, 10)
		if err != nil {
			return err
		}
		for _, h := range hits {
			fmt.Printf("%-10s %-40s %s %.3f\n", h.Type, h.ID, h.Name, h.Score)
		}
	}
	return nil
}
