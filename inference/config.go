package inference

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// ModelConfig is the config.yaml that sits beside each model.onnx in the
// repository: models/<name>/<version>/{model.onnx,config.yaml}.
type ModelConfig struct {
	// Name defaults to the repository folder name; when set it must match.
	Name string `yaml:"name"`
	// MaxBatchSize is the largest dim-0 the model accepts. 0 means the model
	// has no batch dimension; 1 turns dynamic batching off.
	MaxBatchSize int        `yaml:"max_batch_size"`
	Inputs       []IOConfig `yaml:"inputs"`
	Outputs      []IOConfig `yaml:"outputs"`
	Batching     Batching   `yaml:"batching"`
	// Instances is the number of ORT sessions in the pool (parallel batches).
	Instances int `yaml:"instances"`
	// IntraOpThreads is ORT's intra-op thread count per session.
	IntraOpThreads int `yaml:"intra_op_threads"`
	// Labels names the classes of a classifier's output, in order.
	Labels []string `yaml:"labels,omitempty"`
	// Preprocess describes how images are turned into the input tensor.
	Preprocess *Preprocess `yaml:"preprocess,omitempty"`
	// Parameters are free-form facts the model's caller checks, as Triton's
	// config parameters are (triage models record the feature layout and
	// vocabulary they were trained on).
	Parameters map[string]string `yaml:"parameters,omitempty"`
	// OperatingPoints are a classifier's decision rules (imaging applies them).
	OperatingPoints *OperatingPoints `yaml:"operating_points,omitempty"`
	// Gate is an image classifier's input gate (imaging applies it).
	Gate *Gate `yaml:"gate,omitempty"`
}

// OperatingPoints names a classifier's decision rules; a request picks one
// by name, or gets Default.
type OperatingPoints struct {
	Default string                    `yaml:"default"`
	Points  map[string]OperatingPoint `yaml:"points"`
}

// OperatingPoint is one decision rule. Exactly one field is set.
type OperatingPoint struct {
	// Threshold (two labels only): the second label is decided when its
	// probability is at least Threshold, else the first.
	Threshold *float64 `yaml:"threshold,omitempty"`
	// LogitBias: the decision is argmax over labels of log(p) + LogitBias.
	LogitBias []float64 `yaml:"logit_bias,omitempty"`
}

// Gate is the input gate of an image classifier: what colour of image it
// reads, and thresholds on its out-of-distribution output.
type Gate struct {
	// Modality is "grey" (radiographs: a colour photo is refused) or
	// "colour" (photographs: a greyscale image is refused).
	Modality string `yaml:"modality"`
	// OODOutput names the [N,1] output holding the out-of-distribution
	// score (default "ood"); OODFlag and OODRefuse are its thresholds: above
	// OODFlag the answer carries quality.ok=false, above OODRefuse the image
	// is refused. Zero turns the score off.
	OODOutput string  `yaml:"ood_output,omitempty"`
	OODFlag   float64 `yaml:"ood_flag"`
	OODRefuse float64 `yaml:"ood_refuse"`
}

// IOConfig declares one input or output. Shape excludes the batch dimension
// when MaxBatchSize > 0; -1 marks a variable dimension.
type IOConfig struct {
	Name     string   `yaml:"name"`
	DataType DataType `yaml:"datatype"`
	Shape    []int64  `yaml:"shape"`
}

// Batching tunes the dynamic batcher.
type Batching struct {
	// MaxQueueDelay is how long the first request of a batch waits for others.
	MaxQueueDelay Duration `yaml:"max_queue_delay"`
	// PreferredBatchSizes close a batch early once its size is one of them
	// and the queue has nothing more waiting.
	PreferredBatchSizes []int `yaml:"preferred_batch_sizes"`
	// MaxQueueSize bounds the number of waiting requests; beyond it callers get ErrQueueFull.
	MaxQueueSize int `yaml:"max_queue_size"`
	// DefaultTimeout is the deadline for requests that carry none.
	DefaultTimeout Duration `yaml:"default_timeout"`
}

// Preprocess is the image preprocessing a vision model was trained with.
// Pixels are resized to Width×Height (area averaging), scaled to [0,1], then
// normalised per channel: (x - Mean[c]) / Std[c]. Layout is NCHW.
type Preprocess struct {
	Width    int       `yaml:"width"`
	Height   int       `yaml:"height"`
	Channels int       `yaml:"channels"` // 1 (grey) or 3 (RGB)
	Mean     []float32 `yaml:"mean"`
	Std      []float32 `yaml:"std"`
}

// Duration is a time.Duration written as "2ms", "1.5s" in YAML.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 2ms or 1s", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Defaults applied to fields a config leaves out.
const (
	defaultMaxQueueSize   = 1024
	defaultTimeout        = 5 * time.Second
	defaultInstances      = 1
	defaultIntraOpThreads = 1
)

// LoadConfig reads and validates a config.yaml. Errors name the file and field.
func LoadConfig(path, dirName string) (*ModelConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model config: %w", err)
	}
	var c ModelConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.validate(dirName); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *ModelConfig) validate(dirName string) error {
	if c.Name == "" {
		c.Name = dirName
	}
	if dirName != "" && c.Name != dirName {
		return fmt.Errorf("name: %q does not match the folder name %q", c.Name, dirName)
	}
	if c.MaxBatchSize < 0 || c.MaxBatchSize > 4096 {
		return fmt.Errorf("max_batch_size: %d is outside 0..4096", c.MaxBatchSize)
	}
	if len(c.Inputs) == 0 {
		return errors.New("inputs: at least one input is required")
	}
	if len(c.Outputs) == 0 {
		return errors.New("outputs: at least one output is required")
	}
	for _, group := range []struct {
		field string
		ios   []IOConfig
	}{{"inputs", c.Inputs}, {"outputs", c.Outputs}} {
		seen := map[string]bool{}
		for i, io := range group.ios {
			switch {
			case io.Name == "":
				return fmt.Errorf("%s[%d].name: required", group.field, i)
			case seen[io.Name]:
				return fmt.Errorf("%s[%d].name: %q appears twice", group.field, i, io.Name)
			case !io.DataType.Valid():
				return fmt.Errorf("%s[%d].datatype: %q is not one of FP32, FP64, INT64, INT32, INT8, UINT8, BOOL", group.field, i, io.DataType)
			case len(io.Shape) == 0 && c.MaxBatchSize == 0:
				return fmt.Errorf("%s[%d].shape: required", group.field, i)
			}
			for j, d := range io.Shape {
				if d == 0 || d < -1 {
					return fmt.Errorf("%s[%d].shape[%d]: %d must be positive or -1", group.field, i, j, d)
				}
			}
			seen[io.Name] = true
		}
	}
	b := &c.Batching
	if b.MaxQueueDelay < 0 || time.Duration(b.MaxQueueDelay) > time.Second {
		return fmt.Errorf("batching.max_queue_delay: %s is outside 0..1s", time.Duration(b.MaxQueueDelay))
	}
	for i, s := range b.PreferredBatchSizes {
		if s < 1 || s > c.MaxBatchSize {
			return fmt.Errorf("batching.preferred_batch_sizes[%d]: %d is outside 1..max_batch_size (%d)", i, s, c.MaxBatchSize)
		}
	}
	if b.MaxQueueSize == 0 {
		b.MaxQueueSize = defaultMaxQueueSize
	}
	if b.MaxQueueSize < 1 {
		return fmt.Errorf("batching.max_queue_size: %d must be positive", b.MaxQueueSize)
	}
	if b.DefaultTimeout == 0 {
		b.DefaultTimeout = Duration(defaultTimeout)
	}
	if b.DefaultTimeout < 0 {
		return fmt.Errorf("batching.default_timeout: must be positive")
	}
	if c.Instances == 0 {
		c.Instances = defaultInstances
	}
	if c.Instances < 1 || c.Instances > 64 {
		return fmt.Errorf("instances: %d is outside 1..64", c.Instances)
	}
	if c.IntraOpThreads == 0 {
		c.IntraOpThreads = defaultIntraOpThreads
	}
	if c.IntraOpThreads < 1 || c.IntraOpThreads > 256 {
		return fmt.Errorf("intra_op_threads: %d is outside 1..256", c.IntraOpThreads)
	}
	if p := c.Preprocess; p != nil {
		switch {
		case p.Width < 1 || p.Height < 1 || p.Width > 4096 || p.Height > 4096:
			return fmt.Errorf("preprocess.width/height: %dx%d is outside 1..4096", p.Width, p.Height)
		case p.Channels != 1 && p.Channels != 3:
			return fmt.Errorf("preprocess.channels: %d must be 1 or 3", p.Channels)
		case len(p.Mean) != p.Channels || len(p.Std) != p.Channels:
			return fmt.Errorf("preprocess.mean/std: need %d values each", p.Channels)
		}
		for i, s := range p.Std {
			if s <= 0 {
				return fmt.Errorf("preprocess.std[%d]: must be positive", i)
			}
		}
	}
	if err := c.validateDecision(); err != nil {
		return err
	}
	return nil
}

// validateDecision checks operating_points and gate against the labels and outputs.
func (c *ModelConfig) validateDecision() error {
	if op := c.OperatingPoints; op != nil {
		if len(op.Points) == 0 {
			return errors.New("operating_points.points: at least one point is required")
		}
		if _, ok := op.Points[op.Default]; !ok {
			return fmt.Errorf("operating_points.default: %q is not one of the points", op.Default)
		}
		for name, p := range op.Points {
			switch {
			case (p.Threshold == nil) == (p.LogitBias == nil):
				return fmt.Errorf("operating_points.points.%s: set exactly one of threshold and logit_bias", name)
			case p.Threshold != nil && len(c.Labels) != 2:
				return fmt.Errorf("operating_points.points.%s.threshold: needs exactly two labels, have %d", name, len(c.Labels))
			case p.Threshold != nil && !(*p.Threshold > 0 && *p.Threshold < 1):
				return fmt.Errorf("operating_points.points.%s.threshold: %v is outside (0,1)", name, *p.Threshold)
			case p.LogitBias != nil && len(p.LogitBias) != len(c.Labels):
				return fmt.Errorf("operating_points.points.%s.logit_bias: %d values for %d labels", name, len(p.LogitBias), len(c.Labels))
			}
			for i, b := range p.LogitBias {
				if math.IsNaN(b) || math.IsInf(b, 0) {
					return fmt.Errorf("operating_points.points.%s.logit_bias[%d]: not a finite number", name, i)
				}
			}
		}
	}
	if g := c.Gate; g != nil {
		if g.Modality != "grey" && g.Modality != "colour" {
			return fmt.Errorf("gate.modality: %q is not grey or colour", g.Modality)
		}
		if g.OODOutput == "" {
			g.OODOutput = "ood"
		}
		if g.OODFlag < 0 || g.OODRefuse < 0 || (g.OODRefuse > 0 && g.OODRefuse < g.OODFlag) {
			return fmt.Errorf("gate: ood_flag %v and ood_refuse %v must be non-negative with ood_refuse >= ood_flag", g.OODFlag, g.OODRefuse)
		}
		if g.OODFlag > 0 || g.OODRefuse > 0 {
			found := false
			for _, o := range c.Outputs {
				found = found || o.Name == g.OODOutput
			}
			if !found {
				return fmt.Errorf("gate.ood_output: %q is not one of the outputs", g.OODOutput)
			}
		}
	}
	return nil
}
