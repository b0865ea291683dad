package imaging

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

// TestPreprocessParity compares Preprocess with the independent numpy
// implementation in tools/make_fixtures.py (area averaging by pixel
// repetition), whose outputs are committed as testdata/parity/*.f32.
func TestPreprocessParity(t *testing.T) {
	var cases []struct {
		Name                    string
		Width, Height, Channels int
		Mean, Std               []float32
	}
	raw, err := os.ReadFile("testdata/parity/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 6 {
		t.Fatalf("only %d parity cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			img := readPNG(t, "testdata/parity/"+c.Name+".png")
			p := &inference.Preprocess{Width: c.Width, Height: c.Height, Channels: c.Channels, Mean: c.Mean, Std: c.Std}
			got, err := Preprocess(img, p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile("testdata/parity/" + c.Name + ".f32")
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 4*len(got) {
				t.Fatalf("expected %d values, got %d", len(b)/4, len(got))
			}
			worst := 0.0
			for i := range got {
				want := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				worst = math.Max(worst, math.Abs(float64(got[i]-want)))
			}
			if worst > 1e-5 {
				t.Errorf("max |go - numpy| = %g > 1e-5", worst)
			}
		})
	}
}

func TestAreaWeightsSumToOne(t *testing.T) {
	for _, sd := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {28, 28}, {37, 28}, {5, 28}, {1000, 64}, {64, 1000}, {16384, 3}} {
		for i, ws := range areaWeights(sd[0], sd[1]) {
			s := 0.0
			for _, w := range ws {
				s += w.w
			}
			if math.Abs(s-1) > 1e-12 {
				t.Fatalf("%v: output %d weights sum to %v", sd, i, s)
			}
		}
	}
}
