// Package audit keeps a durable, queryable record of every inference request
// the server answers: who asked (tenant), what route, the outcome (status,
// departments, urgency, red flags, top findings) and which model versions
// produced it. It never keeps images, and keeps request text only when asked
// to, and then only after privacy.Redact.
//
// Handlers hand entries to a Writer, which batches them into a SQLite Store
// off the request path; Export and Prune serve `fenzhen audit`.
package audit

import (
	"github.com/fenzhen/fenzhen/wire"
)

import "time"

// Score is one ranked result: a disease, an imaging finding, a medication warning.
type Score struct {
	ID string  `json:"id"`
	P  float64 `json:"p,omitempty"`
}

// Model names a model version that contributed to the answer.
type Model = wire.ModelRef

// Summary is what a handler tells the audit log about its answer; the API
// layer adds the request's metadata to make an Entry.
type Summary struct {
	Departments []string `json:"departments"` // 诊疗科目 codes, best first
	Urgency     string   `json:"urgency"`     // emergency | urgent | routine | self_care | ""
	RedFlags    []string `json:"red_flags"`   // ids only: a red flag's text quotes the patient
	Top         []Score  `json:"top"`         // at most MaxTop, best first
	Models      []Model  `json:"models"`
	// Text is the request text. Store.Insert keeps only its redaction, so raw
	// text lives in memory between the handler and the insert, never on disk.
	Text string `json:"text,omitempty"`
}

// MaxTop bounds Summary.Top: the audit log records the gist, not the answer.
const MaxTop = 5

// Entry is one audited request.
type Entry struct {
	Time      time.Time `json:"time"` // when the request arrived, UTC
	RequestID string    `json:"request_id"`
	Tenant    string    `json:"tenant"` // the API key's tenant; "" with auth off
	KeyID     string    `json:"key_id"` // the API key's id (not the secret)
	Route     string    `json:"route"`  // the route pattern (/v2/models/:name/infer), never the URL
	Method    string    `json:"method"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	Summary
}
