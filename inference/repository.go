package inference

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// RepositoryOptions tune how a repository loads its models.
type RepositoryOptions struct {
	Metrics *Metrics     // nil: unregistered metrics
	Logger  *slog.Logger // nil: slog.Default()
	// Override adjusts every config after it is read and validated (the
	// benchmark uses it to serve one model with batching on and off).
	Override func(*ModelConfig)
}

// Repository serves the models found in a directory laid out as
// <dir>/<name>/<version>/{model.onnx,config.yaml}. Folders without numeric
// version sub-folders (training scripts, model cards) are ignored.
type Repository struct {
	dir  string
	opts RepositoryOptions
	log  *slog.Logger

	reloadMu sync.Mutex // one reload at a time
	mu       sync.RWMutex
	models   map[string]map[string]*model // name → version → model
	failed   map[string]error             // "name/version" → why it is not serving
	closed   bool
}

// ModelStatus describes one model version for health and metadata endpoints.
type ModelStatus struct {
	Name    string
	Version string
	Latest  bool
	Ready   bool
	Error   string
}

// OpenRepository loads every model version under dir. A config.yaml that
// does not validate is a deployment mistake and fails start-up with the file
// and field named; a model ONNX Runtime cannot load is reported by Status
// and leaves the other models serving.
func OpenRepository(dir string, opts RepositoryOptions) (*Repository, error) {
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Repository{dir: dir, opts: opts, log: opts.Logger, models: map[string]map[string]*model{}, failed: map[string]error{}}
	if err := r.Reload(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

type found struct {
	name, version, dir string
	cfg                *ModelConfig
	stamp              string
}

func (r *Repository) scan() ([]found, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("read model repository: %w", err)
	}
	var out []found
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		versions, err := os.ReadDir(filepath.Join(r.dir, name))
		if err != nil {
			return nil, fmt.Errorf("read model %s: %w", name, err)
		}
		for _, v := range versions {
			if _, err := strconv.ParseUint(v.Name(), 10, 32); err != nil || !v.IsDir() {
				continue
			}
			vdir := filepath.Join(r.dir, name, v.Name())
			cfgPath := filepath.Join(vdir, "config.yaml")
			if !fileExists(cfgPath) {
				return nil, fmt.Errorf("%s: missing (every model version needs a config.yaml beside model.onnx)", cfgPath)
			}
			cfg, err := LoadConfig(cfgPath, name)
			if err != nil {
				return nil, err
			}
			if r.opts.Override != nil {
				r.opts.Override(cfg)
			}
			stamp, err := fingerprint(cfgPath, filepath.Join(vdir, "model.onnx"))
			if err != nil {
				return nil, err
			}
			out = append(out, found{name: name, version: v.Name(), dir: vdir, cfg: cfg, stamp: stamp})
		}
	}
	return out, nil
}

// fingerprint changes whenever config.yaml's bytes or model.onnx's size or mtime do.
func fingerprint(cfgPath, modelPath string) (string, error) {
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return "", fmt.Errorf("read model config: %w", err)
	}
	h := sha256.New()
	h.Write(raw)
	if st, err := os.Stat(modelPath); err == nil {
		fmt.Fprintf(h, "|%d|%d", st.Size(), st.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// Reload rescans the directory: new and changed versions are loaded beside
// the old ones, then swapped in; replaced and removed versions finish the
// requests they admitted before their sessions are freed. On a config error
// nothing changes and the error is returned.
func (r *Repository) Reload() error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	list, err := r.scan()
	if err != nil {
		return err
	}
	r.mu.RLock()
	old := r.models
	r.mu.RUnlock()

	next := map[string]map[string]*model{}
	failed := map[string]error{}
	keep := map[*model]bool{}
	for _, f := range list {
		if next[f.name] == nil {
			next[f.name] = map[string]*model{}
		}
		if m := old[f.name][f.version]; m != nil && m.stamp == f.stamp {
			next[f.name][f.version] = m
			keep[m] = true
			continue
		}
		m, err := r.load(f)
		if err != nil {
			failed[f.name+"/"+f.version] = err
			r.log.Error("model failed to load", "model", f.name, "version", f.version, "err", err)
			continue
		}
		next[f.name][f.version] = m
		r.log.Info("model loaded", "model", f.name, "version", f.version,
			"max_batch_size", f.cfg.MaxBatchSize, "instances", f.cfg.Instances)
	}
	for name, vs := range next {
		if len(vs) == 0 {
			delete(next, name)
		}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		closeAll(next, keep)
		return errors.New("repository is closed")
	}
	r.models, r.failed = next, failed
	r.mu.Unlock()
	// Retire what was replaced; close drains the queue first.
	var retired []*model
	for _, vs := range old {
		for _, m := range vs {
			if !keep[m] {
				retired = append(retired, m)
			}
		}
	}
	for _, m := range retired {
		go m.close()
	}
	return nil
}

func closeAll(models map[string]map[string]*model, except map[*model]bool) {
	for _, vs := range models {
		for _, m := range vs {
			if !except[m] {
				m.close()
			}
		}
	}
}

func (r *Repository) load(f found) (*model, error) {
	path := filepath.Join(f.dir, "model.onnx")
	if !fileExists(path) {
		return nil, fmt.Errorf("%s: missing", path)
	}
	if err := checkModelIO(path, filepath.Join(f.dir, "config.yaml"), f.cfg); err != nil {
		return nil, err
	}
	sessions := make([]*session, 0, f.cfg.Instances)
	for range f.cfg.Instances {
		s, err := newSession(path, f.cfg)
		if err != nil {
			for _, s := range sessions {
				s.close()
			}
			return nil, err
		}
		sessions = append(sessions, s)
	}
	m := newModel(f.name, f.version, f.cfg, sessions, r.opts.Metrics)
	m.stamp = f.stamp
	m.file = path
	return m, nil
}

// Close stops admitting requests, finishes the admitted ones and frees every session.
func (r *Repository) Close() {
	r.mu.Lock()
	models := r.models
	r.models = map[string]map[string]*model{}
	r.closed = true
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, vs := range models {
		for _, m := range vs {
			wg.Add(1)
			go func() { defer wg.Done(); m.close() }()
		}
	}
	wg.Wait()
}

// lookup finds a version (the newest when version is "").
func (r *Repository) lookup(name, version string) (*model, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, fmt.Errorf("%w: the server is shutting down", ErrUnavailable)
	}
	vs := r.models[name]
	if version == "" {
		version = latest(vs)
	}
	if m := vs[version]; m != nil {
		return m, nil
	}
	for key, err := range r.failed {
		if key == name+"/"+version || (version == "" && len(key) > len(name) && key[:len(name)+1] == name+"/") {
			return nil, fmt.Errorf("%w: %s failed to load: %v", ErrUnavailable, key, err)
		}
	}
	if version == "" {
		return nil, fmt.Errorf("%w: %q", ErrModelNotFound, name)
	}
	return nil, fmt.Errorf("%w: %q version %q", ErrModelNotFound, name, version)
}

func latest[M any](vs map[string]M) string {
	best, bestN := "", uint64(0)
	for v := range vs {
		n, _ := strconv.ParseUint(v, 10, 32)
		if best == "" || n > bestN {
			best, bestN = v, n
		}
	}
	return best
}

// Config returns the resolved version and config of a model.
func (r *Repository) Config(name, version string) (string, *ModelConfig, error) {
	m, err := r.lookup(name, version)
	if err != nil {
		return "", nil, err
	}
	return m.version, m.cfg, nil
}

// ModelFile returns the ONNX file of a loaded model version, for callers
// that derive a graph of their own from it (triage's embedding bags).
func (r *Repository) ModelFile(name, version string) (string, error) {
	m, err := r.lookup(name, version)
	if err != nil {
		return "", err
	}
	return m.file, nil
}

// Status lists every model version, loaded or failed, sorted by name and version.
func (r *Repository) Status() []ModelStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ModelStatus
	for name, vs := range r.models {
		newest := latest(vs)
		for v := range vs {
			out = append(out, ModelStatus{Name: name, Version: v, Latest: v == newest, Ready: true})
		}
	}
	for key, err := range r.failed {
		name, version := filepath.Split(key)
		out = append(out, ModelStatus{Name: name[:len(name)-1], Version: version, Error: err.Error()})
	}
	slices.SortFunc(out, func(a, b ModelStatus) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(len(a.Version), len(b.Version)), cmp.Compare(a.Version, b.Version))
	})
	return out
}

// Infer validates the inputs against the model's config, queues them for the
// batcher and waits for the outputs or the context's end. Without a deadline
// in ctx the model's batching.default_timeout applies.
func (r *Repository) Infer(ctx context.Context, req Request) (*Result, error) {
	var p *pending
	for attempt := 0; ; attempt++ {
		m, err := r.lookup(req.Model, req.Version)
		if err != nil {
			return nil, err
		}
		if p == nil {
			inputs, rows, err := m.cfg.orderInputs(req.Inputs)
			if err != nil {
				r.opts.Metrics.requests.WithLabelValues(m.name, "rejected").Inc()
				return nil, err
			}
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(m.cfg.Batching.DefaultTimeout))
				defer cancel()
			}
			p = &pending{ctx: ctx, inputs: inputs, rows: rows, done: make(chan result, 1)}
		}
		p.enqueued = time.Now()
		err = m.enqueue(p)
		if errors.Is(err, errRetired) && attempt < 3 {
			continue // a reload swapped this version out between lookup and enqueue
		}
		if err != nil {
			r.opts.Metrics.requests.WithLabelValues(m.name, "rejected").Inc()
			return nil, err
		}
		select {
		case res := <-p.done:
			if res.err != nil {
				return nil, res.err
			}
			return &Result{Model: m.name, Version: m.version, Outputs: res.outputs}, nil
		case <-ctx.Done():
			// The batcher sees the cancelled context and skips the request.
			return nil, ctx.Err()
		}
	}
}

// orderInputs checks the request's tensors against the config and returns
// them in config order with the batch size. Errors name the input.
func (c *ModelConfig) orderInputs(given []Tensor) ([]Tensor, int64, error) {
	byName := make(map[string]int, len(given))
	for i, t := range given {
		if _, dup := byName[t.Name]; dup {
			return nil, 0, fmt.Errorf("%w: input %q given twice", ErrInvalidInput, t.Name)
		}
		byName[t.Name] = i
	}
	out := make([]Tensor, len(c.Inputs))
	rows := int64(1)
	for i, decl := range c.Inputs {
		j, ok := byName[decl.Name]
		if !ok {
			return nil, 0, fmt.Errorf("%w: input %q is missing", ErrInvalidInput, decl.Name)
		}
		delete(byName, decl.Name)
		t := given[j]
		if t.DataType != decl.DataType {
			return nil, 0, fmt.Errorf("%w: input %q: datatype %s, expected %s", ErrInvalidInput, t.Name, t.DataType, decl.DataType)
		}
		want := decl.Shape
		if c.MaxBatchSize > 0 {
			want = append([]int64{-1}, decl.Shape...)
		}
		if len(t.Shape) != len(want) {
			return nil, 0, fmt.Errorf("%w: input %q: shape %v, expected %s", ErrInvalidInput, t.Name, t.Shape, shapeString(want))
		}
		for k, d := range t.Shape {
			if d < 1 || (want[k] != -1 && d != want[k]) {
				return nil, 0, fmt.Errorf("%w: input %q: shape %v, expected %s", ErrInvalidInput, t.Name, t.Shape, shapeString(want))
			}
		}
		if c.MaxBatchSize > 0 {
			if i == 0 {
				rows = t.Shape[0]
			} else if t.Shape[0] != rows {
				return nil, 0, fmt.Errorf("%w: input %q: batch size %d differs from %q's %d", ErrInvalidInput, t.Name, t.Shape[0], c.Inputs[0].Name, rows)
			}
			if rows > int64(c.MaxBatchSize) {
				return nil, 0, fmt.Errorf("%w: input %q: batch size %d exceeds the model's max_batch_size %d", ErrInvalidInput, t.Name, rows, c.MaxBatchSize)
			}
		}
		if err := t.Check(); err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrInvalidInput, err)
		}
		out[i] = t
	}
	for name := range byName {
		return nil, 0, fmt.Errorf("%w: input %q is not an input of the model", ErrInvalidInput, name)
	}
	return out, rows, nil
}

func shapeString(s []int64) string {
	b := []byte{'['}
	for i, d := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		if d == -1 {
			b = append(b, 'N')
		} else {
			b = strconv.AppendInt(b, d, 10)
		}
	}
	return string(append(b, ']'))
}
