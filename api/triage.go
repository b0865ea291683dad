package api

import (
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

// POST /v1/triage
func (s *Server) triage(c echo.Context) error {
	eng, err := s.engine()
	if err != nil {
		return err
	}
	var req triage.Request
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	resp, err := eng.Triage(c.Request().Context(), req)
	if err != nil {
		return err
	}
	resp.RequestID = requestID(c)
	return c.JSON(http.StatusOK, resp)
}

// POST /v1/record
func (s *Server) record(c echo.Context) error {
	eng, err := s.engine()
	if err != nil {
		return err
	}
	var req triage.Request
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	resp, err := eng.Record(c.Request().Context(), req)
	if err != nil {
		return err
	}
	resp.RequestID = requestID(c)
	return c.JSON(http.StatusOK, resp)
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
	return c.JSON(http.StatusOK, resp)
}
