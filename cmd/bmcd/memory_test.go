package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMemoryLimit sets the runtime's soft limit from the config. It
// changes process-wide state, so it does not run in parallel and puts
// the limit back.
func TestMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	tests := []struct {
		name string
		mib  int64
		want int64 // the runtime's limit afterwards
	}{
		{"default", 0, defaultMemoryLimitMiB << 20},
		{"configured", 32, 32 << 20},
		{"none", -1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			memoryConfig{LimitMiB: tt.mib}.apply()
			assert.Equal(t, tt.want, debug.SetMemoryLimit(-1))
		})
	}
}

func TestFlashBuffers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kib  int
		want int
	}{
		{"default", 0, defaultFlashBufferKiB << 10},
		{"configured", 512, 512 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, memoryConfig{FlashBufferKiB: tt.kib}.images(nil, nil).BufferSize)
		})
	}
}
