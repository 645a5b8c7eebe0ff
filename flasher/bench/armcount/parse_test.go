package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLog(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		want    []region
		wantErr string
	}{
		{name: "empty", log: "", want: nil},
		{
			name: "regions among other lines",
			log: "qemu: something\n" +
				"insncount: region 0 insns 2006 threads 1 lost 0\n" +
				"guest output\n" +
				"insncount: region 1 insns 4006 threads 3 lost 0\n",
			want: []region{{0, 2006, 1}, {1, 4006, 3}},
		},
		{name: "no newline at the end", log: "insncount: region 0 insns 7 threads 1 lost 0", want: []region{{0, 7, 1}}},
		{name: "lost instructions", log: "insncount: region 0 insns 7 threads 1 lost 3\n", wantErr: "lost"},
		{name: "out of sequence", log: "insncount: region 1 insns 7 threads 1 lost 0\n", wantErr: "region 1, want 0"},
		{name: "repeated region", log: "insncount: region 0 insns 7 threads 1 lost 0\ninsncount: region 0 insns 7 threads 1 lost 0\n", wantErr: "region 0, want 1"},
		{name: "not a number", log: "insncount: region 0 insns 7x threads 1 lost 0\n", wantErr: "field 4"},
		{name: "negative", log: "insncount: region 0 insns -7 threads 1 lost 0\n", wantErr: "field 4"},
		{name: "overflow", log: "insncount: region 0 insns 18446744073709551616 threads 1 lost 0\n", wantErr: "field 4"},
		{name: "missing field", log: "insncount: region 0 insns 7 threads 1\n", wantErr: "want region"},
		{name: "plugin's own error", log: "insncount: bad argument: want start=0x…\n", wantErr: "plugin error: bad argument"},
		{name: "huge region number", log: "insncount: region 9999999999 insns 7 threads 1 lost 0\n", wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLog(strings.NewReader(tt.log))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzParseLog: any input either fails or gives regions numbered from 0
// in order; lines the plugin writes always parse back to their values.
func FuzzParseLog(f *testing.F) {
	f.Add("insncount: region 0 insns 2006 threads 1 lost 0\n", uint64(5), 2)
	f.Add("noise\ninsncount: region 0 insns 1 threads 1 lost 0\ninsncount: region 1 insns 2 threads 2 lost 0", uint64(0), 0)
	f.Add("insncount: region 0 insns 1 threads 1 lost 9\n", uint64(1<<63), 4096)
	f.Fuzz(func(t *testing.T, log string, insns uint64, threads int) {
		regs, err := parseLog(strings.NewReader(log))
		if err == nil {
			for i, g := range regs {
				require.Equal(t, i, g.index)
			}
		}
		if threads < 0 || threads > 1<<30 {
			return
		}
		line := fmt.Sprintf("insncount: region 0 insns %d threads %d lost 0\n", insns, threads)
		regs, err = parseLog(strings.NewReader(line))
		require.NoError(t, err)
		assert.Equal(t, []region{{0, insns, threads}}, regs)
	})
}
