package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/api/auth"
	"github.com/turingpi-oss/bmcd/bmc"
	"github.com/turingpi-oss/bmcd/bmc/console"
)

// Console session timing.
const (
	consolePingInterval = 15 * time.Second
	// consoleReadLimit bounds one frame from a client (keystrokes, a
	// pasted file).
	consoleReadLimit = 64 << 10
)

// console returns the console of the slot named in the path: 404 for a
// slot the board does not have, 501 for one without a console.
func (s *Server) console(c *echo.Context) (*console.Console, error) {
	slot, err := slotParam(c)
	if err != nil {
		return nil, err
	}
	return s.board.Console(slot)
}

// consoleLog answers GET /slots/{n}/console/log?tail=BYTES.
func (s *Server) consoleLog(c *echo.Context) error {
	con, err := s.console(c)
	if err != nil {
		return err
	}
	tail, err := intQuery(c, "tail", 0)
	if err != nil {
		return err
	}
	if tail < 0 {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("tail %d: want a number of bytes, 0 or more (0: all)", tail))
	}
	return c.Blob(http.StatusOK, "application/octet-stream", con.History(tail))
}

// patchConsole answers PATCH /slots/{n}/console.
func (s *Server) patchConsole(c *echo.Context) error {
	con, err := s.console(c)
	if err != nil {
		return err
	}
	var req apitype.ConsoleMode
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if _, err := con.SetMode(console.Mode{Baud: req.Baud, DataBits: req.DataBits, Parity: req.Parity, StopBits: req.StopBits}); err != nil {
		return newError(http.StatusBadRequest, apitype.CodeBadRequest, err.Error())
	}
	return c.JSON(http.StatusOK, s.consoleState(c.Request().Context(), con))
}

// consoleEndpoint answers GET /slots/{n}/console: the state, or with an
// Upgrade header a WebSocket session.
func (s *Server) consoleEndpoint(c *echo.Context) error {
	con, err := s.console(c)
	if err != nil {
		return err
	}
	r := c.Request()
	if !isWebSocket(r) {
		return c.JSON(http.StatusOK, s.consoleState(r.Context(), con))
	}
	history, err := intQuery(c, "history", -1)
	if err != nil {
		return err
	}
	readOnly := r.URL.Query().Get("readonly")
	writable := readOnly == "" || readOnly == "0" || readOnly == "false"
	if sess, ok := c.Get(sessionKey).(auth.Session); ok && sess.Role != "admin" {
		writable = false
	}
	// Browsers send Origin: cross-origin requests are refused, so another
	// site cannot drive a console with a token it got hold of through the
	// page. websocket.Accept checks the same, but answers in plain text.
	if err := checkOrigin(r); err != nil {
		return err
	}
	ws, err := websocket.Accept(c.Response(), r, nil)
	if err != nil {
		// Accept has answered the client already.
		s.log.Debug("api: console: upgrade failed", "slot", con.Slot(), "err", err)
		return nil
	}
	s.serveConsole(r.Context(), ws, con, history, writable)
	return nil
}

// serveConsole runs one WebSocket session until either side ends it.
func (s *Server) serveConsole(reqCtx context.Context, ws *websocket.Conn, con *console.Console, history int, writable bool) {
	ws.SetReadLimit(consoleReadLimit)
	// Cancelling a Read's context closes the connection without a close
	// frame (coder/websocket), so frames are read under reqCtx and the
	// session's end is told with Close; ctx ends everything else.
	ctx, cancel := context.WithCancel(reqCtx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	log := s.log.With("slot", con.Slot(), "device", con.Device())
	log.Info("api: console attached", "writable", writable)

	// Attached before the hello, so that nothing written after the
	// client saw it is lost.
	client := con.Attach(history)
	defer client.Close()
	st := con.Status()
	mode := consoleMode(st.Mode)
	power := s.slotPower(ctx, st.Slot)
	if err := s.writeMessage(ctx, ws, apitype.ConsoleMessage{Type: apitype.ConsoleHello, Slot: st.Slot, Device: st.Device, Writable: writable, Mode: &mode, Power: power}); err != nil {
		return
	}
	if power == bmc.PowerOff.String() {
		_ = s.writeMessage(ctx, ws, apitype.ConsoleMessage{Type: apitype.ConsoleNotice,
			Message: fmt.Sprintf("slot %d is off: nothing answers until it is switched on", st.Slot)})
	}
	if !st.Open {
		_ = s.writeMessage(ctx, ws, apitype.ConsoleMessage{Type: apitype.ConsoleNotice,
			Message: fmt.Sprintf("%s is not open (%s); output appears once it is", st.Device, st.Err)})
	}

	// closeWith ends the session once, with the first reason given.
	var reason struct {
		once sync.Once
		code websocket.StatusCode
		text string
	}
	closeWith := func(code websocket.StatusCode, text string) {
		reason.once.Do(func() {
			reason.code, reason.text = code, text
			cancel()
		})
	}

	wg.Add(2)
	go func() { // client → UART
		defer wg.Done()
		for {
			typ, data, err := ws.Read(reqCtx)
			if err != nil {
				closeWith(websocket.StatusNormalClosure, readEndReason(err))
				return
			}
			if typ != websocket.MessageBinary || len(data) == 0 {
				continue
			}
			if !writable {
				closeWith(apitype.ConsoleCloseReadOnly, "read-only session")
				return
			}
			if _, err := con.Write(ctx, data); err != nil && ctx.Err() == nil {
				_ = s.writeMessage(ctx, ws, apitype.ConsoleMessage{Type: apitype.ConsoleNotice, Message: "not sent: " + err.Error()})
			}
		}
	}()
	go func() { // keep-alive; a peer that stops answering is dropped
		defer wg.Done()
		t := time.NewTicker(consolePingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, s.cfg.ConsoleWriteTimeout)
				err := ws.Ping(pctx)
				pcancel()
				if err != nil && ctx.Err() == nil {
					closeWith(apitype.ConsoleCloseSlow, "no answer to ping")
					return
				}
			}
		}
	}()

	// UART → client.
	for {
		chunk, err := client.Next(ctx)
		if errors.Is(err, console.ErrClosed) {
			closeWith(apitype.ConsoleCloseGone, "console closed: bmcd is stopping")
			break
		}
		if err != nil {
			closeWith(websocket.StatusNormalClosure, "request ended")
			break
		}
		if chunk.Missed > 0 {
			if err := s.writeMessage(ctx, ws, apitype.ConsoleMessage{Type: apitype.ConsoleMissed, Bytes: chunk.Missed}); err != nil {
				closeWith(apitype.ConsoleCloseSlow, "client too slow")
				break
			}
		}
		if len(chunk.Data) > 0 {
			wctx, wcancel := context.WithTimeout(ctx, s.cfg.ConsoleWriteTimeout)
			err := ws.Write(wctx, websocket.MessageBinary, chunk.Data)
			wcancel()
			if err != nil {
				closeWith(apitype.ConsoleCloseSlow, "client too slow")
				break
			}
		}
	}
	log.Info("api: console detached", "reason", reason.text)
	// A blocked peer must not hold the handler: the close handshake has
	// its own 5 s bound in coder/websocket.
	_ = ws.Close(reason.code, reason.text)
}

// readEndReason says why reading a client's frames ended.
func readEndReason(err error) string {
	switch code := websocket.CloseStatus(err); code {
	case -1:
		return "connection lost"
	case websocket.StatusMessageTooBig:
		return fmt.Sprintf("client sent a frame over %d bytes", consoleReadLimit)
	default:
		return fmt.Sprintf("client closed the session (%d)", code)
	}
}

// checkOrigin refuses a WebSocket opened by a page that bmcd did not
// serve, by the rule websocket.Accept applies: the Origin's host is the
// request's Host. Clients that are not browsers send no Origin.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	return newError(http.StatusForbidden, apitype.CodeForbidden,
		fmt.Sprintf("WebSocket from origin %q refused: only pages served by this bmcd (%s) may open one", origin, r.Host))
}

// slotPower is the slot's measured power, as the API names it.
func (s *Server) slotPower(ctx context.Context, slot int) string {
	st, err := s.board.Slot(ctx, slot)
	if err != nil {
		return bmc.PowerUnknown.String()
	}
	return st.Power.String()
}

// writeMessage sends a text frame, bounded by ConsoleWriteTimeout.
func (s *Server) writeMessage(ctx context.Context, ws *websocket.Conn, m apitype.ConsoleMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConsoleWriteTimeout)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}

// intQuery parses an optional integer query parameter.
func intQuery(c *echo.Context, name string, def int) (int, error) {
	raw := c.Request().URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("%s %q: want a number of bytes", name, raw))
	}
	return n, nil
}

func consoleMode(m console.Mode) apitype.ConsoleMode {
	return apitype.ConsoleMode{Baud: m.Baud, DataBits: m.DataBits, Parity: m.Parity, StopBits: m.StopBits}
}

func (s *Server) consoleState(ctx context.Context, con *console.Console) apitype.ConsoleState {
	st := con.Status()
	return apitype.ConsoleState{
		Slot:      st.Slot,
		Power:     s.slotPower(ctx, st.Slot),
		Device:    st.Device,
		Mode:      consoleMode(st.Mode),
		Open:      st.Open,
		Error:     st.Err,
		Reopens:   st.Reopens,
		BytesRead: st.BytesRead,
		Buffered:  st.Buffered,
		Clients:   st.Clients,
	}
}
