// Package client is a Go client of Fenzhen's HTTP API (shared/API.md,
// described by api/openapi.yaml and served at GET /openapi.yaml).
//
//	c, err := client.New("http://fenzhen.hospital.local:8080", client.WithAPIKey(key))
//	resp, err := c.Triage(ctx, client.TriageRequest{Text: "三岁孩子发烧两天了", Age: client.Age(3)})
//
// # Types
//
// The request and response types are the client's own, mirroring API.md,
// rather than the server's (triage.Response, imaging.Response …): those live
// in packages that pull ONNX Runtime, bleve and gse into any program that
// imports them, and a hospital system that only calls the API should not link
// an inference engine. The client's tests decode real server answers and fail
// when the server sends a field these types do not carry, so the two cannot
// drift apart unnoticed.
//
// # Errors
//
// Every non-2xx answer is returned as *Error with the envelope's code,
// message and request_id and the HTTP status; use errors.As.
//
// # Deadlines and retries
//
// Each call takes a context: its deadline bounds the call, retries
// included, and is sent as X-Request-Timeout (seconds left) so that the server
// gives up on an attempt when the caller would. WithTimeout sets a default for
// calls whose context has none.
//
// A call that gets 429 rate_limited or 503 unavailable, or whose connection
// fails, is tried again after waiting: at least the server's Retry-After,
// otherwise an exponential backoff (BaseDelay·2ⁿ, at most MaxDelay) with
// jitter, up to MaxAttempts attempts and MaxElapsed in all, and never past the
// context's deadline. Every call of this API is a pure computation over its
// input — triage, record, medication check, search, imaging and v2 inference
// change no state on the server — so every method may be retried safely,
// POSTs included. Ready is the exception: a probe reports the current state
// and is not retried.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes of the API's error envelope, one per HTTP status.
const (
	CodeInvalidArgument      = "invalid_argument"       // 400
	CodeUnauthenticated      = "unauthenticated"        // 401
	CodePermissionDenied     = "permission_denied"      // 403
	CodeNotFound             = "not_found"              // 404
	CodePayloadTooLarge      = "payload_too_large"      // 413
	CodeUnsupportedMediaType = "unsupported_media_type" // 415
	CodeUnprocessable        = "unprocessable"          // 422
	CodeRateLimited          = "rate_limited"           // 429, with Retry-After
	CodeUnavailable          = "unavailable"            // 503, with Retry-After
	CodeDeadlineExceeded     = "deadline_exceeded"      // 504
	CodeInternal             = "internal"               // 500
)

// Error is a non-2xx answer of the server.
type Error struct {
	Status    int    // HTTP status
	Code      string // the envelope's code; for a body that is not the envelope, derived from Status
	Message   string
	RequestID string // the server's X-Request-Id of the failed attempt
	// RetryAfter is the server's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Attempts is how many times the call was tried.
	Attempts int
}

func (e *Error) Error() string {
	s := fmt.Sprintf("fenzhen: %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request_id " + e.RequestID + ")"
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// RetryPolicy bounds retries of 429, 503 and failed connections.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; 1 disables retries
	BaseDelay   time.Duration // first backoff when the server sends no Retry-After
	MaxDelay    time.Duration // longest backoff; a longer Retry-After is still honoured
	MaxElapsed  time.Duration // no retry starts after this much time since the call began
}

// DefaultRetry is the policy of New.
var DefaultRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, MaxElapsed: 20 * time.Second}

// Client calls one Fenzhen server. It is safe for concurrent use.
type Client struct {
	base    string // scheme://host[:port][/prefix], no trailing slash
	hc      *http.Client
	apiKey  string
	timeout time.Duration
	retry   RetryPolicy
	agent   string

	// Replaced by tests to observe waits without waiting.
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func() float64 // in [0, 1)
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sends key as "Authorization: Bearer <key>" on every call.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithHTTPClient uses hc (its Transport, TLS settings and Timeout) for every attempt.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call, retries included, whose context has no deadline.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetry replaces DefaultRetry; zero fields take DefaultRetry's values.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.agent = ua } }

// New returns a client of the server at baseURL, e.g. "http://10.0.0.5:8080".
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fenzhen: base URL %q: want http(s)://host[:port]", baseURL)
	}
	c := &Client{
		base:   strings.TrimRight(baseURL, "/"),
		retry:  DefaultRetry,
		agent:  "fenzhen-go-client",
		sleep:  sleepContext,
		now:    time.Now,
		jitter: rand.Float64,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		c.hc = &http.Client{Transport: tr}
	}
	d := DefaultRetry
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = d.MaxAttempts
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = d.BaseDelay
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = d.MaxDelay
	}
	if c.retry.MaxElapsed <= 0 {
		c.retry.MaxElapsed = d.MaxElapsed
	}
	return c, nil
}

type requestIDKey struct{}

// WithRequestID makes calls with ctx send id as X-Request-Id (1–128 printable
// ASCII characters), so the server's logs and errors carry the caller's id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// Triage calls POST /v1/triage.
func (c *Client) Triage(ctx context.Context, req TriageRequest) (*TriageResponse, error) {
	var out TriageResponse
	return &out, c.postJSON(ctx, "/v1/triage", req, &out)
}

// Record calls POST /v1/record (预问诊病历); the request is the same as Triage's.
func (c *Client) Record(ctx context.Context, req TriageRequest) (*RecordResponse, error) {
	var out RecordResponse
	return &out, c.postJSON(ctx, "/v1/record", req, &out)
}

// MedicationCheck calls POST /v1/medication/check.
func (c *Client) MedicationCheck(ctx context.Context, req MedicationRequest) (*MedicationResponse, error) {
	var out MedicationResponse
	return &out, c.postJSON(ctx, "/v1/medication/check", req, &out)
}

// SearchKnowledge calls GET /v1/knowledge/search.
func (c *Client) SearchKnowledge(ctx context.Context, req SearchRequest) (*SearchResponse, error) {
	q := url.Values{"q": {req.Query}}
	if req.Limit != 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if len(req.Types) > 0 {
		q.Set("type", strings.Join(req.Types, ","))
	}
	var out SearchResponse
	return &out, c.call(ctx, "GET", "/v1/knowledge/search?"+q.Encode(), "", nil, &out, true)
}

// Disease calls GET /v1/knowledge/diseases/{id}.
func (c *Client) Disease(ctx context.Context, id string) (*Disease, error) {
	var out Disease
	return &out, c.call(ctx, "GET", "/v1/knowledge/diseases/"+url.PathEscape(id), "", nil, &out, true)
}

// Departments calls GET /v1/departments and returns the catalogue.
func (c *Client) Departments(ctx context.Context) ([]Department, error) {
	var out struct {
		Departments []Department `json:"departments"`
	}
	err := c.call(ctx, "GET", "/v1/departments", "", nil, &out, true)
	return out.Departments, err
}

// ClassifyChest calls POST /v1/imaging/chest with the image read from r.
// contentType is image/png, image/jpeg or application/dicom; "" sniffs it.
// r is read into memory once so that a retry can send it again.
func (c *Client) ClassifyChest(ctx context.Context, r io.Reader, contentType string) (*ImagingResponse, error) {
	return c.classify(ctx, "/v1/imaging/chest", r, contentType)
}

// ClassifyChestAt is ClassifyChest with the decision taken at an operating
// point: OperatingPointBalanced (the default) or OperatingPointScreening.
func (c *Client) ClassifyChestAt(ctx context.Context, operatingPoint string, r io.Reader, contentType string) (*ImagingResponse, error) {
	path := "/v1/imaging/chest"
	if operatingPoint != "" {
		path += "?operating_point=" + url.QueryEscape(operatingPoint)
	}
	return c.classify(ctx, path, r, contentType)
}

// ClassifyDermatology calls POST /v1/dermatology; see ClassifyChest.
func (c *Client) ClassifyDermatology(ctx context.Context, r io.Reader, contentType string) (*ImagingResponse, error) {
	return c.classify(ctx, "/v1/dermatology", r, contentType)
}

func (c *Client) classify(ctx context.Context, path string, r io.Reader, contentType string) (*ImagingResponse, error) {
	img, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("fenzhen: reading the image: %w", err)
	}
	if contentType == "" {
		contentType = sniffImage(img)
	}
	var out ImagingResponse
	return &out, c.call(ctx, "POST", path, contentType, img, &out, true)
}

// sniffImage names the media type of PNG, JPEG and DICOM (preamble + "DICM").
func sniffImage(b []byte) string {
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		return "application/dicom"
	}
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/jpeg":
		return ct
	}
	return "application/octet-stream"
}

// V2Infer calls POST /v2/models/{model}[/versions/{version}]/infer with JSON
// tensors; version "" is the newest.
func (c *Client) V2Infer(ctx context.Context, model, version string, req V2InferRequest) (*V2InferResponse, error) {
	path := "/v2/models/" + url.PathEscape(model)
	if version != "" {
		path += "/versions/" + url.PathEscape(version)
	}
	var out V2InferResponse
	return &out, c.postJSON(ctx, path+"/infer", req, &out)
}

// Ready calls GET /readyz once, without retrying. A server that is not ready
// answers with its Readiness and an *Error with status 503.
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	var out Readiness
	err := c.call(ctx, "GET", "/readyz", "", nil, &out, false)
	var e *Error
	if errors.As(err, &e) && out.Status != "" {
		e.Message = "the server is not ready (status " + out.Status + ")"
	}
	return &out, err
}

func (c *Client) postJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("fenzhen: encoding the request: %w", err)
	}
	return c.call(ctx, "POST", path, "application/json", body, out, true)
}

// call sends the request, retrying as the package doc says, and decodes a
// 2xx JSON answer into out.
func (c *Client) call(ctx context.Context, method, path, contentType string, body []byte, out any, retry bool) error {
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := c.now()
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, method, path, contentType, body, out)
		if err == nil {
			return nil
		}
		var apiErr *Error
		if errors.As(err, &apiErr) {
			apiErr.Attempts = attempt
		}
		wait, again := c.retryAfter(ctx, err, attempt, start, retry)
		if !again {
			return err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryAfter decides whether a failed attempt is tried again and after how long.
func (c *Client) retryAfter(ctx context.Context, err error, attempt int, start time.Time, retry bool) (time.Duration, bool) {
	if !retry || attempt >= c.retry.MaxAttempts || ctx.Err() != nil {
		return 0, false
	}
	var server time.Duration
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Status != http.StatusTooManyRequests && apiErr.Status != http.StatusServiceUnavailable {
			return 0, false
		}
		server = apiErr.RetryAfter
	case errors.Is(err, errDecode):
		return 0, false // a 2xx we could not read will not read better next time
	}
	// Exponential backoff with jitter: BaseDelay·2^(n-1), capped, scaled into [½, 1].
	backoff := c.retry.BaseDelay << (attempt - 1)
	if backoff > c.retry.MaxDelay || backoff <= 0 {
		backoff = c.retry.MaxDelay
	}
	wait := backoff/2 + time.Duration(c.jitter()*float64(backoff/2))
	if server > 0 {
		// Never sooner than the server asked; a little jitter on top so that
		// clients turned away together do not all come back in the same instant.
		wait = server + time.Duration(c.jitter()*float64(c.retry.BaseDelay))
	}
	if c.now().Add(wait).Sub(start) > c.retry.MaxElapsed {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
		return 0, false
	}
	return wait, true
}

var errDecode = errors.New("decoding the response")

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("fenzhen: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	if dl, ok := ctx.Deadline(); ok {
		// The server stops working on the request when the caller stops waiting.
		if left := dl.Sub(c.now()); left > 0 {
			req.Header.Set("X-Request-Timeout", strconv.FormatFloat(max(left.Seconds(), 0.001), 'f', 3, 64))
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("fenzhen: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("fenzhen: %s %s: %w: %v", method, path, errDecode, err)
		}
		io.Copy(io.Discard, resp.Body) // let the connection be reused
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"), RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now())}
	var env struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
		if env.Error.RequestID != "" {
			e.RequestID = env.Error.RequestID
		}
	} else {
		e.Code = statusCode(resp.StatusCode)
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		if r, ok := out.(*Readiness); ok && resp.StatusCode == http.StatusServiceUnavailable {
			json.Unmarshal(raw, r) // the not_ready body of /readyz
		}
	}
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// statusCode is the envelope code of an HTTP status, for answers without the envelope.
func statusCode(status int) string {
	switch status {
	case 400:
		return CodeInvalidArgument
	case 401:
		return CodeUnauthenticated
	case 403:
		return CodePermissionDenied
	case 404:
		return CodeNotFound
	case 413:
		return CodePayloadTooLarge
	case 415:
		return CodeUnsupportedMediaType
	case 422:
		return CodeUnprocessable
	case 429:
		return CodeRateLimited
	case 502, 503:
		return CodeUnavailable
	case 504:
		return CodeDeadlineExceeded
	}
	return CodeInternal
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
