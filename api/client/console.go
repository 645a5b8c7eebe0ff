package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// consoleReadLimit bounds one frame from bmcd. bmcd sends output in
// frames of a few KiB; the bound only stops a broken peer.
const consoleReadLimit = 1 << 20

// maxConsoleLog bounds the history read by ConsoleLog: far more than bmcd
// keeps, so only a broken peer reaches it.
const maxConsoleLog = 256 << 20

// ConsoleLog returns the last tail bytes of slot's console history (tail
// <= 0: all that bmcd keeps), as raw bytes.
func (c *Client) ConsoleLog(ctx context.Context, slot int, tail int64) ([]byte, error) {
	op := fmt.Sprintf("get slot %d console log", slot)
	path := slotPath(slot) + "/console/log"
	if tail > 0 {
		path += "?tail=" + strconv.FormatInt(tail, 10)
	}
	req, err := c.newRequest(ctx, op, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/octet-stream")
	resp, err := c.send(op, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxConsoleLog))
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.transportError(ctx, op, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return data, nil
}

// ConsoleState describes slot's console: device, line settings, whether
// the port is open, how much history is kept, how many are attached.
func (c *Client) ConsoleState(ctx context.Context, slot int) (apitype.ConsoleState, error) {
	var s apitype.ConsoleState
	return s, c.do(ctx, fmt.Sprintf("get slot %d console", slot), http.MethodGet, slotPath(slot)+"/console", nil, &s)
}

// SetConsoleMode changes slot's line settings; zero fields of m are left
// as they are. It returns the console as it is after the change.
func (c *Client) SetConsoleMode(ctx context.Context, slot int, m apitype.ConsoleMode) (apitype.ConsoleState, error) {
	var s apitype.ConsoleState
	return s, c.do(ctx, fmt.Sprintf("set slot %d console mode", slot), http.MethodPatch, slotPath(slot)+"/console", m, &s)
}

// ConsoleOptions are the options of a console session.
type ConsoleOptions struct {
	// History is how many bytes of history bmcd sends before live output:
	// -1 for all it keeps, 0 for none.
	History int64
	// ReadOnly asks for a session that only watches. bmcd ends a
	// read-only session that writes (see ConsoleClosedError).
	ReadOnly bool
}

// ConsoleFrame is one frame from a console session: output, or a message.
type ConsoleFrame struct {
	// Data is console output (a binary frame), as the UART gave it; nil
	// for a message.
	Data []byte
	// Message is a text frame (apitype.ConsoleMissed, apitype.ConsoleNotice, or a
	// type this client does not know); nil for output.
	Message *apitype.ConsoleMessage
}

// ConsoleClosedError is bmcd ending a console session with a status other
// than a normal closure. Code is apitype.ConsoleCloseReadOnly,
// apitype.ConsoleCloseSlow, apitype.ConsoleCloseGone or a standard WebSocket
// status.
type ConsoleClosedError struct {
	Code   int
	Reason string
}

// Error says why the session ended, in words.
func (e *ConsoleClosedError) Error() string {
	switch e.Code {
	case apitype.ConsoleCloseReadOnly:
		return "console: session is read-only"
	case apitype.ConsoleCloseSlow:
		return "console: dropped: client too slow"
	case apitype.ConsoleCloseGone:
		return "console: bmcd is shutting down"
	case int(websocket.StatusGoingAway):
		return "console: bmcd went away"
	}
	msg := "console: closed by bmcd with status " + strconv.Itoa(e.Code)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// ConsoleConn is a console session: a WebSocket to bmcd that carries the
// UART's output one way and keystrokes the other. One goroutine may Read
// while another Writes; Close may be called from any goroutine.
type ConsoleConn struct {
	ws    *websocket.Conn
	hello apitype.ConsoleMessage
	base  string
	slot  int

	mu  sync.Mutex
	end error // the first error that ended the session, returned again
}

// DialConsole opens a console session on slot and reads bmcd's "hello".
// ctx bounds the handshake only. An answer other than the upgrade (no
// such slot, no token, no console on this board) is an *APIError, as
// from the other calls.
func (c *Client) DialConsole(ctx context.Context, slot int, opts ConsoleOptions) (*ConsoleConn, error) {
	op := fmt.Sprintf("attach to slot %d console", slot)
	u, err := url.Parse(c.base() + slotPath(slot) + "/console")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("%s: base URL %q: want http or https", op, c.base())
	}
	q := url.Values{}
	if opts.History >= 0 {
		q.Set("history", strconv.FormatInt(opts.History, 10))
	}
	if opts.ReadOnly {
		q.Set("readonly", "1")
	}
	u.RawQuery = q.Encode()

	h := http.Header{}
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		h.Set("User-Agent", c.UserAgent)
	}
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: c.httpClient(),
		HTTPHeader: h,
		// Console output is mostly small frames of text: compression
		// would cost the BMC's CPU for little.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			// The library kept the start of the body for us.
			if resp.Body == nil {
				resp.Body = http.NoBody
			}
			return nil, apiError(resp)
		}
		if resp == nil {
			return nil, c.transportError(ctx, op, err)
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ws.SetReadLimit(consoleReadLimit)
	cc := &ConsoleConn{ws: ws, base: c.base(), slot: slot}

	typ, data, err := ws.Read(ctx)
	if err != nil {
		_ = ws.CloseNow()
		if ctx.Err() != nil {
			return nil, c.transportError(ctx, op, ctx.Err())
		}
		if err = cc.readError(err); err == io.EOF {
			err = fmt.Errorf("%s: bmcd closed the session before saying hello", op)
		}
		return nil, err
	}
	if typ != websocket.MessageText || json.Unmarshal(data, &cc.hello) != nil || cc.hello.Type != apitype.ConsoleHello {
		_ = ws.Close(websocket.StatusProtocolError, "expected hello")
		return nil, fmt.Errorf("%s: bmcd did not start with a hello message", op)
	}
	return cc, nil
}

// Hello returns the first message of the session: slot, device, line
// settings and whether this session may write.
func (cc *ConsoleConn) Hello() apitype.ConsoleMessage { return cc.hello }

// Read returns the next frame: output bytes or a message. A normal
// closure by bmcd is io.EOF; any other closure is a *ConsoleClosedError
// that says why. Canceling ctx ends the session (the connection is
// closed), so pass a context that lives as long as the session.
func (cc *ConsoleConn) Read(ctx context.Context) (ConsoleFrame, error) {
	if err := cc.ended(); err != nil {
		return ConsoleFrame{}, err
	}
	for {
		typ, data, err := cc.ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ConsoleFrame{}, cc.setEnd(fmt.Errorf("console: %w", ctx.Err()))
			}
			return ConsoleFrame{}, cc.readError(err)
		}
		if typ == websocket.MessageBinary {
			return ConsoleFrame{Data: data}, nil
		}
		var m apitype.ConsoleMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue // not a message of this protocol: skip it, as bmcd skips ours
		}
		return ConsoleFrame{Message: &m}, nil
	}
}

// Write sends p to the UART as one binary frame. It returns once the
// frame is handed to the network. On a read-only session bmcd answers a
// write by ending the session, which the next Read reports.
func (cc *ConsoleConn) Write(ctx context.Context, p []byte) error {
	if err := cc.ended(); err != nil {
		return err
	}
	if err := cc.ws.Write(ctx, websocket.MessageBinary, p); err != nil {
		if ctx.Err() != nil {
			return cc.setEnd(fmt.Errorf("console: %w", ctx.Err()))
		}
		return cc.readError(err)
	}
	return nil
}

// Close ends the session with a normal closure; when it returns nil,
// bmcd has received every frame written before. If bmcd answers the
// closure with another status (e.g. a frame was too big), Close returns
// it as a *ConsoleClosedError. It may be called more than once.
func (cc *ConsoleConn) Close() error {
	cc.setEnd(fmt.Errorf("console: %w", net.ErrClosed))
	err := cc.ws.Close(websocket.StatusNormalClosure, "")
	var ce websocket.CloseError
	switch {
	case err == nil || errors.Is(err, net.ErrClosed):
		return nil
	case errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure:
		return nil
	case errors.As(err, &ce):
		return &ConsoleClosedError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("console: close: %w", err)
}

func (cc *ConsoleConn) ended() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.end
}

// setEnd records err as what ended the session, unless something did
// already, and returns what did.
func (cc *ConsoleConn) setEnd(err error) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.end == nil {
		cc.end = err
	}
	return cc.end
}

// readError turns an error of the WebSocket into the session's end.
func (cc *ConsoleConn) readError(err error) error {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure:
		return cc.setEnd(io.EOF)
	case errors.As(err, &ce):
		return cc.setEnd(&ConsoleClosedError{Code: int(ce.Code), Reason: ce.Reason})
	case errors.Is(err, net.ErrClosed):
		return cc.setEnd(fmt.Errorf("console: %w", net.ErrClosed))
	}
	// The cause is shown, not wrapped: it is often io.EOF, which must
	// not read as a normal end.
	return cc.setEnd(fmt.Errorf("console: connection to bmcd at %s lost: %s", cc.base, trimWSPrefix(err.Error())))
}

// trimWSPrefix drops the library's "failed to ..." layers a person has
// no use for, keeping the cause.
func trimWSPrefix(s string) string {
	for _, p := range []string{"failed to get reader: ", "failed to read frame header: ", "failed to write msg: ", "failed to write frame: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}
