package api

import (
	"encoding/json"
	"errors"

	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/inference"
)

// KServe v2 / Open Inference Protocol, REST binding with JSON tensors.

type v2TensorOut struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
	Data     any     `json:"data"`
}

type v2InferResponse struct {
	ModelName    string        `json:"model_name"`
	ModelVersion string        `json:"model_version"`
	ID           string        `json:"id,omitempty"`
	Outputs      []v2TensorOut `json:"outputs"`
}

type v2TensorMeta struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type v2ModelMetadata struct {
	Name     string         `json:"name"`
	Versions []string       `json:"versions"`
	Platform string         `json:"platform"`
	Inputs   []v2TensorMeta `json:"inputs"`
	Outputs  []v2TensorMeta `json:"outputs"`
}

func (s *Server) repo() (*inference.Repository, error) {
	if s.deps.Models == nil {
		return nil, errorf(CodeUnavailable, "no model repository is loaded")
	}
	return s.deps.Models, nil
}

func (s *Server) v2Server(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"name": "fenzhen", "version": Version, "extensions": []string{}})
}

func (s *Server) v2Metadata(c echo.Context) error {
	repo, err := s.repo()
	if err != nil {
		return err
	}
	name := c.Param("name")
	version, cfg, err := repo.Config(name, c.Param("version"))
	if err != nil {
		return err
	}
	md := v2ModelMetadata{Name: name, Platform: "onnxruntime_onnx", Versions: []string{}}
	for _, st := range repo.Status() {
		if st.Name == name && st.Ready {
			md.Versions = append(md.Versions, st.Version)
		}
	}
	if c.Param("version") != "" {
		md.Versions = []string{version}
	}
	meta := func(ios []inference.IOConfig) []v2TensorMeta {
		out := make([]v2TensorMeta, len(ios))
		for i, io := range ios {
			shape := io.Shape
			if cfg.MaxBatchSize > 0 {
				shape = append([]int64{-1}, io.Shape...)
			}
			out[i] = v2TensorMeta{Name: io.Name, Datatype: string(io.DataType), Shape: shape}
		}
		return out
	}
	md.Inputs, md.Outputs = meta(cfg.Inputs), meta(cfg.Outputs)
	return c.JSON(http.StatusOK, md)
}

func (s *Server) v2ModelReady(c echo.Context) error {
	repo, err := s.repo()
	if err != nil {
		return err
	}
	if _, _, err := repo.Config(c.Param("name"), c.Param("version")); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": c.Param("name"), "ready": true})
}

func (s *Server) v2Infer(c echo.Context) error {
	repo, err := s.repo()
	if err != nil {
		return err
	}
	body, err := readJSONBody(c)
	if err != nil {
		return err
	}
	id, inputs, outputs, err := parseV2Infer(body)
	if err != nil {
		var perr *v2Error
		if errors.As(err, &perr) {
			return errorf(CodeInvalidArgument, "%v", perr)
		}
		return err
	}
	if len(inputs) == 0 {
		return errorf(CodeInvalidArgument, "inputs: at least one input tensor is required")
	}
	res, err := repo.Infer(c.Request().Context(), inference.Request{Model: c.Param("name"), Version: c.Param("version"), Inputs: inputs})
	if err != nil {
		return err
	}
	resp := v2InferResponse{ModelName: res.Model, ModelVersion: res.Version, ID: id}
	want := map[string]bool{}
	for _, name := range outputs {
		want[name] = true
	}
	for _, o := range res.Outputs {
		if len(want) > 0 && !want[o.Name] {
			continue
		}
		resp.Outputs = append(resp.Outputs, v2TensorOut{Name: o.Name, Datatype: string(o.DataType), Shape: o.Shape, Data: o.Data})
		delete(want, o.Name)
	}
	for name := range want {
		return errorf(CodeInvalidArgument, "outputs: the model has no output %q", name)
	}
	return c.JSON(http.StatusOK, resp)
}

// jsonish accepts JSON's media types and the defaults of tools that post a
// JSON string without naming it (curl -d sends form-urlencoded).
func jsonish(mt string) bool {
	switch mt {
	case "application/json", "text/json", "text/plain", "application/x-www-form-urlencoded":
		return true
	}
	return strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

func checkJSONType(c echo.Context) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !jsonish(mt) {
			return errorf(CodeUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
		}
	}
	return nil
}

// readJSONBody returns the whole body of a JSON request (bounded by limitBody).
func readJSONBody(c echo.Context) ([]byte, error) {
	if err := checkJSONType(c); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err // *http.MaxBytesError → 413
	}
	return body, nil
}

// decodeJSON reads a JSON request body into v. A wrong content type is 415,
// a body over the limit 413, malformed JSON 400.
func decodeJSON(c echo.Context, v any) error {
	if err := checkJSONType(c); err != nil {
		return err
	}
	dec := json.NewDecoder(c.Request().Body)
	if err := dec.Decode(v); err != nil {
		var maxBytes *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &maxBytes):
			return err
		case errors.Is(err, io.EOF):
			return errorf(CodeInvalidArgument, "request body is empty; a JSON object is required")
		case errors.As(err, &syntax):
			return errorf(CodeInvalidArgument, "malformed JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typ):
			return errorf(CodeInvalidArgument, "field %q: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return errorf(CodeInvalidArgument, "malformed JSON: %v", err)
	}
	if dec.More() {
		return errorf(CodeInvalidArgument, "request body holds more than one JSON value")
	}
	return nil
}
