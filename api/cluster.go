package api

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// getClusterKey answers bmcd's SSH client public key.
func (s *Server) getClusterKey(c *echo.Context) error {
	return c.JSON(http.StatusOK, apitype.ClusterKey{PublicKey: s.board.ClusterKey()})
}
