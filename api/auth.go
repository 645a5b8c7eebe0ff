package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/auth"
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
		if err := s.checkBearer(c); err != nil {
			return err
		}
		return next(c)
	}
}

// requireTokenOrTicket is requireToken for the streams a browser opens
// (the event stream and the console WebSocket), which cannot carry an
// Authorization header: they may instead name a ticket from POST
// /api/v1/auth/ticket in the ticket query parameter. A ticket is good
// for one request and 30 s, so a URL that ends up in a log or a history
// is worth nothing. A request with a header is checked by its header.
func (s *Server) requireTokenOrTicket(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if r.Header.Get("Authorization") != "" || !r.URL.Query().Has("ticket") {
			if err := s.checkBearer(c); err != nil {
				return err
			}
			return next(c)
		}
		sess, err := s.auth.RedeemTicket(r.URL.Query().Get("ticket"))
		if err != nil {
			return newError(http.StatusUnauthorized, apitype.CodeUnauthorized,
				"ticket is unknown, used or expired: get a new one with POST /api/v1/auth/ticket right before opening the stream")
		}
		c.Set(sessionKey, sess)
		return next(c)
	}
}

// checkBearer checks the Authorization header and puts the session and
// token into c.
func (s *Server) checkBearer(c *echo.Context) error {
	scheme, token, ok := strings.Cut(c.Request().Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return newError(http.StatusUnauthorized, apitype.CodeUnauthorized, "authentication required: log in with POST /api/v1/auth/login and send the token in an \"Authorization: Bearer TOKEN\" header")
	}
	token = strings.TrimSpace(token)
	sess, err := s.auth.Check(token)
	if err != nil {
		return newError(http.StatusUnauthorized, apitype.CodeUnauthorized, "token is unknown or expired: log in again")
	}
	c.Set(sessionKey, sess)
	c.Set(tokenKey, token)
	return nil
}

// ticket answers POST /api/v1/auth/ticket: a single-use ticket standing
// for the caller's session, for a stream a browser opens next.
func (s *Server) ticket(c *echo.Context) error {
	token, _ := c.Get(tokenKey).(string)
	t, err := s.auth.IssueTicket(token)
	if errors.Is(err, auth.ErrTooManyTickets) {
		return newError(http.StatusTooManyRequests, apitype.CodeRateLimited, err.Error()+": use or let expire the ones already asked for")
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, apitype.TicketResponse{Ticket: t, ExpiresInS: int(auth.TicketTTL / time.Second)})
}

// isWebSocket says whether r asks for a WebSocket upgrade.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
