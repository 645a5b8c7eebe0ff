package client

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseAll collects every message of in.
func parseAll(t testing.TB, in string) ([]Message, error) {
	t.Helper()
	var got []Message
	err := ParseSSE(strings.NewReader(in), func(m Message) error {
		got = append(got, m)
		return nil
	})
	return got, err
}

func TestParseSSE(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []Message
	}{
		{name: "one message", in: "id: 1\nevent: power\ndata: {}\n\n", want: []Message{{ID: "1", Event: "power", Data: "{}"}}},
		{name: "bmcd's shape", in: ": bmcd events\n\nid: 4\nevent: power\ndata: {\"id\":4}\n\n: ping\n\n", want: []Message{{ID: "4", Event: "power", Data: `{"id":4}`}}},
		{name: "comments and keep-alives", in: ": hello\n\n: ping\n\nid: 2\ndata: x\n\n", want: []Message{{ID: "2", Data: "x"}}},
		{name: "comment inside a message", in: "data: a\n: ping\ndata: b\n\n", want: []Message{{Data: "a\nb"}}},
		{name: "multi-line data", in: "data: a\ndata: b\ndata: c\n\n", want: []Message{{Data: "a\nb\nc"}}},
		{name: "empty data line", in: "data\ndata\n\n", want: []Message{{Data: "\n"}}},
		{name: "CRLF", in: "id: 3\r\nevent: slot\r\ndata: y\r\n\r\n", want: []Message{{ID: "3", Event: "slot", Data: "y"}}},
		{name: "CRLF multi-line data", in: "data: a\r\ndata: b\r\n\r\n", want: []Message{{Data: "a\nb"}}},
		{name: "CR", in: "data: z\r\r", want: []Message{{Data: "z"}}},
		{name: "mixed line ends", in: "data: a\rdata: b\r\ndata: c\n\r\n", want: []Message{{Data: "a\nb\nc"}}},
		{name: "no space after colon", in: "data:raw\n\n", want: []Message{{Data: "raw"}}},
		{name: "only one space is dropped", in: "data:  two\n\n", want: []Message{{Data: " two"}}},
		{name: "colon in value", in: "data: {\"a\":1}\n\n", want: []Message{{Data: `{"a":1}`}}},
		{name: "id persists", in: "id: 7\ndata: a\n\ndata: b\n\n", want: []Message{{ID: "7", Data: "a"}, {ID: "7", Data: "b"}}},
		{name: "empty id resets", in: "id: 7\ndata: a\n\nid\ndata: b\n\n", want: []Message{{ID: "7", Data: "a"}, {Data: "b"}}},
		{name: "id with NUL is ignored", in: "id: 1\x002\ndata: a\n\n", want: []Message{{Data: "a"}}},
		{name: "event does not persist", in: "event: power\ndata: a\n\ndata: b\n\n", want: []Message{{Event: "power", Data: "a"}, {Data: "b"}}},
		{name: "event without data is not dispatched", in: "event: power\n\n", want: nil},
		{name: "unterminated message is not dispatched", in: "data: cut", want: nil},
		{name: "unknown fields", in: "retry: 10\nfoo: bar\ndata: d\n\n", want: []Message{{Data: "d"}}},
		{name: "field names are case-sensitive", in: "Data: x\nDATA: y\ndata: z\n\n", want: []Message{{Data: "z"}}},
		{name: "byte-order mark", in: "\uFEFFdata: bom\n\n", want: []Message{{Data: "bom"}}},
		{name: "empty stream", in: "", want: nil},
		{name: "blank lines only", in: "\n\n\r\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(t, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseSSEErrors(t *testing.T) {
	t.Parallel()
	t.Run("callback error stops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ParseSSE(strings.NewReader("data: 1\n\ndata: 2\n\n"), func(Message) error { calls++; return stop })
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, 1, calls)
	})
	t.Run("reader error", func(t *testing.T) {
		boom := errors.New("boom")
		err := ParseSSE(iotest.ErrReader(boom), func(Message) error { return nil })
		assert.ErrorIs(t, err, boom)
	})
	t.Run("line too long", func(t *testing.T) {
		_, err := parseAll(t, "data: "+strings.Repeat("x", maxSSELine)+"\n\n")
		assert.ErrorIs(t, err, bufio.ErrTooLong)
	})
	t.Run("long line within the limit", func(t *testing.T) {
		long := strings.Repeat("x", maxSSELine/2)
		got, err := parseAll(t, "data: "+long+"\n\n")
		require.NoError(t, err)
		assert.Equal(t, []Message{{Data: long}}, got)
	})
}

// FuzzParseSSE checks the parser never panics, that no field carries a
// line break it should have split at, and that the result depends neither
// on the line-end convention nor on how the stream is split into reads.
func FuzzParseSSE(f *testing.F) {
	for _, s := range []string{
		"id: 1\nevent: power\ndata: {}\n\n",
		"data: a\r\ndata: b\r\n\r\n",
		": c\n\n",
		"data:\r",
		"data: x\r\r\n\n",
		"\uFEFFid\x00: 1\ndata\n\n",
		"event: lagged\ndata: {}\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseAll(t, in)
		require.NoError(t, err)
		for _, m := range got {
			require.NotContains(t, m.ID, "\n")
			require.NotContains(t, m.ID, "\r")
			require.NotContains(t, m.ID, "\x00")
			require.NotContains(t, m.Event, "\n")
			require.NotContains(t, m.Event, "\r")
			require.NotContains(t, m.Data, "\r")
		}

		lf := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\r", "\n")
		gotLF, err := parseAll(t, lf)
		require.NoError(t, err)
		require.Equal(t, got, gotLF, "CR and CRLF must parse like LF")

		var oneByte []Message
		require.NoError(t, ParseSSE(iotest.OneByteReader(strings.NewReader(in)), func(m Message) error {
			oneByte = append(oneByte, m)
			return nil
		}))
		require.Equal(t, got, oneByte, "reads of one byte must parse alike")
	})
}
