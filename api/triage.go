package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fenzhen/fenzhen/triage"
)

func (s *Server) engine() (*triage.Engine, error) {
	if s.deps.Triage == nil {
		return nil, errorf(CodeUnavailable, "triage is not configured on this server")
	}
	return s.deps.Triage, nil
}

// triageRoute decodes a triage.Request and answers with what run returns;
// /v1/triage and /v1/record differ only in run.
func (s *Server) triageRoute(run func(context.Context, *triage.Engine, triage.Request, string) (any, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		eng, err := s.engine()
		if err != nil {
			return err
		}
		var req triage.Request
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		resp, err := run(c.Request().Context(), eng, req, requestID(c))
		if err != nil {
			return err
		}
		s.setAudit(c, resp, req.Text)
		return c.JSON(http.StatusOK, resp)
	}
}

// POST /v1/triage
func runTriage(ctx context.Context, eng *triage.Engine, req triage.Request, id string) (any, error) {
	resp, err := eng.Triage(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.RequestID = id
	return resp, nil
}

// POST /v1/record
func runRecord(ctx context.Context, eng *triage.Engine, req triage.Request, id string) (any, error) {
	resp, err := eng.Record(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.RequestID = id
	return resp, nil
}

// POST /v1/medication/check
func (s *Server) medicationCheck(c echo.Context) error {
	g, err := s.kg()
	if err != nil {
		return err
	}
	var req triage.MedicationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	resp, err := triage.CheckMedication(g, req)
	if err != nil {
		return err
	}
	resp.RequestID = requestID(c)
	s.setAudit(c, resp, "")
	return c.JSON(http.StatusOK, resp)
}
