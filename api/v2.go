package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/inference"
)

// KServe v2 / Open Inference Protocol, REST binding with JSON tensors.

type v2TensorOut struct {
	Name       string         `json:"name"`
	Datatype   string         `json:"datatype"`
	Shape      []int64        `json:"shape"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
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
	headerLen := -1
	if v := c.Request().Header.Get(headerInferenceLength); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errorf(CodeInvalidArgument, "%s %q is not a byte count", headerInferenceLength, v)
		}
		headerLen = n
	} else if err := checkJSONType(c); err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // *http.MaxBytesError → 413
	}
	req, err := parseV2Infer(body, headerLen)
	if err != nil {
		var perr *v2Error
		if errors.As(err, &perr) {
			return errorf(CodeInvalidArgument, "%v", perr)
		}
		return err
	}
	if len(req.Inputs) == 0 {
		return errorf(CodeInvalidArgument, "inputs: at least one input tensor is required")
	}
	res, err := repo.Infer(c.Request().Context(), inference.Request{Model: c.Param("name"), Version: c.Param("version"), Inputs: req.Inputs})
	if err != nil {
		return err
	}
	return writeV2Response(c, req, res)
}

// writeV2Response sends the outputs asked for (all when none are named), as
// JSON or, where asked, in the binary data extension.
func writeV2Response(c echo.Context, req *v2Request, res *inference.Result) error {
	resp := v2InferResponse{ModelName: res.Model, ModelVersion: res.Version, ID: req.ID}
	asked := map[string]*v2OutputRequest{}
	for i := range req.Outputs {
		asked[req.Outputs[i].Name] = &req.Outputs[i]
	}
	var tail []byte
	for _, o := range res.Outputs {
		want, named := asked[o.Name]
		if len(asked) > 0 && !named {
			continue
		}
		delete(asked, o.Name)
		out := v2TensorOut{Name: o.Name, Datatype: string(o.DataType), Shape: o.Shape, Data: o.Data}
		if req.BinaryOutput || (named && want.Binary) {
			before := len(tail)
			tail = appendLittleEndian(tail, o.Data)
			out.Data = nil
			out.Parameters = map[string]any{"binary_data_size": len(tail) - before}
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	for name := range asked {
		return errorf(CodeInvalidArgument, "outputs: the model has no output %q", name)
	}
	if tail == nil {
		return c.JSON(http.StatusOK, resp)
	}
	header, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	c.Response().Header().Set(headerInferenceLength, strconv.Itoa(len(header)))
	return c.Blob(http.StatusOK, echo.MIMEOctetStream, append(header, tail...))
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

// decodeJSON reads a JSON request body into v. A wrong content type is 415,
// a body over the limit 413, malformed JSON 400.
func decodeJSON(c echo.Context, v any) error {
	if err := checkJSONType(c); err != nil {
		return err
	}
	// Read first (limitJSONDepth already holds the body in memory), so a
	// syntax error can name the character it stopped at.
	body, err := io.ReadAll(c.Request().Body)
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return err
	}
	if err != nil {
		return errorf(CodeInvalidArgument, "malformed JSON: %v", err)
	}
	// encoding/json would turn invalid bytes into U+FFFD and carry on;
	// API.md asks for a 400 instead.
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return errorf(CodeInvalidArgument, "request body is not valid UTF-8 (byte 0x%02X at offset %d)", body[i], i)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return errorf(CodeInvalidArgument, "request body is empty; a JSON object is required")
		case errors.As(err, &syntax):
			msg := err.Error()
			// encoding/json quotes the one byte it stopped at: 'â' for the
			// first byte of '…'. Name the whole character instead.
			if i := int(syntax.Offset) - 1; i >= 0 && i < len(body) && body[i] >= utf8.RuneSelf {
				msg = strings.Replace(msg, "'"+string(rune(body[i]))+"'", charAt(body, i), 1)
			}
			return errorf(CodeInvalidArgument, "malformed JSON at byte %d: %s", syntax.Offset, msg)
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
