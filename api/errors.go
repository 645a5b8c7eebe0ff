package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/bmc"
)

// apiError is an error with the status and code it is sent with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

// classify maps an error from the layers below to its status and code.
func classify(err error) (status int, code string) {
	var ae *apiError
	var sc echo.HTTPStatusCoder
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code
	case errors.Is(err, bmc.ErrNoSlot):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, bmc.ErrNoJob):
		return http.StatusNotFound, CodeNotFound
	case errors.Is(err, bmc.ErrNotFlashable):
		return http.StatusConflict, CodeNotFlashable
	case errors.Is(err, bmc.ErrInvalid):
		return http.StatusBadRequest, CodeBadRequest
	case errors.Is(err, bmc.ErrBusy):
		return http.StatusConflict, CodeBusy
	case errors.Is(err, bmc.ErrSelfSlot):
		return http.StatusConflict, CodeSelfSlot
	case errors.Is(err, bmc.ErrSlotOff):
		return http.StatusConflict, CodeSlotOff
	case errors.Is(err, bmc.ErrNotSupported):
		return http.StatusNotImplemented, CodeNotSupported
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrBadToken):
		return http.StatusUnauthorized, CodeUnauthorized
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests, CodeRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, CodeInternal
	case errors.As(err, &sc) && sc.StatusCode() != 0:
		return sc.StatusCode(), codeForStatus(sc.StatusCode())
	}
	return http.StatusInternalServerError, CodeInternal
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	}
	if status >= 400 && status < 500 {
		return CodeBadRequest
	}
	return CodeInternal
}

// errorHandler writes every error as the JSON error envelope.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return
		}
		status, code := classify(err)
		msg := err.Error()
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Message != "" {
			msg = he.Message
		}
		if status >= 500 {
			log.Error("api: request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		var rl *auth.RateLimitError
		if errors.As(err, &rl) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		}
		if status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="bmcd"`)
		}
		body := ErrorBody{Error: ErrorDetail{Code: code, Message: msg}}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = c.JSON(status, body)
		}
		if err != nil {
			log.Debug("api: could not send error response", "err", err)
		}
	}
}
