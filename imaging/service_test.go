package imaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

// fakeRunner serves one model with fixed probabilities and records the request.
type fakeRunner struct {
	cfgs  map[string]*inference.ModelConfig
	probs []float32
	ood   float32 // sent as the "ood" output when set
	got   inference.Request
}

func (f *fakeRunner) Config(model, version string) (string, *inference.ModelConfig, error) {
	c, ok := f.cfgs[model]
	if !ok {
		return "", nil, fmt.Errorf("model %q not found", model)
	}
	return "1", c, nil
}

func (f *fakeRunner) Infer(ctx context.Context, req inference.Request) (*inference.Result, error) {
	f.got = req
	n := int(req.Inputs[0].Shape[0])
	var out []float32
	for i := 0; i < n; i++ {
		out = append(out, f.probs...)
	}
	res := &inference.Result{Model: req.Model, Version: "1", Outputs: []inference.Tensor{{
		Name: "probs", DataType: inference.FP32, Shape: []int64{int64(n), int64(len(f.probs))}, Data: out}}}
	if f.ood != 0 {
		ood := make([]float32, n)
		for i := range ood {
			ood[i] = f.ood
		}
		res.Outputs = append(res.Outputs, inference.Tensor{Name: "ood", DataType: inference.FP32, Shape: []int64{int64(n), 1}, Data: ood})
	}
	return res, nil
}

var (
	chestCfg = &inference.ModelConfig{Name: ModelChestXray, MaxBatchSize: 64, Labels: []string{"normal", "pneumonia"},
		Inputs:     []inference.IOConfig{{Name: "image", DataType: inference.FP32, Shape: []int64{1, 28, 28}}},
		Preprocess: &inference.Preprocess{Width: 28, Height: 28, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}}}
	dermCfg = &inference.ModelConfig{Name: ModelDermatology, MaxBatchSize: 64, Labels: []string{"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"},
		Inputs:     []inference.IOConfig{{Name: "image", DataType: inference.FP32, Shape: []int64{3, 32, 32}}},
		Preprocess: &inference.Preprocess{Width: 32, Height: 32, Channels: 3, Mean: []float32{0.7, 0.5, 0.5}, Std: []float32{0.2, 0.2, 0.2}}}
)

func grey(w, h int) *Image {
	return &Image{Format: FormatDICOM, Width: w, Height: h, Channels: 1, Pix: make([]uint8, w*h), Modality: "CR"}
}

func TestClassifyChest(t *testing.T) {
	fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelChestXray: chestCfg}, probs: []float32{0.07, 0.93}}
	resp, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(60, 50), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fr.got.Model != ModelChestXray || fr.got.Inputs[0].Name != "image" || fmt.Sprint(fr.got.Inputs[0].Shape) != "[1 1 28 28]" {
		t.Errorf("request %+v", fr.got.Inputs[0].Shape)
	}
	if err := fr.got.Inputs[0].Check(); err != nil {
		t.Error(err)
	}
	b, _ := json.Marshal(resp)
	want := `{"request_id":"","findings":[{"label":"pneumonia","name":"肺炎","probability":0.93},{"label":"normal","name":"正常","probability":0.07}],` +
		`"input":{"format":"dicom","width":60,"height":50,"modality":"CR"},"models":[{"name":"chest-xray","version":"1"}],"quality":{"ok":true},"disclaimer":"` + Disclaimer + `"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestClassifyDermUrgency(t *testing.T) {
	cases := []struct {
		name  string
		probs []float32 // akiec bcc bkl df mel nv vasc
		level string
		top   string
	}{
		{"nevus", []float32{0.02, 0.03, 0.05, 0.01, 0.08, 0.80, 0.01}, "routine", "nv"},
		{"melanoma top", []float32{0.05, 0.05, 0.1, 0.0, 0.45, 0.35, 0.0}, "urgent", "mel"},
		{"malignant sum over threshold", []float32{0.1, 0.1, 0.05, 0.0, 0.12, 0.63, 0.0}, "urgent", "nv"},
		{"just under threshold", []float32{0.1, 0.09, 0.05, 0.0, 0.1, 0.66, 0.0}, "routine", "nv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelDermatology: dermCfg}, probs: c.probs}
			img := &Image{Format: FormatJPEG, Width: 40, Height: 30, Channels: 3, Pix: make([]uint8, 40*30*3)}
			resp, err := NewService(fr).Classify(context.Background(), ModelDermatology, img, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Findings) != 7 || resp.Findings[0].Label != c.top {
				t.Errorf("findings %+v", resp.Findings)
			}
			for i := 1; i < len(resp.Findings); i++ {
				if resp.Findings[i].Probability > resp.Findings[i-1].Probability {
					t.Errorf("findings not best first: %+v", resp.Findings)
				}
			}
			if resp.Department != "13" || resp.DepartmentName != "皮肤科" {
				t.Errorf("department %q %q", resp.Department, resp.DepartmentName)
			}
			if resp.Urgency == nil || resp.Urgency.Level != c.level || resp.Urgency.Label == "" || len(resp.Urgency.Reasons) == 0 {
				t.Fatalf("urgency %+v", resp.Urgency)
			}
			if fmt.Sprint(fr.got.Inputs[0].Shape) != "[1 3 32 32]" {
				t.Errorf("shape %v", fr.got.Inputs[0].Shape)
			}
		})
	}
}

func TestClassifyNoModel(t *testing.T) {
	fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{}}
	_, err := NewService(fr).Classify(context.Background(), ModelDermatology, grey(8, 8), Options{})
	if !errors.Is(err, ErrNoModel) || !strings.Contains(err.Error(), "no dermatology model is installed") {
		t.Fatalf("err = %v", err)
	}
	// A model without labels/preprocess is not an image classifier.
	fr.cfgs["text"] = &inference.ModelConfig{Name: "text", Inputs: []inference.IOConfig{{Name: "x"}}}
	if _, err := NewService(fr).Classify(context.Background(), "text", grey(8, 8), Options{}); !errors.Is(err, ErrNoModel) {
		t.Fatalf("err = %v", err)
	}
}

func TestClassifyBadOutput(t *testing.T) {
	fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelChestXray: chestCfg}, probs: []float32{0.1, 0.2, 0.7}}
	if _, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(8, 8), Options{}); err == nil {
		t.Fatal("3 probabilities for 2 labels accepted")
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecide(t *testing.T) {
	cases := []struct {
		name string
		op   *inference.OperatingPoint
		p    []float32
		want int
	}{
		{"argmax", nil, []float32{0.2, 0.5, 0.3}, 1},
		{"argmax ties: first", nil, []float32{0.5, 0.5}, 0},
		{"threshold reached", &inference.OperatingPoint{Threshold: ptr(0.25)}, []float32{0.75, 0.25}, 1},
		{"threshold missed", &inference.OperatingPoint{Threshold: ptr(0.25)}, []float32{0.76, 0.24}, 0},
		{"bias moves the decision", &inference.OperatingPoint{LogitBias: []float64{0, 0, 1}}, []float32{0.2, 0.5, 0.3}, 2},
		{"bias not enough", &inference.OperatingPoint{LogitBias: []float64{0, 0, 0.4}}, []float32{0.2, 0.5, 0.3}, 1},
		{"zero probability floored", &inference.OperatingPoint{LogitBias: []float64{30, 0}}, []float32{0, 1}, 0},
	}
	for _, c := range cases {
		if got := Decide(c.op, c.p); got != c.want {
			t.Errorf("%s: Decide = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestClassifyOperatingPoints(t *testing.T) {
	cfg := *chestCfg
	cfg.OperatingPoints = &inference.OperatingPoints{Default: "balanced", Points: map[string]inference.OperatingPoint{
		"balanced": {Threshold: ptr(0.5)}, "screening": {Threshold: ptr(0.1)}}}
	fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelChestXray: &cfg}, probs: []float32{0.8, 0.2}}
	for _, c := range []struct{ ask, point, label string }{{"", "balanced", "normal"}, {"balanced", "balanced", "normal"}, {"screening", "screening", "pneumonia"}} {
		resp, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(60, 50), Options{OperatingPoint: c.ask})
		if err != nil {
			t.Fatal(err)
		}
		d := resp.Decision
		if d == nil || d.OperatingPoint != c.point || d.Label != c.label || d.Name != labelNames[c.label] || d.Threshold == nil {
			t.Errorf("ask %q: decision %+v, want %s at %s", c.ask, d, c.label, c.point)
		}
		if resp.Findings[0].Label != "normal" { // findings stay ordered by probability
			t.Errorf("findings %+v", resp.Findings)
		}
	}
	_, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(60, 50), Options{OperatingPoint: "sensitive"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "balanced, screening") {
		t.Errorf("unknown operating point: %v", err)
	}
	// A model without operating points answers without a decision and refuses a named one.
	fr.cfgs[ModelChestXray] = chestCfg
	if resp, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(60, 50), Options{}); err != nil || resp.Decision != nil {
		t.Errorf("no operating points: %+v, %v", resp, err)
	}
	if _, err := NewService(fr).Classify(context.Background(), ModelChestXray, grey(60, 50), Options{OperatingPoint: "screening"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no operating points, asked for one: %v", err)
	}
}

// At an operating point that favours melanoma, a lesion whose top
// probability is a naevus is decided as melanoma and is urgent.
func TestDermDecisionUrgency(t *testing.T) {
	cfg := *dermCfg
	cfg.OperatingPoints = &inference.OperatingPoints{Default: "balanced", Points: map[string]inference.OperatingPoint{
		"balanced": {LogitBias: []float64{0, 0, 0, 0, 1.2, 0, 0}}}}
	fr := &fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelDermatology: &cfg}, probs: []float32{0.01, 0.01, 0.02, 0.01, 0.25, 0.69, 0.01}}
	img := &Image{Format: FormatPNG, Width: 64, Height: 64, Channels: 3, Pix: make([]uint8, 64*64*3)}
	resp, err := NewService(fr).Classify(context.Background(), ModelDermatology, img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Findings[0].Label != "nv" || resp.Decision.Label != "mel" || resp.Urgency.Level != "urgent" || !strings.Contains(resp.Urgency.Reasons[0], "黑色素瘤") {
		t.Errorf("top %s decision %+v urgency %+v", resp.Findings[0].Label, resp.Decision, resp.Urgency)
	}
}
