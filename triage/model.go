package triage

import (
	"context"
	"fmt"

	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
)

// deptModel is the ONNX department classifier as seen through a Runner,
// so the server's dynamic batcher packs concurrent triage requests.
type deptModel struct {
	run     inference.Runner
	name    string
	version string
	input   string
	labels  []string
}

func loadDeptModel(kg *knowledge.KG, run inference.Runner, name, version string, dim int) (*deptModel, error) {
	v, cfg, err := run.Config(name, version)
	if err != nil {
		return nil, fmt.Errorf("department model %s: %w", name, err)
	}
	if len(cfg.Inputs) != 1 || len(cfg.Outputs) != 1 {
		return nil, fmt.Errorf("department model %s/%s: want one input and one output", name, v)
	}
	in, out := cfg.Inputs[0], cfg.Outputs[0]
	if in.DataType != inference.FP32 || len(in.Shape) != 1 || in.Shape[0] != int64(dim) {
		return nil, fmt.Errorf("department model %s/%s: input %s %v does not match the %d features this knowledge graph gives (retrain with models/triage/train.py)", name, v, in.DataType, in.Shape, dim)
	}
	if cfg.MaxBatchSize <= 0 {
		return nil, fmt.Errorf("department model %s/%s: needs a batch dimension (max_batch_size > 0)", name, v)
	}
	if len(out.Shape) != 1 || int(out.Shape[0]) != len(cfg.Labels) || len(cfg.Labels) == 0 {
		return nil, fmt.Errorf("department model %s/%s: output %v needs one label per class, have %d", name, v, out.Shape, len(cfg.Labels))
	}
	for _, l := range cfg.Labels {
		if _, ok := kg.Department(l); !ok {
			return nil, fmt.Errorf("department model %s/%s: label %q is not a department code of the knowledge graph", name, v, l)
		}
	}
	return &deptModel{run: run, name: name, version: v, input: in.Name, labels: cfg.Labels}, nil
}

// predict returns department code → probability for one feature vector.
func (m *deptModel) predict(ctx context.Context, feats []float32) (map[string]float64, error) {
	res, err := m.run.Infer(ctx, inference.Request{Model: m.name, Version: m.version, Inputs: []inference.Tensor{{
		Name: m.input, DataType: inference.FP32, Shape: []int64{1, int64(len(feats))}, Data: feats,
	}}})
	if err != nil {
		return nil, fmt.Errorf("department model %s/%s: %w", m.name, m.version, err)
	}
	if len(res.Outputs) != 1 {
		return nil, fmt.Errorf("department model %s/%s: %d outputs", m.name, m.version, len(res.Outputs))
	}
	probs, ok := res.Outputs[0].Data.([]float32)
	if !ok || len(probs) != len(m.labels) {
		return nil, fmt.Errorf("department model %s/%s: output is %T of %d values, want %d float32", m.name, m.version, res.Outputs[0].Data, len(probs), len(m.labels))
	}
	out := make(map[string]float64, len(probs))
	for i, p := range probs {
		out[m.labels[i]] += float64(p)
	}
	return out, nil
}
