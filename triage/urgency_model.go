package triage

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenzhen/fenzhen/inference"
)

// DefaultUrgencyModel is the repository name of the urgency classifier.
const DefaultUrgencyModel = "triage-urgency"

// defaultUrgencyThreshold is how sure the classifier must be of a level
// before it may raise the rules' level to it.
const defaultUrgencyThreshold = 0.9

// urgencyModel is the ONNX urgency classifier (models/triage/train_urgency.py)
// as seen through a Runner. It reads the department classifier's features
// and gives one probability per level. It can only raise the red-flag
// rules' level (raiseUrgency), never lower it.
type urgencyModel struct {
	run     inference.Runner
	name    string
	version string
	input   string
	levels  []string // output order, each a Level* constant
}

func loadUrgencyModel(run inference.Runner, name, version string, dim int) (*urgencyModel, error) {
	v, cfg, err := run.Config(name, version)
	if err != nil {
		return nil, fmt.Errorf("urgency model %s: %w", name, err)
	}
	if len(cfg.Inputs) != 1 || len(cfg.Outputs) != 1 {
		return nil, fmt.Errorf("urgency model %s/%s: want one input and one output", name, v)
	}
	in, out := cfg.Inputs[0], cfg.Outputs[0]
	if in.DataType != inference.FP32 || len(in.Shape) != 1 || in.Shape[0] != int64(dim) {
		return nil, fmt.Errorf("urgency model %s/%s: input %s %v does not match the %d features this knowledge graph gives (retrain with models/triage/train_urgency.py)", name, v, in.DataType, in.Shape, dim)
	}
	if cfg.MaxBatchSize <= 0 {
		return nil, fmt.Errorf("urgency model %s/%s: needs a batch dimension (max_batch_size > 0)", name, v)
	}
	if len(out.Shape) != 1 || int(out.Shape[0]) != len(cfg.Labels) || len(cfg.Labels) == 0 {
		return nil, fmt.Errorf("urgency model %s/%s: output %v needs one label per class, have %d", name, v, out.Shape, len(cfg.Labels))
	}
	for _, l := range cfg.Labels {
		if _, ok := levelRank[l]; !ok {
			return nil, fmt.Errorf("urgency model %s/%s: label %q is not an urgency level", name, v, l)
		}
	}
	return &urgencyModel{run: run, name: name, version: v, input: in.Name, levels: cfg.Labels}, nil
}

// optionalUrgency loads the urgency classifier when the repository has it
// (or fails when Options named one that is missing or mismatched).
func optionalUrgency(e *Engine, runner inference.Runner) error {
	name, explicit := e.opts.UrgencyModel, true
	if name == "" {
		name, explicit = DefaultUrgencyModel, false
	}
	if name == "-" || runner == nil {
		return nil
	}
	m, err := loadUrgencyModel(runner, name, e.opts.UrgencyModelVersion, e.feat.Dim())
	if err != nil {
		if !explicit && errors.Is(err, inference.ErrModelNotFound) {
			return nil
		}
		return err
	}
	e.urgency = m
	return nil
}

// predict returns level → probability for one feature vector.
func (m *urgencyModel) predict(ctx context.Context, feats []float32) (map[string]float64, error) {
	res, err := m.run.Infer(ctx, inference.Request{Model: m.name, Version: m.version, Inputs: []inference.Tensor{{
		Name: m.input, DataType: inference.FP32, Shape: []int64{1, int64(len(feats))}, Data: feats,
	}}})
	if err != nil {
		return nil, fmt.Errorf("urgency model %s/%s: %w", m.name, m.version, err)
	}
	if len(res.Outputs) != 1 {
		return nil, fmt.Errorf("urgency model %s/%s: %d outputs", m.name, m.version, len(res.Outputs))
	}
	probs, ok := res.Outputs[0].Data.([]float32)
	if !ok || len(probs) != len(m.levels) {
		return nil, fmt.Errorf("urgency model %s/%s: output is %T of %d values, want %d float32", m.name, m.version, res.Outputs[0].Data, len(probs), len(m.levels))
	}
	out := make(map[string]float64, len(probs))
	for i, p := range probs {
		out[m.levels[i]] = float64(p)
	}
	return out, nil
}

// modelRaise is the level the classifier vouches for: the most urgent level
// whose cumulative probability (that level or more urgent) reaches
// threshold. Summing upwards means "emergency 0.6 + urgent 0.35" still
// vouches for at least urgent.
func modelRaise(probs map[string]float64, threshold float64) string {
	levels := []string{LevelEmergency, LevelUrgent, LevelRoutine, LevelSelfCare}
	var cum float64
	for _, l := range levels {
		cum += probs[l]
		if cum >= threshold {
			return l
		}
	}
	return LevelSelfCare
}

// raiseUrgency lets the classifier raise u (never lower it), and only to
// urgent or emergency: it is there to catch what the rules miss, and
// moving self_care to routine is not worth its false alarms. The reason
// says that a model, not a rule, asked for the higher level.
func raiseUrgency(u *Urgency, probs map[string]float64, threshold float64) bool {
	l := modelRaise(probs, threshold)
	if levelRank[l] <= levelRank[u.Level] || levelRank[l] < levelRank[LevelUrgent] {
		return false
	}
	u.Level, u.Label = l, LevelLabels[l]
	switch l {
	case LevelEmergency:
		u.Reasons = append(u.Reasons, "描述整体提示可能为急危重情况（模型判断），请立即急诊或拨打120")
	case LevelUrgent:
		u.Reasons = append(u.Reasons, "描述整体提示需要尽快就医（模型判断），建议24小时内就诊")
	}
	return true
}
