package main

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := `{"Action":"start","Package":"github.com/fenzhen/fenzhen/web"}
{"Action":"run","Package":"github.com/fenzhen/fenzhen/web","Test":"TestA"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestA","Output":"    a_test.go:9: no Chromium found: install with make setup-browser\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}
{"Action":"skip","Package":"github.com/fenzhen/fenzhen/web","Test":"TestA"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestB","Output":"    b_test.go:3: got 2, want 3\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"github.com/fenzhen/fenzhen/web","Test":"TestB"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestC","Output":"=== RUN   TestC\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Test":"TestC","Output":"--- PASS: TestC (0.00s)\n"}
{"Action":"pass","Package":"github.com/fenzhen/fenzhen/web","Test":"TestC"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Output":"FAIL\n"}
{"Action":"output","Package":"github.com/fenzhen/fenzhen/web","Output":"FAIL\tgithub.com/fenzhen/fenzhen/web\t0.01s\n"}
{"Action":"fail","Package":"github.com/fenzhen/fenzhen/web"}
{"ImportPath":"github.com/fenzhen/fenzhen/x","Action":"build-output","Output":"x/x.go:1:1: syntax error\n"}
{"ImportPath":"github.com/fenzhen/fenzhen/x","Action":"build-fail"}
{"Action":"skip","Package":"github.com/fenzhen/fenzhen/y"}
`
	var out strings.Builder
	failed, skips, err := summarize(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	want := "    b_test.go:3: got 2, want 3\n--- FAIL: TestB (0.00s)\nFAIL\tgithub.com/fenzhen/fenzhen/web\t0.01s\nx/x.go:1:1: syntax error\n"
	if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "TestC") || strings.Contains(out.String(), "no Chromium") {
		t.Errorf("output:\n%s", out.String())
	}
	list := skipList(skips)
	if list != "Skipped tests (1) and why:\n  web TestA: a_test.go:9: no Chromium found: install with make setup-browser\n" {
		t.Errorf("skip list:\n%s", list)
	}
}
