package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// maxLaggedReconnects bounds reconnections after falling behind, in a row
// without an event received in between.
const maxLaggedReconnects = 3

// callerError marks an error returned by the caller's function, which
// Events passes back as it is.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// Events follows GET /api/v1/events and calls fn for each event, in
// order, until ctx is done (it then returns nil), fn returns an error (it
// returns that error as it is), or the stream fails.
//
// When bmcd drops the stream because the client fell behind (a "lagged"
// message), Events reconnects with Last-Event-ID, so that bmcd replays
// the events missed, as far as it remembers them. When bmcd closes the
// stream, e.g. because it is shutting down, Events returns an error
// saying so.
func (c *Client) Events(ctx context.Context, fn func(apitype.Event) error) error {
	var last uint64
	for lagged := 0; ; lagged++ {
		err := c.events(ctx, last, func(e apitype.Event) error {
			last, lagged = e.ID, 0
			if err := fn(e); err != nil {
				return callerError{err}
			}
			return nil
		})
		var ce callerError
		switch {
		case errors.As(err, &ce):
			return ce.err
		case ctx.Err() != nil:
			return nil
		case err == nil:
			return fmt.Errorf("follow events: bmcd at %s closed the stream", c.base())
		case !errors.Is(err, errLagged):
			return err
		case lagged >= maxLaggedReconnects:
			return fmt.Errorf("follow events: %w", err)
		}
	}
}

// errLagged says bmcd dropped the stream because this client fell behind.
var errLagged = errors.New("bmcd dropped the event stream: this client keeps falling behind")

// events reads one connection of the stream, asking for the events after
// the ID after (0: only new ones). It returns nil when bmcd ends the stream.
func (c *Client) events(ctx context.Context, after uint64, fn func(apitype.Event) error) error {
	const op = "follow events"
	req, err := c.newRequest(ctx, op, http.MethodGet, "/api/v1/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(after, 10))
	}
	resp, err := c.send(op, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return fmt.Errorf("%s: the answer is %q, not an event stream", op, resp.Header.Get("Content-Type"))
	}
	err = ParseSSE(resp.Body, func(m Message) error {
		if m.Event == "lagged" {
			return errLagged
		}
		var e apitype.Event
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			return fmt.Errorf("decode event %q: %w", m.ID, err)
		}
		return fn(e)
	})
	var ce callerError
	if err == nil || errors.Is(err, errLagged) || errors.As(err, &ce) || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
