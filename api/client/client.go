package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"syscall"

	"github.com/turingpi-oss/bmcd/api"
)

// Client talks to one bmcd.
type Client struct {
	// BaseURL is the daemon's address, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Token is the bearer token from Login; empty before login.
	Token string
	// HTTP is the HTTP client; nil means http.DefaultClient.
	HTTP *http.Client
}

// APIError is an error answered by bmcd.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Message }

// IsUnauthorized reports whether err is bmcd refusing the token.
func IsUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := jsonDecode(resp.Body, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send adds the token, sends req and turns a non-2xx answer into *APIError.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("cannot reach bmcd at %s: connection refused", c.BaseURL)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("cannot reach bmcd at %s: %w", c.BaseURL, ue.Err)
		}
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var eb api.ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
		return nil, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	return nil, &APIError{Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, resp.Status)}
}

// Login exchanges a user name and password for a token, which it also
// keeps in c.Token.
func (c *Client) Login(ctx context.Context, user, password string) (api.LoginResponse, error) {
	var lr api.LoginResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/auth/login", api.LoginRequest{Username: user, Password: password}, &lr)
	if err == nil {
		c.Token = lr.Token
	}
	return lr, err
}

// Health checks the daemon answers; it needs no token.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil)
}

// Board describes the board.
func (c *Client) Board(ctx context.Context) (api.BoardInfo, error) {
	var b api.BoardInfo
	return b, c.do(ctx, http.MethodGet, "/api/v1/board", nil, &b)
}

// Slots lists every slot.
func (c *Client) Slots(ctx context.Context) ([]api.Slot, error) {
	var s []api.Slot
	return s, c.do(ctx, http.MethodGet, "/api/v1/slots", nil, &s)
}

// Slot returns one slot.
func (c *Client) Slot(ctx context.Context, n int) (api.Slot, error) {
	var s api.Slot
	return s, c.do(ctx, http.MethodGet, "/api/v1/slots/"+strconv.Itoa(n), nil, &s)
}

// Power runs a power action on one slot and returns it as measured after.
func (c *Client) Power(ctx context.Context, n int, req api.PowerRequest) (api.Slot, error) {
	var s api.Slot
	return s, c.do(ctx, http.MethodPost, "/api/v1/slots/"+strconv.Itoa(n)+"/power", req, &s)
}

// PowerAll runs a power action on every slot.
func (c *Client) PowerAll(ctx context.Context, req api.PowerRequest) ([]api.Slot, error) {
	var s []api.Slot
	return s, c.do(ctx, http.MethodPost, "/api/v1/power", req, &s)
}

// PatchSlot changes a slot's name, module or policy.
func (c *Client) PatchSlot(ctx context.Context, n int, p api.SlotPatch) (api.Slot, error) {
	var s api.Slot
	return s, c.do(ctx, http.MethodPatch, "/api/v1/slots/"+strconv.Itoa(n), p, &s)
}

// Jobs lists flash jobs, newest first.
func (c *Client) Jobs(ctx context.Context) ([]api.Job, error) {
	var j []api.Job
	return j, c.do(ctx, http.MethodGet, "/api/v1/jobs", nil, &j)
}

// Job returns one flash job.
func (c *Client) Job(ctx context.Context, id int64) (api.Job, error) {
	var j api.Job
	return j, c.do(ctx, http.MethodGet, "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &j)
}

// CancelJob cancels a flash job.
func (c *Client) CancelJob(ctx context.Context, id int64) (api.Job, error) {
	var j api.Job
	return j, c.do(ctx, http.MethodDelete, "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &j)
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
