package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// APIError is an error answered by bmcd: a non-2xx status, with the code
// and message of the API's error envelope.
type APIError struct {
	// Status is the HTTP status code, e.g. 404.
	Status int
	// Code is the API's error code (apitype.CodeNotFound, ...); "" when the
	// answer was not the API's JSON error envelope (e.g. from a proxy).
	Code string
	// Message is the server's sentence, or the HTTP status when the
	// answer had none.
	Message string
}

// Error returns the server's message, meant to be shown as it is.
func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("bmcd answered %d %s", e.Status, http.StatusText(e.Status))
}

// IsUnauthorized reports whether err is bmcd refusing the request for
// want of a valid token (or, from Login, valid credentials).
func IsUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// apiError reads a non-2xx answer into an *APIError.
func apiError(resp *http.Response) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ae := &APIError{Status: resp.StatusCode}
	var eb apitype.ErrorBody
	if json.Unmarshal(data, &eb) == nil && (eb.Error.Message != "" || eb.Error.Code != "") {
		ae.Code, ae.Message = eb.Error.Code, eb.Error.Message
	}
	if ae.Message == "" {
		ae.Message = fmt.Sprintf("%s %s: bmcd answered %s", resp.Request.Method, resp.Request.URL.Path, statusText(resp))
	}
	return ae
}

// statusText is "502 Bad Gateway", whatever the server wrote after the code.
func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, t)
	}
	return fmt.Sprintf("status %d", resp.StatusCode)
}

// transportError explains a request that got no answer, naming the
// daemon's address. It keeps the cause for errors.Is.
func (c *Client) transportError(ctx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: no answer from bmcd at %s in time: %w", op, c.base(), context.DeadlineExceeded)
		}
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach bmcd at %s: %w", c.base(), syscall.ECONNREFUSED)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach bmcd at %s: %w", c.base(), ue.Err)
	}
	return fmt.Errorf("cannot reach bmcd at %s: %w", c.base(), err)
}
