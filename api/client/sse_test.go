package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSSE(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Message
	}{
		{name: "one message", in: "id: 1\nevent: power\ndata: {}\n\n", want: []Message{{ID: "1", Event: "power", Data: "{}"}}},
		{name: "comments and keep-alives", in: ": hello\n\n: ping\n\nid: 2\ndata: x\n\n", want: []Message{{ID: "2", Data: "x"}}},
		{name: "multi-line data", in: "data: a\ndata: b\n\n", want: []Message{{Data: "a\nb"}}},
		{name: "CRLF", in: "id: 3\r\nevent: slot\r\ndata: y\r\n\r\n", want: []Message{{ID: "3", Event: "slot", Data: "y"}}},
		{name: "CR", in: "data: z\r\r", want: []Message{{Data: "z"}}},
		{name: "no space after colon", in: "data:raw\n\n", want: []Message{{Data: "raw"}}},
		{name: "id persists", in: "id: 7\ndata: a\n\ndata: b\n\n", want: []Message{{ID: "7", Data: "a"}, {ID: "7", Data: "b"}}},
		{name: "event without data is not dispatched", in: "event: power\n\n", want: nil},
		{name: "unterminated message is not dispatched", in: "data: cut", want: nil},
		{name: "unknown field", in: "retry: 10\nfoo: bar\ndata: d\n\n", want: []Message{{Data: "d"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Message
			require.NoError(t, ParseSSE(strings.NewReader(tt.in), func(m Message) error {
				got = append(got, m)
				return nil
			}))
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		err := ParseSSE(strings.NewReader("data: 1\n\ndata: 2\n\n"), func(Message) error { return stop })
		assert.ErrorIs(t, err, stop)
	})
}

func FuzzParseSSE(f *testing.F) {
	for _, s := range []string{"id: 1\nevent: power\ndata: {}\n\n", "data: a\r\ndata: b\r\n\r\n", ": c\n\n", "data:\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_ = ParseSSE(strings.NewReader(in), func(m Message) error {
			if strings.ContainsAny(m.Event, "\r\n") || strings.ContainsAny(m.ID, "\r\n") {
				t.Fatalf("field with a line break: %+v", m)
			}
			return nil
		})
	})
}
