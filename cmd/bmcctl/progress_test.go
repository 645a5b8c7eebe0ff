package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// TestProgressLine: what bmcd reports of a job it downloads itself (a
// URL with a known size) shows as a percentage with an ETA, like an
// upload; an unknown size shows the bytes written.
func TestProgressLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    apitype.JobProgress
		want []string
	}{
		{name: "download of known size", p: apitype.JobProgress{Phase: "write", BytesIn: 25 << 20, BytesWritten: 60 << 20, Total: 100 << 20, Rate: 5 << 20, ETASeconds: 15},
			want: []string{"write", " 25.0%", "ETA 15s"}},
		{name: "verify", p: apitype.JobProgress{Phase: "verify", BytesVerified: 50 << 20, Total: 200 << 20, Rate: 10 << 20, ETASeconds: 15},
			want: []string{"verify", " 25.0%", "ETA 15s"}},
		{name: "size unknown", p: apitype.JobProgress{Phase: "write", BytesIn: 1 << 20, BytesWritten: 3 << 20, Total: -1},
			want: []string{"written"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			e := &env{stderr: &out, loc: time.UTC}
			p := e.newProgress(2, -1) // bmcd downloads: bmcctl sends nothing
			p.set(apitype.Job{Slot: 2, State: "running", Step: "write", Progress: tt.p})
			p.draw()
			for _, w := range tt.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}
