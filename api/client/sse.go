package client

import (
	"bufio"
	"io"
	"strings"
)

// Message is one Server-Sent Events message.
type Message struct {
	// ID is the last "id" field seen, which carries over to later
	// messages as the WHATWG rules say.
	ID string
	// Event is the "event" field; "" means the default type, "message".
	Event string
	// Data is the "data" fields, joined with "\n".
	Data string
}

// maxSSELine bounds one line of the stream; a longer line is an error.
const maxSSELine = 1 << 20

// ParseSSE reads a text/event-stream and calls fn for each message, as
// the WHATWG EventSource rules say: fields "id", "event" and "data"
// (joined with newlines when repeated), one optional space after the
// colon, comment lines starting with ':' ignored, unknown fields ignored,
// LF, CR or CRLF line ends, a leading byte-order mark skipped, and a message dispatched at a blank line and
// only if it has data. An id containing NUL is ignored. A message cut off
// by the end of the stream is not dispatched.
//
// It returns fn's error, or the reader's (nil at EOF); a line longer
// than 1 MiB is bufio.ErrTooLong.
func ParseSSE(r io.Reader, fn func(Message) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	sc.Split(scanLinesAnyEnding)
	var (
		id, event string
		data      []string
		hasData   bool
	)
	for first := true; sc.Scan(); first = false {
		line := sc.Text()
		if first {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte-order mark may start the stream
		}
		if line == "" {
			if hasData {
				if err := fn(Message{ID: id, Event: event, Data: strings.Join(data, "\n")}); err != nil {
					return err
				}
			}
			event, data, hasData = "", data[:0], false
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
				id = value
			}
		case "event":
			event = value
		case "data":
			data = append(data, value)
			hasData = true
		}
	}
	return sc.Err()
}

// scanLinesAnyEnding is a bufio.SplitFunc splitting at LF, CR or CRLF.
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
