package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// Client talks to one bmcd. Its zero value is not usable: set BaseURL,
// or use New. A Client is safe for concurrent use once set up, except
// that Login sets Token.
type Client struct {
	// BaseURL is the daemon's address, e.g. "http://127.0.0.1:8080",
	// without a trailing slash.
	BaseURL string
	// Token is the bearer token from Login; empty before login.
	Token string
	// HTTPClient sends the requests; nil means http.DefaultClient. Its
	// Timeout, if any, also cuts the event stream short: prefer
	// deadlines on the context.
	HTTPClient *http.Client
	// UserAgent is sent with every request when not empty.
	UserAgent string
}

// Option configures a Client made by New.
type Option func(*Client)

// WithToken sets the bearer token, e.g. one cached from an earlier Login.
func WithToken(token string) Option { return func(c *Client) { c.Token = token } }

// WithHTTPClient sets the HTTP client requests are sent with.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.HTTPClient = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.UserAgent = ua } }

// New returns a client of the bmcd at baseURL ("http://host:port").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{BaseURL: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *Client) base() string { return strings.TrimRight(c.BaseURL, "/") }

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// newRequest builds a request to path (starting with "/").
func (c *Client) newRequest(ctx context.Context, op, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return req, nil
}

// send adds the token and sends req. A 2xx answer is returned for the
// caller to read and close; anything else becomes an *APIError, and no
// answer at all an error naming the daemon's address.
func (c *Client) send(op string, req *http.Request) (*http.Response, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, c.transportError(req.Context(), op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, apiError(resp)
}

// do sends in (if not nil) as JSON and decodes a JSON answer into out
// (if not nil). op names the operation in errors that are not bmcd's.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", op, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := c.newRequest(ctx, op, method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.send(op, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return c.transportError(ctx, op, ctx.Err())
		}
		return fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return nil
}

func slotPath(n int) string { return "/api/v1/slots/" + strconv.Itoa(n) }

// Login exchanges a user name and password for a token, which it also
// keeps in c.Token. Wrong credentials give an *APIError with status 401,
// too many failures one with status 429.
func (c *Client) Login(ctx context.Context, user, password string) (apitype.LoginResponse, error) {
	var lr apitype.LoginResponse
	err := c.do(ctx, "log in", http.MethodPost, "/api/v1/auth/login", apitype.LoginRequest{Username: user, Password: password}, &lr)
	if err != nil {
		return apitype.LoginResponse{}, err
	}
	c.Token = lr.Token
	return lr, nil
}

// Logout revokes c.Token on bmcd (POST /api/v1/auth/logout) and clears
// it. A token bmcd no longer accepts gives an *APIError with status 401
// (IsUnauthorized); a bmcd without the endpoint one with status 404.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.do(ctx, "log out", http.MethodPost, "/api/v1/auth/logout", nil, nil); err != nil {
		return err
	}
	c.Token = ""
	return nil
}

// Ticket asks for a single-use ticket standing for c.Token's session
// (POST /api/v1/auth/ticket), for a client that cannot send headers on a
// stream: bmcd accepts it once, within ExpiresInS seconds, as the ticket
// query parameter of the event stream or the console WebSocket.
func (c *Client) Ticket(ctx context.Context) (apitype.TicketResponse, error) {
	var tr apitype.TicketResponse
	return tr, c.do(ctx, "get a ticket", http.MethodPost, "/api/v1/auth/ticket", nil, &tr)
}

// Health checks that the daemon answers; it needs no token.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, "health check", http.MethodGet, "/healthz", nil, nil)
}

// Board describes the board.
func (c *Client) Board(ctx context.Context) (apitype.BoardInfo, error) {
	var b apitype.BoardInfo
	return b, c.do(ctx, "get board", http.MethodGet, "/api/v1/board", nil, &b)
}

// Slots lists every slot.
func (c *Client) Slots(ctx context.Context) ([]apitype.Slot, error) {
	var s []apitype.Slot
	return s, c.do(ctx, "list slots", http.MethodGet, "/api/v1/slots", nil, &s)
}

// Slot returns slot n.
func (c *Client) Slot(ctx context.Context, n int) (apitype.Slot, error) {
	var s apitype.Slot
	return s, c.do(ctx, fmt.Sprintf("get slot %d", n), http.MethodGet, slotPath(n), nil, &s)
}

// Power runs a power action on slot n and returns the slot as measured
// after the action.
func (c *Client) Power(ctx context.Context, n int, req apitype.PowerRequest) (apitype.Slot, error) {
	var s apitype.Slot
	return s, c.do(ctx, fmt.Sprintf("power %s slot %d", req.Action, n), http.MethodPost, slotPath(n)+"/power", req, &s)
}

// PowerAll runs a power action on every slot and returns them all as
// measured after; bmcd staggers "on" to limit the inrush current.
func (c *Client) PowerAll(ctx context.Context, req apitype.PowerRequest) ([]apitype.Slot, error) {
	var s []apitype.Slot
	return s, c.do(ctx, fmt.Sprintf("power %s all slots", req.Action), http.MethodPost, "/api/v1/power", req, &s)
}

// PatchSlot changes slot n's name, module or policy; nil fields of p are
// left as they are.
func (c *Client) PatchSlot(ctx context.Context, n int, p apitype.SlotPatch) (apitype.Slot, error) {
	var s apitype.Slot
	return s, c.do(ctx, fmt.Sprintf("update slot %d", n), http.MethodPatch, slotPath(n), p, &s)
}

// Jobs lists flash jobs, newest first.
func (c *Client) Jobs(ctx context.Context) ([]apitype.Job, error) {
	var j []apitype.Job
	return j, c.do(ctx, "list jobs", http.MethodGet, "/api/v1/jobs", nil, &j)
}

// Job returns one flash job.
func (c *Client) Job(ctx context.Context, id int64) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, fmt.Sprintf("get job %d", id), http.MethodGet, "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &j)
}

// CancelJob cancels a flash job and returns it.
func (c *Client) CancelJob(ctx context.Context, id int64) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, fmt.Sprintf("cancel job %d", id), http.MethodDelete, "/api/v1/jobs/"+strconv.FormatInt(id, 10), nil, &j)
}
