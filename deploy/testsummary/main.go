// Command testsummary reads `go test -json` on stdin and prints what plain
// `go test` prints (a line per package, the output of failed tests, build
// errors), then the tests that were skipped and why: the t.Skip message. It
// exits 1 if anything failed.
//
//	go test -json ./... | go run ./deploy/testsummary -skips bin/test-skips.txt
//
// With -skips the list goes to that file (for `make test` to print at its
// very end) and stdout gets one line counting them.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

type skip struct{ pkg, test, why string }

func main() {
	skipsFile := flag.String("skips", "", "write the skipped tests here instead of to stdout")
	flag.Parse()
	failed, skips, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	list := skipList(skips)
	if *skipsFile != "" {
		if err := os.WriteFile(*skipsFile, []byte(list), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(1)
		}
		fmt.Printf("%d tests skipped (listed in %s)\n", len(skips), *skipsFile)
	} else {
		fmt.Print(list)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the plain go test output of r's events to w and returns
// whether anything failed, and the skipped tests.
func summarize(r io.Reader, w io.Writer) (bool, []skip, error) {
	type key struct{ pkg, test string }
	output := map[key][]string{}
	var skips []skip
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				// Package lines: ok, FAIL, panics outside a test. Not the
				// verbose chatter that -json turns on.
				if o := strings.TrimSpace(e.Output); o != "PASS" && o != "FAIL" && !strings.HasPrefix(o, "=== ") && !strings.HasPrefix(o, "testing: warning") {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			if !strings.HasPrefix(e.Output, "=== ") || strings.HasPrefix(e.Output, "=== NAME") {
				output[k] = append(output[k], e.Output)
			} else {
				output[k] = append(output[k], "\x00reset")
			}
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprint(w, strings.ReplaceAll(strings.Join(output[k], ""), "\x00reset", ""))
			}
			delete(output, k)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, skipReason(output[k])})
			}
			delete(output, k)
		case "pass":
			delete(output, k)
		}
	}
	return failed, skips, sc.Err()
}

// skipReason is the t.Skip message: the lines after the test last started
// or resumed ("=== RUN", "=== CONT", marked "\x00reset"), but the
// "--- SKIP" line itself.
func skipReason(lines []string) string {
	var why []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == "\x00reset":
			why = why[:0]
		case strings.HasPrefix(t, "--- SKIP"), t == "":
		default:
			why = append(why, t)
		}
	}
	if len(why) == 0 {
		return "(no reason given)"
	}
	return strings.Join(why, " ")
}

func skipList(skips []skip) string {
	if len(skips) == 0 {
		return "No tests were skipped.\n"
	}
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].pkg != skips[j].pkg {
			return skips[i].pkg < skips[j].pkg
		}
		return skips[i].test < skips[j].test
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Skipped tests (%d) and why:\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(&b, "  %s %s: %s\n", strings.TrimPrefix(s.pkg, "github.com/fenzhen/fenzhen/"), s.test, s.why)
	}
	return b.String()
}
