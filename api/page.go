package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// page serves the web page (package api/web) for every GET that no API
// route takes. Unknown paths under /api/ stay JSON errors, as API
// clients expect.
func (s *Server) page(c *echo.Context) error {
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		return newError(http.StatusNotFound, apitype.CodeNotFound, "no such API endpoint: "+c.Request().URL.Path)
	}
	s.site.ServeHTTP(c.Response(), c.Request())
	return nil
}
