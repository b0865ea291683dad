package inference

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigGood(t *testing.T) {
	c, err := LoadConfig("testdata/config/good.yaml", "good")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxBatchSize != 8 || time.Duration(c.Batching.MaxQueueDelay) != time.Millisecond {
		t.Errorf("parsed %+v", c)
	}
	// Defaults fill what the file leaves out.
	if c.Instances != 1 || c.IntraOpThreads != 1 || c.Batching.MaxQueueSize != 1024 || time.Duration(c.Batching.DefaultTimeout) != 5*time.Second {
		t.Errorf("defaults not applied: %+v", c)
	}
}

// Each testdata/config/*.bad.yaml starts with "# want: <text>"; loading it
// must fail with an error naming the file and containing that text.
func TestLoadConfigBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/*.bad.yaml")
	if len(files) < 8 {
		t.Fatalf("expected the bad-config cases, found %d", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := firstLineWant(t, f)
			dirName := strings.TrimSuffix(filepath.Base(f), ".yaml")
			_, err := LoadConfig(f, dirName)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %q should name %s and contain %q", err, f, want)
			}
		})
	}
}

func firstLineWant(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	want, ok := strings.CutPrefix(s.Text(), "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be '# want: …'", path)
	}
	return want
}

func TestNumElements(t *testing.T) {
	for _, c := range []struct {
		shape []int64
		want  int64
	}{
		{[]int64{2, 3, 4}, 24},
		{[]int64{}, 1},
		{[]int64{0, 5}, 0},
		{[]int64{-1, 5}, -1},
		{[]int64{1 << 32, 1 << 32}, -1}, // would wrap to 0 in int64
		{[]int64{1 << 62, 784}, -1},
	} {
		if got := NumElements(c.shape); got != c.want {
			t.Errorf("NumElements(%v) = %d, want %d", c.shape, got, c.want)
		}
	}
}
