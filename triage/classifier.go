package triage

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/fenzhen/fenzhen/inference"
)

// classifier is one of the triage heads (department, disease, urgency): an
// ONNX model in the repository that reads the Featurizer's index vector and
// gives one probability per label on its first output, and optionally a
// second output. It is served through the repository's batcher, so
// concurrent requests share a session run.
type classifier struct {
	run     inference.Runner
	name    string
	version string
	input   string
	labels  []string
	second  int         // length of the second output; 0 when the model has none
	feat    *Featurizer // the vocabulary it was trained on
	// bag, when set, computes the head's embedding sum in Go and runs the
	// rest of its graph directly (bag.go); nil runs the whole model
	// through the runner.
	bag *embeddingBag
}

// loadClassifier checks the model's config: one INT64 input of
// Featurizer.Width indices, the feature layout the server computes, a batch
// dimension, one label per class of the first output. The featurizer comes
// from the model's recorded vocabulary.
func loadClassifier(run inference.Runner, name, version, retrain string) (*classifier, error) {
	v, cfg, err := run.Config(name, version)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	if len(cfg.Inputs) != 1 || len(cfg.Outputs) < 1 || len(cfg.Outputs) > 2 {
		return nil, fmt.Errorf("model %s/%s: want one input and one or two outputs", name, v)
	}
	in, out := cfg.Inputs[0], cfg.Outputs[0]
	if got, want := cfg.Parameters["feature_layout"], FeatureLayout; got != want {
		return nil, fmt.Errorf("model %s/%s: feature layout %q, the server computes %q (retrain with %s)", name, v, got, want, retrain)
	}
	f, err := modelFeaturizer(cfg.Parameters)
	if err != nil {
		return nil, fmt.Errorf("model %s/%s: %w (retrain with %s)", name, v, err, retrain)
	}
	if in.DataType != inference.INT64 || len(in.Shape) != 1 || in.Shape[0] != int64(f.Width()) {
		return nil, fmt.Errorf("model %s/%s: input %s %v, want INT64 [%d] feature indices (retrain with %s)", name, v, in.DataType, in.Shape, f.Width(), retrain)
	}
	if cfg.MaxBatchSize <= 0 {
		return nil, fmt.Errorf("model %s/%s: needs a batch dimension (max_batch_size > 0)", name, v)
	}
	if len(out.Shape) != 1 || int(out.Shape[0]) != len(cfg.Labels) || len(cfg.Labels) == 0 {
		return nil, fmt.Errorf("model %s/%s: output %v needs one label per class, have %d", name, v, out.Shape, len(cfg.Labels))
	}
	c := &classifier{run: run, name: name, version: v, input: in.Name, labels: cfg.Labels, feat: f}
	if len(cfg.Outputs) == 2 {
		if s := cfg.Outputs[1].Shape; len(s) != 1 || s[0] <= 0 {
			return nil, fmt.Errorf("model %s/%s: second output %v, want one dimension", name, v, s)
		}
		c.second = int(cfg.Outputs[1].Shape[0])
	}
	if c.bag, err = loadBag(run, c, cfg); err != nil {
		return nil, fmt.Errorf("model %s/%s: %w", name, v, err)
	}
	if c.bag != nil {
		// The tail session lives as long as the classifier.
		runtime.AddCleanup(c, func(b *embeddingBag) { b.close() }, c.bag)
	}
	return c, nil
}

// predict runs the model on one index vector and returns its outputs.
func (c *classifier) predict(ctx context.Context, idx []int64) (probs, second []float32, err error) {
	outs, err := c.infer(ctx, idx)
	if err != nil {
		return nil, nil, fmt.Errorf("model %s/%s: %w", c.name, c.version, err)
	}
	want := 1
	if c.second > 0 {
		want = 2
	}
	if len(outs) != want {
		return nil, nil, fmt.Errorf("model %s/%s: %d outputs, want %d", c.name, c.version, len(outs), want)
	}
	probs, ok := outs[0].Data.([]float32)
	if !ok || len(probs) != len(c.labels) {
		return nil, nil, fmt.Errorf("model %s/%s: output is %T of %d values, want %d float32", c.name, c.version, outs[0].Data, len(probs), len(c.labels))
	}
	if c.second > 0 {
		if second, ok = outs[1].Data.([]float32); !ok || len(second) != c.second {
			return nil, nil, fmt.Errorf("model %s/%s: second output is %T, want %d float32", c.name, c.version, outs[1].Data, c.second)
		}
	}
	return probs, second, nil
}

// infer runs the head on one index vector: the embedding bag when there
// is one, else the whole model through the runner.
func (c *classifier) infer(ctx context.Context, idx []int64) ([]inference.Tensor, error) {
	if c.bag != nil {
		return c.bag.predict(idx)
	}
	res, err := c.run.Infer(ctx, inference.Request{Model: c.name, Version: c.version, Inputs: []inference.Tensor{{
		Name: c.input, DataType: inference.INT64, Shape: []int64{1, int64(len(idx))}, Data: idx,
	}}})
	if err != nil {
		return nil, err
	}
	return res.Outputs, nil
}

// ref names the model for the response.
func (c *classifier) ref() ModelRef { return ModelRef{Name: c.name, Version: c.version} }

// optional loads a head the engine can do without: a missing default model
// is not an error, a configured one that is missing or mismatched is.
func optional(run inference.Runner, configured, def, version, retrain string) (*classifier, error) {
	name, explicit := configured, true
	if name == "" {
		name, explicit = def, false
	}
	if name == "-" || run == nil {
		return nil, nil
	}
	c, err := loadClassifier(run, name, version, retrain)
	if err != nil {
		if !explicit && errors.Is(err, inference.ErrModelNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return c, nil
}
