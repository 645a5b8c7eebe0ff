package tp2

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRevision(t *testing.T) {
	tests := []struct {
		rev     string
		v24     bool
		wantErr bool
	}{
		{rev: "2.4", v24: true},
		{rev: "v2.4", v24: true},
		{rev: "tp2-v2.4", v24: true},
		{rev: "2.5"},
		{rev: "v2.5.1"},
		{rev: "tp2-v2.5"},
		{rev: "2.5.2"},
		{rev: "2.3", wantErr: true},
		{rev: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			v24, err := revision(tt.rev)
			if tt.wantErr {
				assert.ErrorContains(t, err, "unknown board revision")
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.v24, v24)
		})
	}
}

func TestPinOffset(t *testing.T) {
	tests := []struct {
		pin     string
		want    int
		wantErr bool
	}{
		{pin: "PA0", want: 0},
		{pin: "PD3", want: 99},
		{pin: "PG0", want: 192},
		{pin: "PG1", want: 193},
		{pin: "PG5", want: 197},
		{pin: "PG32", wantErr: true},
		{pin: "G1", wantErr: true},
		{pin: "Pg1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.pin, func(t *testing.T) {
			got, err := pinOffset(tt.pin)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
