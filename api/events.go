package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/turingpi-oss/bmcd/api/apitype"
	"github.com/turingpi-oss/bmcd/bmc"
)

// events streams board events as Server-Sent Events. A client that
// reconnects with Last-Event-ID gets the events it missed, as far as the
// board remembers them. A client too slow to keep up is told so with a
// "lagged" event and disconnected, so that it reconnects.
//
// A browser's EventSource sends Last-Event-ID only on its own retries,
// which reuse the URL and so a ticket already spent; a page that opens a
// new stream with a new ticket passes the last ID as ?last_event_id=.
func (s *Server) events(c *echo.Context) error {
	var after uint64
	id := c.Request().Header.Get("Last-Event-ID")
	if id == "" {
		id = c.QueryParam("last_event_id")
	}
	if id != "" {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return newError(http.StatusBadRequest, apitype.CodeBadRequest, fmt.Sprintf("invalid Last-Event-ID %q", id))
		}
		after = n
	}
	sub := s.board.Subscribe(after)
	defer sub.Close()

	w := c.Response()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := fmt.Fprint(w, ": bmcd events\n\n"); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}

	ping := time.NewTicker(s.cfg.KeepAlive)
	defer ping.Stop()
	ctx := c.Request().Context()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-ping.C:
			_, err = fmt.Fprint(w, ": ping\n\n")
		case e, ok := <-sub.C:
			if !ok {
				if sub.Lagged() {
					_, _ = fmt.Fprint(w, "event: lagged\ndata: {}\n\n")
					_ = rc.Flush()
				}
				return nil
			}
			var data []byte
			data, err = json.Marshal(eventFromBMC(e))
			if err == nil {
				_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			}
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return nil // the client went away
		}
	}
}

func eventFromBMC(e bmc.Event) apitype.Event {
	out := apitype.Event{ID: e.ID, Time: e.Time.UTC(), Type: string(e.Type)}
	if e.Job != nil {
		j := jobFromBMC(*e.Job)
		out.Job = &j
	} else {
		st := slotFromStatus(e.Slot)
		out.Slot = &st
	}
	return out
}
