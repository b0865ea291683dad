package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/audit"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/triage"
)

// ContextAudit is the echo context key where a handler leaves the
// audit.Summary of its answer.
const ContextAudit = "audit"

// audited reports whether a route is an inference the audit log keeps: every
// POST under /v1 and the v2 infer routes. Health, metrics, the console and
// knowledge look-ups are not.
func audited(route, method string) bool {
	return method == http.MethodPost && (strings.HasPrefix(route, "/v1/") || strings.HasSuffix(route, "/infer"))
}

// auditLog records each audited request once it has been answered: status
// (errors included, as observe, inside it, has rendered them), latency,
// tenant and the handler's summary. It sits outside admission, so refused
// requests (401, 403, 429) are recorded too.
//
// Record waits when the audit queue is full. It is detached from the
// request's cancellation: an answered request is recorded even if its client
// has hung up, and the wait is bounded because the writer always drains.
// Shutdown lets handlers return before the writer is closed, so every
// request answered before SIGTERM is in the log.
func (s *Server) auditLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		w := s.deps.Audit
		route, method := c.Path(), c.Request().Method
		if w == nil || !audited(route, method) || !s.routeKnown(method, route) {
			return next(c)
		}
		start := time.Now()
		ctx := context.WithoutCancel(c.Request().Context())
		err := next(c)
		e := audit.Entry{
			Time:      start.UTC(),
			RequestID: requestID(c),
			Route:     route,
			Method:    method,
			Status:    c.Response().Status,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000,
		}
		e.Tenant, _ = c.Get(ContextTenant).(string)
		e.KeyID, _ = c.Get(ContextKeyID).(string)
		if sum, ok := c.Get(ContextAudit).(audit.Summary); ok {
			e.Summary = sum
		}
		if !s.cfg.AuditStoreText {
			e.Text = ""
		}
		if e.Models == nil && c.Param("name") != "" { // the v2 routes name their model, perhaps one that does not exist
			e.Models = []audit.Model{{Name: clip(c.Param("name")), Version: clip(c.Param("version"))}}
		}
		if rerr := w.Record(ctx, e); rerr != nil {
			s.log.LogAttrs(context.Background(), slog.LevelError, "audit entry not recorded",
				slog.String("request_id", e.RequestID), slog.String("route", route), slog.String("err", rerr.Error()))
		}
		return err
	}
}

// clip bounds a client-chosen path segment kept in the audit log.
func clip(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	return s
}

// routeKnown reports whether method and route name a registered route: for
// a path no route serves (404, 405) echo gives the nearest pattern instead.
// Known routes are remembered: echo.Routes copies the whole table, which
// cost every audited request an allocation and a map walk. Only positives
// are cached, so a route registered later is still found.
func (s *Server) routeKnown(method, route string) bool {
	k := routeKey{method, route}
	if m := s.knownRoutes.Load(); m != nil {
		if _, ok := (*m)[k]; ok {
			return true
		}
	}
	for _, r := range s.echo.Routes() {
		if r.Method == method && r.Path == route {
			s.rememberRoute(k)
			return true
		}
	}
	return false
}

// routeKey is a registered route, the key of Server.knownRoutes.
type routeKey struct{ method, path string }

// rememberRoute adds k to the known routes (copy on write: readers take no lock).
func (s *Server) rememberRoute(k routeKey) {
	for {
		old := s.knownRoutes.Load()
		next := map[routeKey]struct{}{k: {}}
		if old != nil {
			for r := range *old {
				next[r] = struct{}{}
			}
		}
		if s.knownRoutes.CompareAndSwap(old, &next) {
			return
		}
	}
}

// setAudit leaves the summary of resp for auditLog; text is the request's
// free text, kept (redacted) only when AuditStoreText is on.
func (s *Server) setAudit(c echo.Context, resp any, text string) {
	if s.deps.Audit == nil {
		return
	}
	sum := summarize(resp)
	if s.cfg.AuditStoreText {
		sum.Text = text
	}
	c.Set(ContextAudit, sum)
}

// summarize keeps the gist of an answer: codes, ids and probabilities, never
// text quoted from the patient (a red flag's or symptom's text).
func summarize(resp any) audit.Summary {
	var sum audit.Summary
	switch r := resp.(type) {
	case *triage.Response:
		for i, d := range r.Departments {
			if i == 3 {
				break
			}
			sum.Departments = append(sum.Departments, d.Code)
		}
		sum.Urgency = r.Urgency.Level
		for _, f := range r.Urgency.RedFlags {
			sum.RedFlags = append(sum.RedFlags, f.ID)
		}
		for i, d := range r.Diseases {
			if i == audit.MaxTop {
				break
			}
			sum.Top = append(sum.Top, audit.Score{ID: d.ID, P: d.Probability})
		}
		for _, m := range r.Models {
			sum.Models = append(sum.Models, audit.Model{Name: m.Name, Version: m.Version})
		}
	case *triage.RecordResponse:
		for i, p := range r.Positives { // symptom names from the knowledge graph
			if i == audit.MaxTop {
				break
			}
			sum.Top = append(sum.Top, audit.Score{ID: p})
		}
	case *triage.MedicationResponse:
		for i, w := range r.Warnings {
			if i == audit.MaxTop {
				break
			}
			id := w.Drug
			if w.With != "" {
				id += "+" + w.With
			}
			sum.Top = append(sum.Top, audit.Score{ID: id + ":" + w.Severity})
		}
	case *imaging.Response:
		if r.Department != "" {
			sum.Departments = []string{r.Department}
		}
		if r.Urgency != nil {
			sum.Urgency = r.Urgency.Level
			for _, f := range r.Urgency.RedFlags {
				sum.RedFlags = append(sum.RedFlags, f.ID)
			}
		}
		for i, f := range r.Findings {
			if i == audit.MaxTop {
				break
			}
			sum.Top = append(sum.Top, audit.Score{ID: f.Label, P: f.Probability})
		}
		for _, m := range r.Models {
			sum.Models = append(sum.Models, audit.Model{Name: m.Name, Version: m.Version})
		}
	}
	return sum
}
