package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// streamServer serves one scripted stream per connection, numbered from
// 0, and records each connection's Last-Event-ID header. A script that
// returns true holds the stream open until the client goes.
type streamServer struct {
	mu     sync.Mutex
	conns  int
	lastID []string
}

func (s *streamServer) start(t *testing.T, script func(w io.Writer, conn int) (hold bool)) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":"unauthorized","message":"token is unknown or expired: log in again"}}`)
			return
		}
		s.mu.Lock()
		conn := s.conns
		s.conns++
		s.lastID = append(s.lastID, r.Header.Get("Last-Event-ID"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		if script(w, conn) {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	return New(srv.URL, WithToken("tok"))
}

func (s *streamServer) lastIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastID...)
}

func powerEvent(id uint64, slot int, power string) string {
	return fmt.Sprintf("id: %d\nevent: power\ndata: {\"id\":%d,\"time\":\"2025-01-02T03:04:05Z\",\"type\":\"power\",\"slot\":{\"slot\":%d,\"name\":\"\",\"power\":%q,\"policy\":\"last-state\",\"busy\":false}}\n\n", id, id, slot, power)
}

func TestEvents(t *testing.T) {
	t.Parallel()
	var s streamServer
	c := s.start(t, func(w io.Writer, _ int) bool {
		_, _ = io.WriteString(w, ": bmcd events\n\n"+powerEvent(1, 3, "on")+": ping\n\n")
		// The same event with CRLF line ends and its data split in two.
		_, _ = io.WriteString(w, "id: 2\r\nevent: power\r\ndata: {\"id\":2,\"type\":\"power\",\r\ndata: \"slot\":{\"slot\":4,\"power\":\"off\"}}\r\n\r\n")
		return true
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []apitype.Event
	err := c.Events(ctx, func(e apitype.Event) error {
		got = append(got, e)
		if len(got) == 2 {
			cancel()
		}
		return nil
	})
	require.NoError(t, err, "a cancelled context ends the stream without error")
	require.Len(t, got, 2)
	assert.Equal(t, apitype.Event{ID: 1, Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Type: "power", Slot: &apitype.Slot{Slot: 3, Power: "on", Policy: "last-state"}}, got[0])
	assert.Equal(t, apitype.Event{ID: 2, Type: "power", Slot: &apitype.Slot{Slot: 4, Power: "off"}}, got[1])
}

func TestEventsEnd(t *testing.T) {
	t.Parallel()
	stop := errors.New("enough")
	tests := []struct {
		name    string
		script  string
		fn      func(apitype.Event) error
		wantErr string
		wantIs  error
	}{
		{
			name:    "server closes the stream",
			script:  powerEvent(1, 1, "on"),
			wantErr: "follow events: bmcd at %s closed the stream",
		},
		{
			name:    "the caller's error comes back as it is",
			script:  powerEvent(1, 1, "on"),
			fn:      func(apitype.Event) error { return stop },
			wantErr: "enough",
			wantIs:  stop,
		},
		{
			name:    "undecodable event",
			script:  "id: 5\nevent: power\ndata: {nope\n\n",
			wantErr: `follow events: decode event "5": invalid character 'n'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s streamServer
			c := s.start(t, func(w io.Writer, _ int) bool {
				_, _ = io.WriteString(w, tt.script)
				return false
			})
			fn := tt.fn
			if fn == nil {
				fn = func(apitype.Event) error { return nil }
			}
			err := c.Events(t.Context(), fn)
			want := tt.wantErr
			if want == "follow events: bmcd at %s closed the stream" {
				want = fmt.Sprintf(want, c.BaseURL)
			}
			require.ErrorContains(t, err, want)
			if tt.wantIs != nil {
				assert.Same(t, tt.wantIs, err)
			}
			assert.Len(t, s.lastIDs(), 1, "no reconnection")
		})
	}
}

func TestEventsLagged(t *testing.T) {
	t.Parallel()
	var s streamServer
	c := s.start(t, func(w io.Writer, conn int) bool {
		switch conn {
		case 0:
			_, _ = io.WriteString(w, powerEvent(1, 1, "on")+powerEvent(2, 2, "on")+"event: lagged\ndata: {}\n\n")
			return false
		default:
			_, _ = io.WriteString(w, powerEvent(3, 3, "on"))
			return true
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var ids []uint64
	err := c.Events(ctx, func(e apitype.Event) error {
		ids = append(ids, e.ID)
		if e.ID == 3 {
			cancel()
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 3}, ids)
	assert.Equal(t, []string{"", "2"}, s.lastIDs(), "reconnects after the last event seen")

	t.Run("gives up when always lagging", func(t *testing.T) {
		var s streamServer
		c := s.start(t, func(w io.Writer, _ int) bool {
			_, _ = io.WriteString(w, "event: lagged\ndata: {}\n\n")
			return false
		})
		err := c.Events(t.Context(), func(apitype.Event) error { return nil })
		require.ErrorContains(t, err, "follow events: bmcd dropped the event stream")
		assert.Len(t, s.lastIDs(), maxLaggedReconnects+1)
	})
}

func TestEventsRefused(t *testing.T) {
	t.Parallel()
	t.Run("no token", func(t *testing.T) {
		var s streamServer
		c := s.start(t, func(io.Writer, int) bool { return false })
		c.Token = ""
		err := c.Events(t.Context(), func(apitype.Event) error { return nil })
		assert.True(t, IsUnauthorized(err), "%v", err)
	})
	t.Run("not an event stream", func(t *testing.T) {
		c, _ := replay(t, http.StatusOK, `{}`)
		err := c.Events(t.Context(), func(apitype.Event) error { return nil })
		require.EqualError(t, err, `follow events: the answer is "application/json", not an event stream`)
	})
}
