package api

import (
	"bytes"
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

type v2TensorIn struct {
	Name     string          `json:"name"`
	Shape    []int64         `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

type v2InferRequest struct {
	ID      string       `json:"id,omitempty"`
	Inputs  []v2TensorIn `json:"inputs"`
	Outputs []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

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
	var req v2InferRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Inputs) == 0 {
		return errorf(CodeInvalidArgument, "inputs: at least one input tensor is required")
	}
	inputs := make([]inference.Tensor, len(req.Inputs))
	for i, in := range req.Inputs {
		t, err := v2Decode(in)
		if err != nil {
			return err
		}
		inputs[i] = t
	}
	res, err := repo.Infer(c.Request().Context(), inference.Request{Model: c.Param("name"), Version: c.Param("version"), Inputs: inputs})
	if err != nil {
		return err
	}
	resp := v2InferResponse{ModelName: res.Model, ModelVersion: res.Version, ID: req.ID}
	want := map[string]bool{}
	for _, o := range req.Outputs {
		want[o.Name] = true
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

// v2Decode turns one JSON tensor into a typed Tensor. Data may be flat or
// nested row-major arrays; errors name the input.
func v2Decode(in v2TensorIn) (inference.Tensor, error) {
	t := inference.Tensor{Name: in.Name, DataType: inference.DataType(in.Datatype), Shape: in.Shape}
	if in.Name == "" {
		return t, errorf(CodeInvalidArgument, "inputs: every tensor needs a name")
	}
	if !t.DataType.Valid() {
		return t, errorf(CodeInvalidArgument, "input %q: datatype %q is not supported (FP32, FP64, INT64, INT32, INT8, UINT8, BOOL)", in.Name, in.Datatype)
	}
	n := inference.NumElements(in.Shape)
	if len(in.Shape) == 0 || n < 0 {
		return t, errorf(CodeInvalidArgument, "input %q: shape %v is not valid", in.Name, in.Shape)
	}
	flat := flatten(in.Data)
	var err error
	switch t.DataType {
	case inference.FP32:
		t.Data, err = unmarshalSlice[float32](flat)
	case inference.FP64:
		t.Data, err = unmarshalSlice[float64](flat)
	case inference.INT64:
		t.Data, err = unmarshalSlice[int64](flat)
	case inference.INT32:
		t.Data, err = unmarshalSlice[int32](flat)
	case inference.INT8:
		t.Data, err = unmarshalSlice[int8](flat)
	case inference.UINT8:
		t.Data, err = unmarshalSlice[uint8](flat)
	case inference.BOOL:
		t.Data, err = unmarshalSlice[bool](flat)
	}
	if err != nil {
		return t, errorf(CodeInvalidArgument, "input %q: data is not an array of %s values: %v", in.Name, in.Datatype, err)
	}
	if int64(t.Len()) != n {
		return t, errorf(CodeInvalidArgument, "input %q: shape %v needs %d elements, got %d", in.Name, in.Shape, n, t.Len())
	}
	return t, nil
}

func unmarshalSlice[T any](raw []byte) ([]T, error) {
	var out []T
	err := json.Unmarshal(raw, &out)
	return out, err
}

// flatten drops the brackets of nested arrays: [[1,2],[3,4]] → [1,2,3,4].
// Tensor data holds only numbers and booleans, so no bracket is inside a string.
func flatten(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || bytes.IndexByte(raw[1:], '[') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '[')
	for _, b := range raw[1 : len(raw)-1] {
		if b != '[' && b != ']' {
			out = append(out, b)
		}
	}
	return append(out, ']')
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

// decodeJSON reads a JSON request body into v. A wrong content type is 415,
// a body over the limit 413, malformed JSON 400.
func decodeJSON(c echo.Context, v any) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !jsonish(mt) {
			return errorf(CodeUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
		}
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
