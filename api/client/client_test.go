package client

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// seen is one request as the test server received it.
type seen struct {
	method, path, auth, contentType, body string
}

// replay answers every request with status and body, and records it.
// The function returned gives the requests seen so far.
func replay(t *testing.T, status int, body string) (*Client, func() []seen) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL+"/", WithToken("tok"), WithHTTPClient(srv.Client()))
	return c, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), reqs...)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	h := &http.Client{}
	c := New("http://bmc:8080/", WithToken("t"), WithHTTPClient(h), WithUserAgent("ua/1"))
	assert.Equal(t, &Client{BaseURL: "http://bmc:8080", Token: "t", HTTPClient: h, UserAgent: "ua/1"}, c)
	assert.Same(t, http.DefaultClient, (&Client{}).httpClient())
}

func TestMethods(t *testing.T) {
	t.Parallel()
	on := true
	name, policy := "k3s", "always-on"
	slot3 := `{"slot":3,"name":"node3","power":"on","policy":"last-state","busy":false}`
	want3 := apitype.Slot{Slot: 3, Name: "node3", Power: "on", Policy: "last-state"}
	tests := []struct {
		name       string
		call       func(context.Context, *Client) (any, error)
		reply      string
		wantMethod string
		wantPath   string
		wantBody   string // JSON, "" for none
		want       any
	}{
		{
			name:       "board",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Board(ctx) },
			reply:      `{"profile":"sim","model":"Simulated","slots":4,"capabilities":["presence"],"version":"v1"}`,
			wantMethod: http.MethodGet, wantPath: "/api/v1/board",
			want: apitype.BoardInfo{Profile: "sim", Model: "Simulated", Slots: 4, Capabilities: []string{"presence"}, Version: "v1"},
		},
		{
			name:       "slots",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Slots(ctx) },
			reply:      `[` + slot3 + `,{"slot":4,"name":"","power":"off","present":true,"policy":"always-off","busy":true}]`,
			wantMethod: http.MethodGet, wantPath: "/api/v1/slots",
			want: []apitype.Slot{want3, {Slot: 4, Power: "off", Present: &on, Policy: "always-off", Busy: true}},
		},
		{
			name:       "slot",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Slot(ctx, 3) },
			reply:      slot3,
			wantMethod: http.MethodGet, wantPath: "/api/v1/slots/3",
			want: want3,
		},
		{
			name: "power one slot",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Power(ctx, 3, apitype.PowerRequest{Action: "on"})
			},
			reply:      slot3,
			wantMethod: http.MethodPost, wantPath: "/api/v1/slots/3/power", wantBody: `{"action":"on"}`,
			want: want3,
		},
		{
			name: "power with force",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Power(ctx, 1, apitype.PowerRequest{Action: "off", Force: true})
			},
			reply:      `{"slot":1,"name":"","power":"off","policy":"always-on","self":true,"busy":false}`,
			wantMethod: http.MethodPost, wantPath: "/api/v1/slots/1/power", wantBody: `{"action":"off","force":true}`,
			want: apitype.Slot{Slot: 1, Power: "off", Policy: "always-on", Self: true},
		},
		{
			name: "power all",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PowerAll(ctx, apitype.PowerRequest{Action: "cycle"})
			},
			reply:      `[` + slot3 + `]`,
			wantMethod: http.MethodPost, wantPath: "/api/v1/power", wantBody: `{"action":"cycle"}`,
			want: []apitype.Slot{want3},
		},
		{
			name: "patch slot",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PatchSlot(ctx, 3, apitype.SlotPatch{Name: &name, Policy: &policy})
			},
			reply:      slot3,
			wantMethod: http.MethodPatch, wantPath: "/api/v1/slots/3", wantBody: `{"name":"k3s","policy":"always-on"}`,
			want: want3,
		},
		{
			name:       "jobs",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Jobs(ctx) },
			reply:      `[{"id":2,"slot":1,"image":"a.img","state":"running","power_on":false,"progress":{"bytes_in":1,"bytes_written":1,"total":-1,"rate":0,"eta_seconds":0},"created":"2025-01-02T03:04:05Z"}]`,
			wantMethod: http.MethodGet, wantPath: "/api/v1/jobs",
			want: []apitype.Job{{ID: 2, Slot: 1, Image: "a.img", State: "running", Progress: apitype.JobProgress{BytesIn: 1, BytesWritten: 1, Total: -1}, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}},
		},
		{
			name:       "job",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Job(ctx, 2) },
			reply:      `{"id":2,"slot":1,"state":"succeeded"}`,
			wantMethod: http.MethodGet, wantPath: "/api/v1/jobs/2",
			want: apitype.Job{ID: 2, Slot: 1, State: "succeeded"},
		},
		{
			name:       "cancel job",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.CancelJob(ctx, 2) },
			reply:      `{"id":2,"slot":1,"state":"running"}`,
			wantMethod: http.MethodDelete, wantPath: "/api/v1/jobs/2",
			want: apitype.Job{ID: 2, Slot: 1, State: "running"},
		},
		{
			name:       "health",
			call:       func(ctx context.Context, c *Client) (any, error) { return nil, c.Health(ctx) },
			reply:      `{"status":"ok"}`,
			wantMethod: http.MethodGet, wantPath: "/healthz",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reqs := replay(t, http.StatusOK, tt.reply)
			got, err := tt.call(t.Context(), c)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			require.Len(t, reqs(), 1)
			r := reqs()[0]
			assert.Equal(t, tt.wantMethod, r.method)
			assert.Equal(t, tt.wantPath, r.path)
			assert.Equal(t, "Bearer tok", r.auth)
			if tt.wantBody == "" {
				assert.Empty(t, r.body)
				assert.Empty(t, r.contentType)
			} else {
				assert.JSONEq(t, tt.wantBody, r.body)
				assert.Equal(t, "application/json", r.contentType)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c, reqs := replay(t, http.StatusOK, `{"token":"new","expires_at":"2030-01-01T00:00:00Z"}`)
	c.Token = ""
	lr, err := c.Login(t.Context(), "admin", "pw")
	require.NoError(t, err)
	assert.Equal(t, apitype.LoginResponse{Token: "new", ExpiresAt: exp}, lr)
	assert.Equal(t, "new", c.Token, "the token is kept for the next requests")
	r := reqs()[0]
	assert.Equal(t, "/api/v1/auth/login", r.path)
	assert.Empty(t, r.auth, "no token is sent before there is one")
	assert.JSONEq(t, `{"username":"admin","password":"pw"}`, r.body)

	t.Run("wrong password keeps the old token", func(t *testing.T) {
		c, _ := replay(t, http.StatusUnauthorized, `{"error":{"code":"unauthorized","message":"invalid user name or password"}}`)
		_, err := c.Login(t.Context(), "admin", "bad")
		require.Error(t, err)
		assert.True(t, IsUnauthorized(err))
		assert.Equal(t, "invalid user name or password", err.Error())
		assert.Equal(t, "tok", c.Token)
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	c, reqs := replay(t, http.StatusNoContent, "")
	require.NoError(t, c.Logout(t.Context()))
	assert.Empty(t, c.Token, "a revoked token is not sent again")
	require.Len(t, reqs(), 1)
	r := reqs()[0]
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "/api/v1/auth/logout", r.path)
	assert.Equal(t, "Bearer tok", r.auth, "the token to revoke is the one sent")
	assert.Empty(t, r.body)

	t.Run("a refused token is an unauthorized error, and kept", func(t *testing.T) {
		c, _ := replay(t, http.StatusUnauthorized, `{"error":{"code":"unauthorized","message":"token is unknown or expired: log in again"}}`)
		err := c.Logout(t.Context())
		assert.True(t, IsUnauthorized(err), "%v", err)
		assert.Equal(t, "tok", c.Token)
	})
}

func TestTicket(t *testing.T) {
	t.Parallel()
	c, reqs := replay(t, http.StatusOK, `{"ticket":"tkt","expires_in_s":30}`)
	tr, err := c.Ticket(t.Context())
	require.NoError(t, err)
	assert.Equal(t, apitype.TicketResponse{Ticket: "tkt", ExpiresInS: 30}, tr)
	require.Len(t, reqs(), 1)
	r := reqs()[0]
	assert.Equal(t, http.MethodPost, r.method)
	assert.Equal(t, "/api/v1/auth/ticket", r.path)
	assert.Equal(t, "Bearer tok", r.auth)
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua = r.UserAgent()
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	require.NoError(t, New(srv.URL, WithUserAgent("bmcctl/1.0")).Health(t.Context()))
	assert.Equal(t, "bmcctl/1.0", ua)
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		want      APIError
		wantUnath bool
	}{
		{
			name: "no such slot", status: http.StatusNotFound,
			body: `{"error":{"code":"not_found","message":"slot 9: no such slot (board has slots 1-4)"}}`,
			want: APIError{Status: 404, Code: apitype.CodeNotFound, Message: "slot 9: no such slot (board has slots 1-4)"},
		},
		{
			name: "unauthorized", status: http.StatusUnauthorized,
			body:      `{"error":{"code":"unauthorized","message":"token is unknown or expired: log in again"}}`,
			want:      APIError{Status: 401, Code: apitype.CodeUnauthorized, Message: "token is unknown or expired: log in again"},
			wantUnath: true,
		},
		{
			name: "busy", status: http.StatusConflict,
			body: `{"error":{"code":"busy","message":"slot 2: busy"}}`,
			want: APIError{Status: 409, Code: apitype.CodeBusy, Message: "slot 2: busy"},
		},
		{
			name: "rate limited", status: http.StatusTooManyRequests,
			body: `{"error":{"code":"rate_limited","message":"too many failed logins: try again in 60s"}}`,
			want: APIError{Status: 429, Code: apitype.CodeRateLimited, Message: "too many failed logins: try again in 60s"},
		},
		{
			name: "code without message", status: http.StatusNotImplemented,
			body: `{"error":{"code":"not_supported"}}`,
			want: APIError{Status: 501, Code: apitype.CodeNotSupported, Message: "GET /api/v1/slots/9: bmcd answered 501 Not Implemented"},
		},
		{
			name: "HTML from a proxy", status: http.StatusBadGateway,
			body: `<html><body>Bad Gateway</body></html>`,
			want: APIError{Status: 502, Message: "GET /api/v1/slots/9: bmcd answered 502 Bad Gateway"},
		},
		{
			name: "other JSON", status: http.StatusNotFound,
			body: `{"message":"Not Found"}`,
			want: APIError{Status: 404, Message: "GET /api/v1/slots/9: bmcd answered 404 Not Found"},
		},
		{
			name: "empty 401 from a proxy", status: http.StatusUnauthorized,
			want:      APIError{Status: 401, Message: "GET /api/v1/slots/9: bmcd answered 401 Unauthorized"},
			wantUnath: true,
		},
		{
			name: "unknown status", status: 599,
			want: APIError{Status: 599, Message: "GET /api/v1/slots/9: bmcd answered status 599"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := replay(t, tt.status, tt.body)
			_, err := c.Slot(t.Context(), 9)
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, *ae)
			assert.Equal(t, tt.want.Message, err.Error(), "the message is shown as it is")
			assert.Equal(t, tt.wantUnath, IsUnauthorized(err))
		})
	}
	t.Run("empty message", func(t *testing.T) {
		assert.Equal(t, "bmcd answered 409 Conflict", (&APIError{Status: 409}).Error())
	})
	t.Run("not an API error", func(t *testing.T) {
		assert.False(t, IsUnauthorized(io.EOF))
		assert.False(t, IsUnauthorized(nil))
	})
}

func TestBadAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{name: "not JSON", body: "<html>", want: "get slot 3: decode answer: invalid character '<'"},
		{name: "empty", body: "", want: "get slot 3: decode answer: EOF"},
		{name: "wrong shape", body: "[1]", want: "get slot 3: decode answer: json: cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := replay(t, http.StatusOK, tt.body)
			_, err := c.Slot(t.Context(), 3)
			require.ErrorContains(t, err, tt.want)
			var ae *APIError
			assert.NotErrorAs(t, err, &ae)
		})
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = New(base).Slots(t.Context())
	require.Error(t, err)
	assert.Equal(t, "cannot reach bmcd at "+base+": connection refused", err.Error())
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	t.Run("bad address", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err := New("http://bmc.invalid").Board(ctx)
		require.ErrorContains(t, err, "cannot reach bmcd at http://bmc.invalid: ")
	})
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := New(srv.URL).Power(ctx, 2, apitype.PowerRequest{Action: "on"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "power on slot 2: no answer from bmcd at "+srv.URL+" in time: context deadline exceeded", err.Error())

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = New(srv.URL).Board(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "get board: context canceled", err.Error())
}

func TestRequestBodyIsJSON(t *testing.T) {
	t.Parallel()
	// The server decodes strictly: the client must not send fields the
	// wire types do not have, and must omit unset patch fields.
	c, reqs := replay(t, http.StatusOK, `{}`)
	_, err := c.PatchSlot(t.Context(), 1, apitype.SlotPatch{})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(reqs()[0].body), &m))
	assert.Empty(t, m)
	assert.False(t, strings.Contains(reqs()[0].body, "null"))
}
