// Package nlpbench measures symptom extraction, start-up and segmentation
// speed. Run: go test -v ./bench/nlp/ (add -bench . for Go benchmarks).
package nlpbench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/nlp/segment"
)

func sentences(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("../../nlp/testdata/sentences.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, _, _ := strings.Cut(line, "\t")
		out = append(out, text)
	}
	return out
}

type ready struct {
	kg  *knowledge.KG
	seg *segment.Segmenter
	idx *knowledge.Index
	x   *nlp.Extractor
}

// startUp does what the server does before it is ready: load the KG,
// build the segmenter, the in-memory index and the extractor.
func startUp(t testing.TB) (ready, map[string]time.Duration) {
	t.Helper()
	times := map[string]time.Duration{}
	t0 := time.Now()
	kg, err := knowledge.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	times["kg"] = time.Since(t0)
	t1 := time.Now()
	seg, err := segment.New(kg.Terms())
	if err != nil {
		t.Fatal(err)
	}
	times["segmenter"] = time.Since(t1)
	t2 := time.Now()
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		t.Fatal(err)
	}
	times["index"] = time.Since(t2)
	t3 := time.Now()
	x, err := nlp.NewExtractor(kg, nlp.WithFuzzy(idx))
	if err != nil {
		t.Fatal(err)
	}
	times["extractor"] = time.Since(t3)
	times["total"] = time.Since(t0)
	return ready{kg, seg, idx, x}, times
}

func TestStartUp(t *testing.T) {
	_, times := startUp(t)
	// Reported, not asserted: timings on a shared 2-core machine are not a
	// pass/fail property (see bench/RESULTS.md for measured figures).
	fmt.Printf("start-up: kg %v, segmenter %v, index %v, extractor %v, total %v (target ≤ 2s: %s)\n",
		times["kg"].Round(time.Millisecond), times["segmenter"].Round(time.Millisecond),
		times["index"].Round(time.Millisecond), times["extractor"].Round(time.Millisecond), times["total"].Round(time.Millisecond),
		verdict(times["total"] <= 2*time.Second))
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

// TestExtractThroughput runs extraction on one goroutine (one core).
func TestExtractThroughput(t *testing.T) {
	r, _ := startUp(t)
	ss := sentences(t)
	for _, withFuzzy := range []bool{false, true} {
		x := r.x
		if !withFuzzy {
			var err error
			if x, err = nlp.NewExtractor(r.kg); err != nil {
				t.Fatal(err)
			}
		}
		n, start := 0, time.Now()
		for time.Since(start) < 700*time.Millisecond {
			for _, s := range ss {
				x.Extract(s)
			}
			n += len(ss)
		}
		rate := float64(n) / time.Since(start).Seconds()
		fmt.Printf("extraction (fuzzy fallback %v): %.0f sentences/s on one core (GOMAXPROCS %d; target ≥ 20,000: %s)\n",
			withFuzzy, rate, runtime.GOMAXPROCS(0), verdict(rate >= 20000))
	}
}

func BenchmarkExtract(b *testing.B) {
	kg, err := knowledge.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	x, err := nlp.NewExtractor(kg)
	if err != nil {
		b.Fatal(err)
	}
	ss := sentences(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x.Extract(ss[i%len(ss)])
	}
}

func dataDir() string {
	if d := os.Getenv("FENZHEN_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "data")
}

// corpus is patient text for segmentation timing: the consultation
// questions when the shared data is present, else the sentence table.
func corpus(t testing.TB) string {
	data, err := os.ReadFile(filepath.Join(dataDir(), "consultations", "internal_medicine.csv"))
	if err != nil {
		return strings.Repeat(strings.Join(sentences(t), "\n"), 200)
	}
	if len(data) > 2<<20 {
		data = data[:2<<20]
	}
	return strings.ToValidUTF8(string(data), "")
}

// TestSegmentVsJieba times gse (our dictionary) and jieba on the same
// text in one run and prints the speed ratio.
func TestSegmentVsJieba(t *testing.T) {
	r, _ := startUp(t)
	text := corpus(t)
	lines := strings.Split(text, "\n")
	start := time.Now()
	words := 0
	for _, l := range lines {
		words += len(r.seg.Cut(l))
	}
	gse := time.Since(start)
	chars := len([]rune(text))
	fmt.Printf("gse: %d chars, %d words in %v (%.0f chars/s)\n", chars, words, gse.Round(time.Millisecond), float64(chars)/gse.Seconds())

	// Debian's python3 carries python3-jieba; a pyenv python3 first on PATH does not.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 not found; cannot compare with jieba")
		}
	}
	if err := exec.Command(py, "-c", "import jieba").Run(); err != nil {
		t.Skip("python3-jieba not installed (apt-get install python3-jieba); gse timing printed above")
	}
	f := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Dictionary loading is excluded on both sides: jieba.initialize() runs first.
	script := `import sys, time, jieba
jieba.setLogLevel(60); jieba.initialize()
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
t = time.perf_counter(); n = 0
for l in lines: n += len(jieba.lcut(l))
print(time.perf_counter() - t, n)`
	out, err := exec.Command(py, "-c", script, f).Output()
	if err != nil {
		t.Fatalf("jieba: %v", err)
	}
	fields := strings.Fields(string(out))
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || len(fields) < 2 {
		t.Fatalf("jieba output %q", out)
	}
	fmt.Printf("jieba: %s words in %.3fs (%.0f chars/s); gse/jieba speed ratio %.2f\n", fields[1], secs, float64(chars)/secs, secs/gse.Seconds())
}
