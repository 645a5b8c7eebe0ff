package tp2

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestSysfsRegulator(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		initial string
		set     *bool // nil: only read
		want    bool
		wantErr string
		file    string // content after set
	}{
		{name: "reads disabled", initial: "disabled\n", want: false},
		{name: "reads enabled", initial: "enabled\n", want: true},
		{name: "reads without newline", initial: "enabled", want: true},
		{name: "rejects anything else", initial: "on\n", wantErr: `unexpected state "on"`},
		{name: "writes enabled", initial: "disabled\n", set: ptr(true), want: true, file: "enabled"},
		{name: "writes disabled over enabled", initial: "enabled\n", set: ptr(false), want: false, file: "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			require.NoError(t, os.WriteFile(path, []byte(tt.initial), 0o644))
			r := SysfsRegulator{Path: path}
			if tt.set != nil {
				require.NoError(t, r.SetEnabled(ctx, *tt.set))
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.Equal(t, tt.file, string(data))
			}
			got, err := r.Enabled(ctx)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("missing file is an error and is not created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "node9-power", "state")
		r := SysfsRegulator{Path: path}
		assert.ErrorIs(t, r.SetEnabled(ctx, true), os.ErrNotExist)
		_, err := r.Enabled(ctx)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.NoFileExists(t, path)
	})
}

func ptr[T any](v T) *T { return &v }

func TestGPIORegulator(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		activeLow bool
		on        bool
		level     gpio.Level
	}{
		{"active high on", false, true, gpio.High},
		{"active high off", false, false, gpio.Low},
		{"active low on", true, true, gpio.Low},
		{"active low off", true, false, gpio.High},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &gpiotest.Pin{N: "PG4", L: !tt.level}
			r := GPIORegulator{Pin: &drivenLine{PinOut: p}, ActiveLow: tt.activeLow}
			require.NoError(t, r.SetEnabled(ctx, tt.on))
			assert.Equal(t, tt.level, p.Read())
			got, err := r.Enabled(ctx)
			require.NoError(t, err)
			assert.Equal(t, tt.on, got)
		})
	}

	t.Run("a line never driven cannot be read back", func(t *testing.T) {
		r := GPIORegulator{Pin: &drivenLine{PinOut: &gpiotest.Pin{N: "PD3"}}}
		_, err := r.Enabled(ctx)
		assert.ErrorIs(t, err, errUnknownLevel)
		require.NoError(t, r.SetEnabled(ctx, true))
		on, err := r.Enabled(ctx)
		require.NoError(t, err)
		assert.True(t, on)
	})
}
