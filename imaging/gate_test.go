package imaging

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

var (
	greyGate   = &inference.Gate{Modality: "grey", OODOutput: "ood", OODFlag: 10, OODRefuse: 20}
	colourGate = &inference.Gate{Modality: "colour", OODOutput: "ood", OODFlag: 10, OODRefuse: 20}
	chestPre   = &inference.Preprocess{Width: 28, Height: 28, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}}
	dermPre    = &inference.Preprocess{Width: 64, Height: 64, Channels: 3, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.2, 0.2, 0.2}}
)

// outcome names what the rule checks make of an image: "ok", "flag:<checks>"
// or "refuse:<check>".
func outcome(img *Image, p *inference.Preprocess, g *inference.Gate) string {
	q, err := checkInput(img, p, g)
	var re *RejectError
	switch {
	case errors.As(err, &re):
		if !errors.Is(err, ErrRejected) || !strings.HasPrefix(re.Message, "图像未通过输入检查：") || !strings.Contains(re.Message, "请上传") {
			return "bad message: " + re.Message
		}
		return "refuse:" + re.Check
	case err != nil:
		return "error: " + err.Error()
	case !q.OK:
		if q.Reason == "" {
			return "flag without a reason"
		}
		return "flag:" + q.IssuesString()
	}
	return "ok"
}

// testdata/gate/cases.tsv: file, then what the chest (grey, 28×28) and the
// dermatology (colour, 64×64) gates make of it.
func TestGateRules(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "gate", "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("cases.tsv: %q: want 3 tab-separated columns", line)
		}
		raw, err := os.ReadFile(filepath.Join("testdata", "gate", cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		img, err := DecodeBytes(raw, "image/png", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got := outcome(img, chestPre, greyGate); got != cols[1] {
			t.Errorf("%s on the chest gate: %s, want %s", cols[0], got, cols[1])
		}
		if got := outcome(img, dermPre, colourGate); got != cols[2] {
			t.Errorf("%s on the dermatology gate: %s, want %s", cols[0], got, cols[2])
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d cases", n)
	}
}

// The model's OOD output: under ood_flag passes, over it flags, over
// ood_refuse refuses; quality.ood_score is the score over ood_flag.
func TestGateOOD(t *testing.T) {
	cfg := *chestCfg
	cfg.Outputs = []inference.IOConfig{{Name: "probs", DataType: inference.FP32, Shape: []int64{2}}, {Name: "ood", DataType: inference.FP32, Shape: []int64{1}}}
	cfg.Gate = greyGate
	raw, err := os.ReadFile(filepath.Join("testdata", "gate", "chest_normal.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := DecodeBytes(raw, "image/png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ood   float32
		want  string
		score float64
	}{{5, "ok", 0.5}, {15, "flag:out_of_distribution", 1.5}, {25, "refuse:out_of_distribution", 0}} {
		fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelChestXray: &cfg}, probs: []float32{0.3, 0.7}, ood: c.ood}
		resp, err := NewService(fr).Classify(context.Background(), ModelChestXray, img, Options{})
		got := "ok"
		var re *RejectError
		switch {
		case errors.As(err, &re):
			got = "refuse:" + re.Check
		case err != nil:
			t.Fatal(err)
		case !resp.Quality.OK:
			got = "flag:" + resp.Quality.IssuesString()
		}
		if got != c.want {
			t.Errorf("ood %v: %s, want %s", c.ood, got, c.want)
		}
		if err == nil && (resp.Quality.OODScore == nil || *resp.Quality.OODScore != c.score) {
			t.Errorf("ood %v: ood_score %v, want %v", c.ood, resp.Quality.OODScore, c.score)
		}
	}
}

// A chest image sent to dermatology never reaches the model.
func TestGateRefusesBeforeInference(t *testing.T) {
	cfg := *dermCfg
	cfg.Gate = &inference.Gate{Modality: "colour"}
	fr := &countingRunner{fakeRunner: fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelDermatology: &cfg}, probs: make([]float32, 7)}}
	raw, _ := os.ReadFile(filepath.Join("testdata", "gate", "chest_normal.png"))
	img, err := DecodeBytes(raw, "image/png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewService(fr).Classify(context.Background(), ModelDermatology, img, Options{})
	if !errors.Is(err, ErrRejected) || fr.calls != 0 {
		t.Fatalf("err %v after %d inference calls", err, fr.calls)
	}
}
