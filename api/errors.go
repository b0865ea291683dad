package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
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
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	}
	var werr error
	if c.Request().Method == http.MethodHead {
		werr = c.NoContent(status)
	} else {
		werr = c.JSON(status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: id}})
	}
	if werr != nil {
		s.log.Debug("write error response", "request_id", id, "err", werr)
	}
}
