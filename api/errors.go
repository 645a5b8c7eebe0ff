package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/cluster"
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
// It is the one place where the domain's errors become statuses: the
// values a request carries are checked by bmc (bmc.ErrInvalid: 400), not
// again here.
func classify(err error) (status int, code string) {
	var ae *apiError
	var sc echo.HTTPStatusCoder
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code
	case errors.Is(err, bmc.ErrNoSlot):
		return http.StatusNotFound, apitype.CodeNotFound
	case errors.Is(err, bmc.ErrNoJob):
		return http.StatusNotFound, apitype.CodeNotFound
	case errors.Is(err, bmc.ErrNotFlashable):
		return http.StatusConflict, apitype.CodeNotFlashable
	case errors.Is(err, bmc.ErrInvalid):
		return http.StatusBadRequest, apitype.CodeBadRequest
	case errors.Is(err, bmc.ErrNoCluster):
		return http.StatusNotFound, apitype.CodeNotFound
	case errors.Is(err, cluster.ErrLastServer):
		return http.StatusConflict, apitype.CodeLastServer
	case errors.Is(err, bmc.ErrBusy), errors.Is(err, bmc.ErrClusterBusy):
		return http.StatusConflict, apitype.CodeBusy
	case errors.Is(err, bmc.ErrSelfSlot):
		return http.StatusConflict, apitype.CodeSelfSlot
	case errors.Is(err, bmc.ErrSlotOff):
		return http.StatusConflict, apitype.CodeSlotOff
	case errors.Is(err, bmc.ErrNotSupported):
		return http.StatusNotImplemented, apitype.CodeNotSupported
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrBadToken):
		return http.StatusUnauthorized, apitype.CodeUnauthorized
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests, apitype.CodeRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, apitype.CodeInternal
	case errors.As(err, &sc) && sc.StatusCode() != 0:
		return sc.StatusCode(), codeForStatus(sc.StatusCode())
	}
	return http.StatusInternalServerError, apitype.CodeInternal
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return apitype.CodeNotFound
	case http.StatusMethodNotAllowed:
		return apitype.CodeMethodNotAllowed
	case http.StatusUnauthorized:
		return apitype.CodeUnauthorized
	case http.StatusForbidden:
		return apitype.CodeForbidden
	case http.StatusRequestEntityTooLarge:
		return apitype.CodeTooLarge
	}
	if status >= 400 && status < 500 {
		return apitype.CodeBadRequest
	}
	return apitype.CodeInternal
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
		body := apitype.ErrorBody{Error: apitype.ErrorDetail{Code: code, Message: msg}}
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
