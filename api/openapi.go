package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// OpenAPI is the OpenAPI 3.0 description of every route, served at
// GET /openapi.yaml. api/openapi_test.go keeps it and the route table in step,
// and every request and response of the api tests is validated against it.
//
//go:embed openapi.yaml
var OpenAPI []byte

// openAPI serves the embedded document.
func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", OpenAPI)
}
