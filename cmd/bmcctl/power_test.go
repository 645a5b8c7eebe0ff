package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlotArg(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		slot    int
		all     bool
		wantErr string
	}{
		{name: "number", args: []string{"3"}, slot: 3},
		{name: "all", args: []string{"all"}, all: true},
		{name: "none means all", args: nil, all: true},
		{name: "out of range is bmcd's call", args: []string{"9"}, slot: 9},
		{name: "zero is bmcd's call", args: []string{"0"}, slot: 0},
		{name: "negative is bmcd's call", args: []string{"-1"}, slot: -1},
		{name: "plus sign", args: []string{"+2"}, slot: 2},
		{name: "word", args: []string{"abc"}, wantErr: `invalid slot "abc": want a number or "all"`},
		{name: "ALL is not all", args: []string{"ALL"}, wantErr: `invalid slot "ALL"`},
		{name: "float", args: []string{"1.5"}, wantErr: `invalid slot "1.5"`},
		{name: "empty", args: []string{""}, wantErr: `invalid slot ""`},
		{name: "hex", args: []string{"0x2"}, wantErr: `invalid slot "0x2"`},
		{name: "too big", args: []string{"99999999999999999999"}, wantErr: `invalid slot "99999999999999999999"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot, all, err := slotArg(tt.args)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, exitUsage, exitCode(context.Background(), err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.slot, slot)
			assert.Equal(t, tt.all, all)
		})
	}
}
