package imaging

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/wire"
)

// Model names in the repository.
const (
	ModelChestXray   = "chest-xray"
	ModelDermatology = "dermatology"
)

// Disclaimer is returned with every imaging result.
const Disclaimer = "本结果由人工智能生成，仅供参考，不能替代医生的诊断和治疗建议。影像结果须由具备资质的医师结合临床阅片确认。"

// labelNames are the Chinese names of the classes the models output.
var labelNames = map[string]string{
	"normal":    "正常",
	"pneumonia": "肺炎",
	"akiec":     "光化性角化病/上皮内癌",
	"bcc":       "基底细胞癌",
	"bkl":       "良性角化样病变",
	"df":        "皮肤纤维瘤",
	"mel":       "黑色素瘤",
	"nv":        "色素痣",
	"vasc":      "血管病变",
}

// modelTitles name each model in ErrNoModel messages.
var modelTitles = map[string]string{
	ModelChestXray:   "chest X-ray",
	ModelDermatology: "dermatology",
}

// Finding is one class of the model with its probability.
type Finding struct {
	Label       string  `json:"label"`
	Name        string  `json:"name"`
	Probability float64 `json:"probability"`
}

// InputInfo describes the decoded image.
type InputInfo struct {
	Format   string `json:"format"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Modality string `json:"modality"`
}

// ModelRef, RedFlag and Urgency are the wire types triage answers with too.
// An image finding rests on no request text, so a RedFlag's Evidence is
// always empty (never null).
type (
	ModelRef = wire.ModelRef
	RedFlag  = wire.RedFlag
	Urgency  = wire.Urgency
)

// Response is the body of POST /v1/imaging/chest and POST /v1/dermatology.
// The API layer sets RequestID and encodes it as is.
type Response struct {
	RequestID string     `json:"request_id"`
	Findings  []Finding  `json:"findings"`
	Input     InputInfo  `json:"input"`
	Models    []ModelRef `json:"models"`
	// Department is the 《医疗机构诊疗科目名录》 code, as API.md writes it ("13");
	// DepartmentName is its name (皮肤科).
	Department     string   `json:"department,omitempty"`
	DepartmentName string   `json:"department_name,omitempty"`
	Urgency        *Urgency `json:"urgency,omitempty"`
	// Decision is the class decided at an operating point (absent for a
	// model whose config has no operating_points).
	Decision *Decision `json:"decision,omitempty"`
	// Quality is the input gate's verdict on the image.
	Quality    *Quality `json:"quality"`
	Disclaimer string   `json:"disclaimer"`
}

// Decision is the class decided at an operating point of the model.
type Decision struct {
	Label          string `json:"label"`
	Name           string `json:"name"`
	OperatingPoint string `json:"operating_point"`
	// Threshold is the probability of the model's second label (pneumonia)
	// at or above which it is decided; for two-label models only.
	Threshold *float64 `json:"threshold,omitempty"`
}

// Options tune one classification.
type Options struct {
	// OperatingPoint names one of the model's operating points (chest-xray:
	// balanced, screening); empty means the model's default.
	OperatingPoint string
}

// ErrInvalid: the request asks for something the model does not have (an
// unknown operating point). HTTP 400.
var ErrInvalid = errors.New("invalid imaging request")

// MalignantThreshold: a dermatology result is at least `urgent` when the
// summed probability of the malignant or pre-malignant classes (mel, bcc,
// akiec) reaches it, or when one of them is the top class.
const MalignantThreshold = 0.3

var malignant = []string{"mel", "bcc", "akiec"}

// Service classifies images with the models of a Runner.
type Service struct {
	runner inference.Runner
}

// NewService returns a Service that runs models through r.
func NewService(r inference.Runner) *Service { return &Service{runner: r} }

// Classify runs model (ModelChestXray or ModelDermatology, or any classifier
// with labels and preprocess in its config) on img, behind the input gate
// of the model's config: an image the model does not read gives a
// *RejectError (ErrRejected); one it reads with reservations gets
// Quality.OK false. A model missing from the repository gives ErrNoModel,
// never a made-up answer.
func (s *Service) Classify(ctx context.Context, model string, img *Image, opts Options) (*Response, error) {
	version, cfg, err := s.runner.Config(model, "")
	if err != nil {
		title := modelTitles[model]
		if title == "" {
			title = model
		}
		return nil, fmt.Errorf("%w: no %s model is installed (%v)", ErrNoModel, title, err)
	}
	input, labels, err := modelIO(model, cfg)
	if err != nil {
		return nil, err
	}
	opName, op, err := operatingPoint(cfg, opts.OperatingPoint)
	if err != nil {
		return nil, err
	}
	if img.Channels != 1 && img.Channels != 3 || img.Width < 1 || img.Height < 1 || len(img.Pix) != img.Width*img.Height*img.Channels {
		return nil, fmt.Errorf("%w: image buffer %d bytes for %d×%d×%d", ErrCorrupt, len(img.Pix), img.Width, img.Height, img.Channels)
	}
	quality, err := checkInput(img, cfg.Preprocess, cfg.Gate)
	if err != nil {
		return nil, err
	}
	x, err := Preprocess(img, cfg.Preprocess)
	if err != nil {
		return nil, err
	}
	p := cfg.Preprocess
	res, err := s.runner.Infer(ctx, inference.Request{Model: model, Version: version, Inputs: []inference.Tensor{{
		Name: input, DataType: inference.FP32, Shape: []int64{1, int64(p.Channels), int64(p.Height), int64(p.Width)}, Data: x,
	}}})
	if err != nil {
		return nil, err // the API layer maps the repository's errors (queue full, deadline…)
	}
	probs, err := probabilities(res, len(labels), 1)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", model, err)
	}
	if g := cfg.Gate; g != nil && g.OODFlag > 0 {
		ood, err := oodScores(res, g.OODOutput, 1)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", model, err)
		}
		if err := checkOOD(quality, float64(ood[0]), g); err != nil {
			return nil, err
		}
	}
	if res.Version != "" {
		version = res.Version
	}
	resp := &Response{
		Findings:   findings(labels, probs),
		Input:      InputInfo{Format: img.Format, Width: img.Width, Height: img.Height, Modality: img.Modality},
		Models:     []ModelRef{{Name: model, Version: version}},
		Quality:    quality,
		Disclaimer: Disclaimer,
	}
	if op != nil {
		k := Decide(op, probs[0])
		resp.Decision = &Decision{Label: labels[k], Name: labelName(labels[k]), OperatingPoint: opName, Threshold: op.Threshold}
	}
	if model == ModelDermatology {
		resp.Department, resp.DepartmentName = "13", "皮肤科"
		resp.Urgency = dermUrgency(resp.Findings, resp.Decision)
	}
	return resp, nil
}

// operatingPoint resolves the requested operating point of cfg ("" is the
// default). A model without operating points has none, and asking for one
// is an error.
func operatingPoint(cfg *inference.ModelConfig, name string) (string, *inference.OperatingPoint, error) {
	ops := cfg.OperatingPoints
	if ops == nil {
		if name != "" {
			return "", nil, fmt.Errorf("%w: model %s has no operating points (asked for %q)", ErrInvalid, cfg.Name, name)
		}
		return "", nil, nil
	}
	if name == "" {
		name = ops.Default
	}
	op, ok := ops.Points[name]
	if !ok {
		names := make([]string, 0, len(ops.Points))
		for n := range ops.Points {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", nil, fmt.Errorf("%w: operating_point %q is not one of %s", ErrInvalid, name, strings.Join(names, ", "))
	}
	return name, &op, nil
}

// Decide returns the index of the label decided at op for one row of
// probabilities: with a threshold (two labels), the second label when its
// probability reaches it; with a logit bias, the argmax of log(p) + bias
// (p floored at 1e-12; the first label on ties); with neither, the argmax.
func Decide(op *inference.OperatingPoint, p []float32) int {
	if op != nil && op.Threshold != nil && len(p) == 2 {
		if float64(p[1]) >= *op.Threshold {
			return 1
		}
		return 0
	}
	best, bestV := 0, math.Inf(-1)
	for i, v := range p {
		s := float64(v)
		if op != nil && op.LogitBias != nil {
			s = math.Log(math.Max(s, 1e-12)) + op.LogitBias[i]
		}
		if s > bestV {
			best, bestV = i, s
		}
	}
	return best
}

func labelName(l string) string {
	if n := labelNames[l]; n != "" {
		return n
	}
	return l
}

// oodScores reads n values of the [N,1] output named name.
func oodScores(res *inference.Result, name string, n int) ([]float32, error) {
	for i := range res.Outputs {
		if o := &res.Outputs[i]; o.Name == name {
			data, ok := o.Data.([]float32)
			if !ok || len(data) != n {
				return nil, fmt.Errorf("output %q: %T of %d values, want %d float32", name, o.Data, len(data), n)
			}
			for _, v := range data {
				if math.IsNaN(float64(v)) {
					return nil, fmt.Errorf("output %q holds NaN", name)
				}
			}
			return data, nil
		}
	}
	return nil, fmt.Errorf("no output %q (the gate's ood_output)", name)
}

// modelIO checks that cfg describes an image classifier and returns its
// input name and labels.
func modelIO(model string, cfg *inference.ModelConfig) (string, []string, error) {
	if cfg == nil || cfg.Preprocess == nil || len(cfg.Labels) == 0 || len(cfg.Inputs) == 0 {
		return "", nil, fmt.Errorf("%w: model %s has no preprocess/labels in its config, so it is not an image classifier", ErrNoModel, model)
	}
	return cfg.Inputs[0].Name, cfg.Labels, nil
}

// probabilities extracts n rows of k probabilities from the output named
// "probs" (or the only output).
func probabilities(res *inference.Result, k, n int) ([][]float32, error) {
	if res == nil || len(res.Outputs) == 0 {
		return nil, errors.New("no outputs")
	}
	out := &res.Outputs[0]
	for i := range res.Outputs {
		if res.Outputs[i].Name == "probs" {
			out = &res.Outputs[i]
		}
	}
	data, ok := out.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("output %q is %T, want []float32", out.Name, out.Data)
	}
	if len(data) != n*k {
		return nil, fmt.Errorf("output %q has %d values, want %d×%d (labels)", out.Name, len(data), n, k)
	}
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = data[i*k : (i+1)*k]
		for _, v := range rows[i] {
			if math.IsNaN(float64(v)) || v < -1e-3 || v > 1+1e-3 {
				return nil, fmt.Errorf("output %q holds %v, not a probability", out.Name, v)
			}
		}
	}
	return rows, nil
}

func findings(labels []string, probs [][]float32) []Finding {
	fs := make([]Finding, len(labels))
	for i, l := range labels {
		name := labelName(l)
		// Round to 4 decimals: float32 noise is not information.
		fs[i] = Finding{Label: l, Name: name, Probability: math.Round(float64(probs[0][i])*1e4) / 1e4}
	}
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].Probability > fs[b].Probability })
	return fs
}

// dermUrgency: mel/bcc/akiec decided (at the operating point; without one,
// top-1), or their summed probability ≥ MalignantThreshold → urgent, with
// reasons; otherwise routine.
func dermUrgency(fs []Finding, d *Decision) *Urgency {
	sum := 0.0
	var names []string
	for _, f := range fs {
		for _, m := range malignant {
			if f.Label == m {
				sum += f.Probability
				if f.Probability >= 0.1 {
					names = append(names, fmt.Sprintf("%s（%.0f%%）", f.Name, f.Probability*100))
				}
			}
		}
	}
	top := fs[0]
	if d != nil {
		for _, f := range fs {
			if f.Label == d.Label {
				top = f
			}
		}
	}
	topMalignant := false
	for _, m := range malignant {
		topMalignant = topMalignant || top.Label == m
	}
	u := &Urgency{RedFlags: []RedFlag{}}
	switch {
	case topMalignant:
		u.Level = "urgent"
		u.Reasons = append(u.Reasons, fmt.Sprintf("模型判断为%s（概率%.0f%%），属恶性或癌前病变，建议24小时内到皮肤科就诊，必要时行皮肤镜或病理活检", top.Name, top.Probability*100))
		u.RedFlags = append(u.RedFlags, RedFlag{ID: top.Label, Name: top.Name, Text: fmt.Sprintf("%.0f%%", top.Probability*100), Evidence: []nlp.Span{}})
	case sum >= MalignantThreshold:
		u.Level = "urgent"
		u.Reasons = append(u.Reasons, fmt.Sprintf("恶性或癌前病变（黑色素瘤、基底细胞癌、光化性角化病/上皮内癌）合计概率%.0f%%，不能排除：%s；建议24小时内到皮肤科就诊", sum*100, strings.Join(names, "、")))
	default:
		u.Level = "routine"
		u.Reasons = append(u.Reasons, fmt.Sprintf("最可能的结果为%s（%.0f%%），恶性病变可能性较低；如皮损增大、颜色或形状改变、出血或破溃，请及时到皮肤科就诊", top.Name, top.Probability*100))
	}
	u.Label = wire.LevelLabels[u.Level]
	return u
}
