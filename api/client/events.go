package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/turingpi-oss/bmcd/api"
)

// Message is one Server-Sent Events message.
type Message struct {
	ID    string
	Event string
	Data  string
}

// maxSSELine bounds one line of the stream.
const maxSSELine = 1 << 20

// ParseSSE reads a text/event-stream and calls fn for each message, as
// the WHATWG EventSource rules say: fields "id", "event", "data" (joined
// with newlines when repeated), comment lines starting with ':' ignored,
// LF, CR or CRLF line ends, a message dispatched at a blank line and only
// if it has data. It returns fn's error, or the reader's (nil at EOF).
func ParseSSE(r io.Reader, fn func(Message) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	sc.Split(scanLinesAnyEnding)
	var msg Message
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				msg.Data = strings.Join(data, "\n")
				if err := fn(msg); err != nil {
					return err
				}
			}
			msg.Event, msg.Data, data = "", "", nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			if !strings.ContainsRune(value, 0) {
				msg.ID = value
			}
		case "event":
			msg.Event = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}

// scanLinesAnyEnding splits at LF, CR or CRLF.
func scanLinesAnyEnding(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // need the next byte to tell CR from CRLF
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Events follows the event stream and calls fn for each event until ctx
// is done, fn returns an error, or the stream ends. A "lagged" message
// (the server dropped this client for falling behind) ends it with an error.
func (c *Client) Events(ctx context.Context, fn func(api.Event) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/api/v1/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = ParseSSE(resp.Body, func(m Message) error {
		if m.Event == "lagged" {
			return fmt.Errorf("event stream: bmcd dropped this client for falling behind")
		}
		var e api.Event
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			return fmt.Errorf("event %s: %w", m.ID, err)
		}
		return fn(e)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
