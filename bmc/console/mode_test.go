package console

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModeValidate(t *testing.T) {
	tests := []struct {
		name    string
		mode    Mode
		wantErr string // "" = valid; else a substring naming the field
	}{
		{"default", DefaultMode(), ""},
		{"zero is unset", Mode{}, ""},
		{"1.5 Mbaud 8E2", Mode{Baud: 1500000, DataBits: 8, Parity: "even", StopBits: "2"}, ""},
		{"min baud", Mode{Baud: MinBaud}, ""},
		{"max baud", Mode{Baud: MaxBaud}, ""},
		{"7O1.5", Mode{Baud: 9600, DataBits: 7, Parity: "odd", StopBits: "1.5"}, ""},
		{"5 bits mark", Mode{DataBits: 5, Parity: "mark"}, ""},
		{"space", Mode{Parity: "space"}, ""},
		{"negative baud", Mode{Baud: -5}, "baud"},
		{"baud too low", Mode{Baud: 49}, "baud"},
		{"baud too high", Mode{Baud: MaxBaud + 1}, "baud"},
		{"data bits 9", Mode{DataBits: 9}, "data bits"},
		{"data bits 4", Mode{DataBits: 4}, "data bits"},
		{"parity x", Mode{Parity: "x"}, "parity"},
		{"parity upper", Mode{Parity: "None"}, "parity"},
		{"stop bits 3", Mode{StopBits: "3"}, "stop bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.mode.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidMode)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestModeMerge(t *testing.T) {
	base := DefaultMode()
	tests := []struct {
		name   string
		change Mode
		want   Mode
	}{
		{"nothing", Mode{}, base},
		{"baud", Mode{Baud: 1500000}, Mode{Baud: 1500000, DataBits: 8, Parity: "none", StopBits: "1"}},
		{"frame", Mode{DataBits: 7, Parity: "even", StopBits: "2"}, Mode{Baud: 115200, DataBits: 7, Parity: "even", StopBits: "2"}},
		{"negative overrides", Mode{Baud: -5}, Mode{Baud: -5, DataBits: 8, Parity: "none", StopBits: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, base.Merge(tt.change))
		})
	}
}

func TestModeString(t *testing.T) {
	tests := []struct {
		mode Mode
		want string
	}{
		{DefaultMode(), "115200 8N1"},
		{Mode{Baud: 1500000, DataBits: 8, Parity: "even", StopBits: "2"}, "1500000 8E2"},
		{Mode{Baud: 9600, DataBits: 7, Parity: "odd", StopBits: "1.5"}, "9600 7O1.5"},
		{Mode{Baud: 300, DataBits: 5, Parity: "mark", StopBits: "1"}, "300 5M1"},
		{Mode{Baud: 300, DataBits: 6, Parity: "space", StopBits: "2"}, "300 6S2"},
		{Mode{Baud: 9600}, "9600 ???"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.mode.String())
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{in: "1500000", want: Mode{Baud: 1500000}},
		{in: "115200 8N1", want: DefaultMode()},
		{in: "9600 7E2", want: Mode{Baud: 9600, DataBits: 7, Parity: "even", StopBits: "2"}},
		{in: "9600 7o1.5", want: Mode{Baud: 9600, DataBits: 7, Parity: "odd", StopBits: "1.5"}},
		{in: "  57600\t5S1 ", want: Mode{Baud: 57600, DataBits: 5, Parity: "space", StopBits: "1"}},
		{in: "8M2", want: Mode{DataBits: 8, Parity: "mark", StopBits: "2"}},
		{in: "", wantErr: true},
		{in: "0", wantErr: true},
		{in: "-5", wantErr: true},
		{in: "fast", wantErr: true},
		{in: "49", wantErr: true},
		{in: "4000001", wantErr: true},
		{in: "99999999999999999999999", wantErr: true},
		{in: "115200 9N1", wantErr: true},
		{in: "115200 8X1", wantErr: true},
		{in: "115200 8N3", wantErr: true},
		{in: "115200 8N", wantErr: true},
		{in: "115200 8N1 extra", wantErr: true},
		{in: "8N1 115200", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrInvalidMode)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"1500000", "115200 8N1", "9600 7E2", "9600 7O1.5", "8N1", "", "0", "x y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidMode)
			return
		}
		require.NoError(t, m.Validate())
		// A complete mode survives a round trip through String.
		full := DefaultMode().Merge(m)
		again, err := ParseMode(full.String())
		require.NoError(t, err)
		require.Equal(t, full, again)
	})
}
