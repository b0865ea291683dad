// Package eval measures the triage engine the way clients meet it: every
// case goes through POST /v1/triage (or /v1/record) of an api.Server built
// exactly as `fenzhen serve` builds it, and the answer is scored from the
// JSON the client would read. It holds the department routing, urgency and
// interview evaluations over the real consultation sets (eval/corpus) and
// the hand-written vignette files.
package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

// Stack is an in-process server with the committed models and the
// embedded knowledge graph.
type Stack struct {
	KG      *knowledge.KG
	Engine  *triage.Engine
	X       *nlp.Extractor // the server's extractor, for checks over what it read
	Server  *api.Server
	handler http.Handler
	close   func()
}

// NewStack builds the server as `fenzhen serve` does (fuzzy extractor,
// default engine options, admission off so a long run is never shed).
// models is the repository folder (ONNX Runtime must be initialised), or
// "" for the knowledge graph and rules alone, without any model.
func NewStack(models string, opts triage.Options) (*Stack, error) {
	reg := prometheus.NewRegistry()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var repo *inference.Repository
	var runner inference.Runner
	if models != "" {
		var err error
		repo, err = inference.OpenRepository(models, inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: quiet})
		if err != nil {
			return nil, err
		}
		runner = repo
	}
	closeRepo := func() {
		if repo != nil {
			repo.Close()
		}
	}
	kg, err := knowledge.LoadDefault()
	if err != nil {
		closeRepo()
		return nil, err
	}
	seg, err := segment.New(kg.Terms())
	if err != nil {
		closeRepo()
		return nil, err
	}
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		closeRepo()
		return nil, err
	}
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		closeRepo()
		idx.Close()
		return nil, err
	}
	eng, err := triage.New(kg, x, runner, opts)
	if err != nil {
		closeRepo()
		idx.Close()
		return nil, fmt.Errorf("build triage engine: %w", err)
	}
	cfg := api.DefaultConfig()
	cfg.MaxInFlight = map[string]int{} // no admission limit: an evaluation is never shed
	srv := api.New(cfg, api.Deps{Models: repo, KG: kg, Index: idx, Triage: eng, Registry: reg}, quiet)
	return &Stack{KG: kg, Engine: eng, X: x, Server: srv, handler: srv.Handler(), close: func() { closeRepo(); idx.Close() }}, nil
}

// Close releases the models and the index.
func (s *Stack) Close() { s.close() }

// Post sends a JSON body to path and decodes a 200 answer into out. The
// status is returned for any answer; a non-200 leaves out untouched.
func (s *Stack) Post(ctx context.Context, path string, body, out any) (int, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, nil
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		return rec.Code, fmt.Errorf("decode %s answer: %w", path, err)
	}
	return rec.Code, nil
}

// Triage posts one request to /v1/triage.
func (s *Stack) Triage(ctx context.Context, req triage.Request) (*triage.Response, error) {
	var out triage.Response
	code, err := s.Post(ctx, "/v1/triage", req, &out)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/v1/triage answered %d", code)
	}
	return &out, nil
}
