package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// Echo context keys: the caller's auth.Session and bearer token.
const (
	sessionKey = "session"
	tokenKey   = "token"
)

func (s *Server) login(c *echo.Context) error {
	var req apitype.LoginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := bmc.CheckText("user name", req.Username, bmc.MaxNameLen); err != nil {
		return err
	}
	token, sess, err := s.auth.Login(c.RealIP(), req.Username, req.Password)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apitype.LoginResponse{Token: token, ExpiresAt: sess.Expires})
}

// logout revokes the caller's token: 204, and the token is refused from
// then on.
func (s *Server) logout(c *echo.Context) error {
	token, _ := c.Get(tokenKey).(string)
	if err := s.auth.Logout(token); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// requireToken lets a request through only with a valid bearer token.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok && isWebSocket(c.Request()) {
			// Browsers cannot set headers on a WebSocket.
			token = c.Request().URL.Query().Get("access_token")
			scheme, ok = "Bearer", token != ""
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return newError(http.StatusUnauthorized, apitype.CodeUnauthorized, "authentication required: log in with POST /api/v1/auth/login and send the token in an \"Authorization: Bearer TOKEN\" header")
		}
		sess, err := s.auth.Check(strings.TrimSpace(token))
		if err != nil {
			return newError(http.StatusUnauthorized, apitype.CodeUnauthorized, "token is unknown or expired: log in again")
		}
		c.Set(sessionKey, sess)
		c.Set(tokenKey, strings.TrimSpace(token))
		return next(c)
	}
}

// isWebSocket says whether r asks for a WebSocket upgrade.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
