package inference

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// session is one ONNX Runtime session; a model's pool has cfg.Instances of them,
// each driven by its own worker goroutine, so a session never runs concurrently.
type session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []IOConfig
	outputs []IOConfig
}

func newSession(path string, cfg *ModelConfig) (*session, error) {
	return openSession(path, nil, cfg)
}

// openSession loads the graph from path, or from data when data is not nil.
func openSession(path string, data []byte, cfg *ModelConfig) (*session, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(cfg.IntraOpThreads); err != nil {
		return nil, fmt.Errorf("set intra-op threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("set inter-op threads: %w", err)
	}
	// ORT's pool threads spin between runs by default; on a small machine that
	// steals the cores the HTTP side needs, so let them sleep.
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("disable thread spinning: %w", err)
	}
	in, out := names(cfg.Inputs), names(cfg.Outputs)
	var s *ort.DynamicAdvancedSession
	if data != nil {
		s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, opts)
	} else {
		s, err = ort.NewDynamicAdvancedSession(path, in, out, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("create session for %s: %w", path, err)
	}
	return &session{s: s, inputs: cfg.Inputs, outputs: cfg.Outputs}, nil
}

// checkModelIO verifies that the ONNX graph has the inputs and outputs the
// config declares, with the same element types, so mistakes surface at load.
func checkModelIO(path, cfgPath string, cfg *ModelConfig) error {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return fmt.Errorf("read inputs and outputs of %s: %w", path, err)
	}
	check := func(field string, decl []IOConfig, have []ort.InputOutputInfo) error {
		byName := map[string]ort.InputOutputInfo{}
		var all []string
		for _, h := range have {
			byName[h.Name] = h
			all = append(all, h.Name)
		}
		for i, d := range decl {
			h, ok := byName[d.Name]
			if !ok {
				return fmt.Errorf("%s: %s[%d].name: the model has no %q (it has %v)", cfgPath, field, i, d.Name, all)
			}
			if dt := fromORTType(h.DataType); dt != d.DataType {
				return fmt.Errorf("%s: %s[%d].datatype: %s, but the model's %q is %s", cfgPath, field, i, d.DataType, d.Name, h.DataType)
			}
			want := len(d.Shape)
			if cfg.MaxBatchSize > 0 {
				want++
			}
			if len(h.Dimensions) != want {
				return fmt.Errorf("%s: %s[%d].shape: %v has rank %d (with batch) but the model's %q has %v", cfgPath, field, i, d.Shape, want, d.Name, h.Dimensions)
			}
		}
		return nil
	}
	if err := check("inputs", cfg.Inputs, ins); err != nil {
		return err
	}
	if len(cfg.Inputs) != len(ins) {
		return fmt.Errorf("%s: inputs: the model has %d inputs, the config declares %d", cfgPath, len(ins), len(cfg.Inputs))
	}
	return check("outputs", cfg.Outputs, outs)
}

func names(ios []IOConfig) []string {
	out := make([]string, len(ios))
	for i, io := range ios {
		out[i] = io.Name
	}
	return out
}

func fromORTType(t ort.TensorElementDataType) DataType {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return FP32
	case ort.TensorElementDataTypeDouble:
		return FP64
	case ort.TensorElementDataTypeInt64:
		return INT64
	case ort.TensorElementDataTypeInt32:
		return INT32
	case ort.TensorElementDataTypeInt8:
		return INT8
	case ort.TensorElementDataTypeUint8:
		return UINT8
	case ort.TensorElementDataTypeBool:
		return BOOL
	}
	return DataType(t.String())
}

// run executes one (already batched) call. Inputs are in config order.
func (s *session) run(inputs []Tensor) ([]Tensor, error) {
	ins := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i := range inputs {
		v, err := toORT(&inputs[i])
		if err != nil {
			return nil, err
		}
		ins[i] = v
	}
	outs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("onnxruntime: %w", err)
	}
	result := make([]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromORT(s.outputs[i].Name, v)
		v.Destroy()
		if err != nil {
			for _, rest := range outs[i+1:] {
				rest.Destroy()
			}
			return nil, err
		}
		result[i] = t
	}
	return result, nil
}

func (s *session) close() {
	if s.s != nil {
		s.s.Destroy()
	}
}

func toORT(t *Tensor) (ort.Value, error) {
	shape := ort.Shape(t.Shape)
	var v ort.Value
	var err error
	switch d := t.Data.(type) {
	case []float32:
		v, err = ort.NewTensor(shape, d)
	case []float64:
		v, err = ort.NewTensor(shape, d)
	case []int64:
		v, err = ort.NewTensor(shape, d)
	case []int32:
		v, err = ort.NewTensor(shape, d)
	case []int8:
		v, err = ort.NewTensor(shape, d)
	case []uint8:
		v, err = ort.NewTensor(shape, d)
	case []bool:
		// ORT's bool is one byte; onnxruntime_go has no []bool tensor.
		b := make([]uint8, len(d))
		for i, x := range d {
			if x {
				b[i] = 1
			}
		}
		v, err = ort.NewCustomDataTensor(shape, b, ort.TensorElementDataTypeBool)
	default:
		return nil, fmt.Errorf("tensor %q: unsupported data %T", t.Name, t.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return v, nil
}

func fromORT(name string, v ort.Value) (Tensor, error) {
	t := Tensor{Name: name, Shape: []int64(v.GetShape().Clone())}
	switch o := v.(type) {
	case *ort.Tensor[float32]:
		t.DataType, t.Data = FP32, o.GetData()
	case *ort.Tensor[float64]:
		t.DataType, t.Data = FP64, o.GetData()
	case *ort.Tensor[int64]:
		t.DataType, t.Data = INT64, o.GetData()
	case *ort.Tensor[int32]:
		t.DataType, t.Data = INT32, o.GetData()
	case *ort.Tensor[int8]:
		t.DataType, t.Data = INT8, o.GetData()
	case *ort.Tensor[uint8]:
		t.DataType, t.Data = UINT8, o.GetData()
	default:
		return Tensor{}, fmt.Errorf("output %q: unsupported ONNX value %T", name, v)
	}
	return t, nil
}

// Session is a bare ONNX Runtime session without queue or batcher, for
// benchmarks that measure the runtime's own limit.
type Session struct{ s *session }

// OpenSession loads <versionDir>/model.onnx with the config beside it.
func OpenSession(versionDir string) (*Session, *ModelConfig, error) {
	cfgPath := versionDir + "/config.yaml"
	cfg, err := LoadConfig(cfgPath, "")
	if err != nil {
		return nil, nil, err
	}
	s, err := newSession(versionDir+"/model.onnx", cfg)
	if err != nil {
		return nil, nil, err
	}
	return &Session{s: s}, cfg, nil
}

// OpenSessionData makes a bare session of an in-memory graph (what triage
// derives from a model file), with cfg's inputs, outputs and threads; name
// is for errors. Run may be called from several goroutines at once (ONNX
// Runtime sessions allow concurrent runs).
func OpenSessionData(name string, data []byte, cfg *ModelConfig) (*Session, error) {
	s, err := openSession(name, data, cfg)
	if err != nil {
		return nil, err
	}
	return &Session{s: s}, nil
}

// Run executes one call with inputs in config order.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) { return s.s.run(inputs) }

// Close frees the session.
func (s *Session) Close() { s.s.close() }
