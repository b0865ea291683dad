package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/triage"
)

// Error codes of ../shared/API.md, each with exactly one status.
const (
	CodeInvalidArgument      = "invalid_argument"
	CodeUnauthenticated      = "unauthenticated"
	CodePermissionDenied     = "permission_denied"
	CodeNotFound             = "not_found"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnprocessable        = "unprocessable"
	CodeRateLimited          = "rate_limited"
	CodeUnavailable          = "unavailable"
	CodeDeadlineExceeded     = "deadline_exceeded"
	CodeInternal             = "internal"
)

var codeStatus = map[string]int{
	CodeInvalidArgument:      http.StatusBadRequest,
	CodeUnauthenticated:      http.StatusUnauthorized,
	CodePermissionDenied:     http.StatusForbidden,
	CodeNotFound:             http.StatusNotFound,
	CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeUnprocessable:        http.StatusUnprocessableEntity,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeUnavailable:          http.StatusServiceUnavailable,
	CodeDeadlineExceeded:     http.StatusGatewayTimeout,
	CodeInternal:             http.StatusInternalServerError,
}

// Error is an error a handler returns with its API code chosen.
type Error struct {
	Code    string
	Message string
	// RetryAfter, when set, is sent (rounded up to whole seconds) as
	// Retry-After instead of the configured default.
	RetryAfter time.Duration
	// shed marks a refusal by admission control (429, 503 at the in-flight
	// limit): counted in metrics and summarised in the log, not logged one
	// line each (see observe).
	shed bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// classify maps any error a handler returns to an API code and message. It is
// the one place where domain errors meet HTTP.
func classify(err error) (code, msg string) {
	var apiErr *Error
	var httpErr *echo.HTTPError
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.Code, apiErr.Message
	case errors.As(err, &maxBytes), errors.Is(err, imaging.ErrTooLarge):
		if maxBytes != nil {
			return CodePayloadTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBytes.Limit)
		}
		return CodePayloadTooLarge, err.Error()
	case errors.Is(err, triage.ErrInvalid):
		return CodeInvalidArgument, err.Error()
	case errors.Is(err, triage.ErrUnprocessable):
		return CodeUnprocessable, err.Error()
	case errors.Is(err, inference.ErrInvalidInput):
		return CodeInvalidArgument, err.Error()
	case errors.Is(err, inference.ErrModelNotFound):
		return CodeNotFound, err.Error()
	case errors.Is(err, inference.ErrQueueFull), errors.Is(err, inference.ErrUnavailable), errors.Is(err, imaging.ErrNoModel):
		return CodeUnavailable, err.Error()
	case errors.Is(err, imaging.ErrUnsupportedMedia):
		return CodeUnsupportedMediaType, err.Error()
	case errors.Is(err, imaging.ErrCorrupt):
		return CodeUnprocessable, err.Error()
	case errors.Is(err, imaging.ErrRejected):
		return CodeUnprocessable, err.Error()
	case errors.Is(err, imaging.ErrInvalid):
		return CodeInvalidArgument, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded, "the request did not finish within its deadline"
	case errors.Is(err, context.Canceled):
		return CodeUnavailable, "the request was cancelled"
	case errors.As(err, &httpErr):
		return httpCode(httpErr.Code), fmt.Sprint(httpErr.Message)
	}
	return CodeInternal, "internal error"
}

func httpCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidArgument
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return CodeNotFound
	case http.StatusRequestEntityTooLarge:
		return CodePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodePermissionDenied
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	case http.StatusGatewayTimeout:
		return CodeDeadlineExceeded
	}
	return CodeInternal
}

// handleError is echo's HTTPErrorHandler: it renders the envelope of API.md.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := classify(err)
	status := codeStatus[code]
	id := requestID(c)
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "request_id", id, "route", c.Path(), "err", err)
	}
	if code == CodeUnavailable || code == CodeRateLimited {
		secs := s.cfg.RetryAfterSeconds
		if apiErr := (*Error)(nil); errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			secs = max(1, int(math.Ceil(apiErr.RetryAfter.Seconds())))
		}
		if secs == 1 {
			c.Response().Header()["Retry-After"] = retryAfterOne
		} else {
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	var werr error
	switch req := c.Request(); {
	case req.Method == http.MethodHead:
		werr = c.NoContent(status)
	case req.URL.RawQuery != "" && c.QueryParams().Has("pretty"):
		werr = c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: id}})
	default:
		werr = writeEnvelope(c.Response(), status, code, msg, id)
	}
	if werr != nil {
		s.log.Debug("write error response", "request_id", id, "err", werr)
	}
}

// Shared header values: net/http only reads them, and setting the map entry
// to a shared slice saves an allocation on every error answer.
var (
	jsonContentType = []string{echo.MIMEApplicationJSON}
	retryAfterOne   = []string{"1"}
)

var envelopePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// writeEnvelope writes the error envelope of API.md, byte for byte what
// encoding/json makes of errorBody (HTML-safe escaping, a final newline),
// without reflection and, for plain ASCII strings, without allocating: under
// overload this is the answer most requests get, so it must cost little.
func writeEnvelope(w *echo.Response, status int, code, msg, id string) error {
	bp := envelopePool.Get().(*[]byte)
	b := append((*bp)[:0], `{"error":{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, id)
	b = append(b, "}}\n"...)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, err := w.Write(b)
	if cap(b) <= 4<<10 {
		*bp = b
		envelopePool.Put(bp)
	}
	return err
}

// appendJSONString appends s as encoding/json writes it: strings of printable
// ASCII without the characters it escapes are copied, anything else goes
// through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			raw, err := json.Marshal(s)
			if err != nil { // not for a string
				return append(b, `""`...)
			}
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
