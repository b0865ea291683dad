// Package inference serves ONNX models: a model repository on disk, ONNX
// Runtime session pools and a dynamic batcher per model.
//
// Callers use Repository.Infer with a Request; inputs carry their batch
// dimension (dim 0) when the model's max_batch_size > 0, and the batcher
// packs rows from many requests into one ORT call and splits the outputs back.
package inference

import "context"

// Request asks one model (newest version when Version is empty) for outputs.
type Request struct {
	Model   string
	Version string
	Inputs  []Tensor
}

// Result holds the outputs in the order the model's config declares them.
type Result struct {
	Model   string
	Version string
	Outputs []Tensor
}

// Runner is what domain packages (triage, imaging) need from the repository.
type Runner interface {
	Infer(ctx context.Context, req Request) (*Result, error)
	// Config returns the resolved version and config of a model.
	Config(model, version string) (string, *ModelConfig, error)
}
