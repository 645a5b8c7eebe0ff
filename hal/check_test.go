package hal_test

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"

	"github.com/turingpi-oss/bmcd/hal"
)

func tree(model, compat string) fstest.MapFS {
	return fstest.MapFS{
		"proc/device-tree/model":      {Data: []byte(model + "\x00")},
		"proc/device-tree/compatible": {Data: []byte(compat)},
	}
}

func TestDetectProfile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		root fstest.MapFS
		want string
	}{
		// Model and compatible strings of the vendor's device trees.
		{"v2.4", tree("Turing Pi 2 (v2.4)", "turing,pi2\x00allwinner,sun8i-t113s\x00"), "tp2-v2.4"},
		{"v2.5", tree("Turing Pi 2 (v2.5)", "turing,pi2\x00allwinner,sun8i-t113s\x00"), "tp2-v2.5"},
		{"v2.5.1", tree("Turing Pi 2 (v2.5.1)", "turing,pi2\x00allwinner,sun8i-t113s\x00"), "tp2-v2.5"},
		{"compute module", tree("Raspberry Pi Compute Module 3 Plus Rev 1.0", "raspberrypi,3-compute-module-plus\x00brcm,bcm2837\x00"), "tp1"},
		{"unknown turing revision", tree("Turing Pi 2 (v3.0)", "turing,pi2\x00"), ""},
		{"a laptop", fstest.MapFS{}, ""},
		{"another board", tree("Pine64 PinePhone", "pine64,pinephone\x00"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, why := hal.DetectProfile(tc.root)
			assert.Equal(t, tc.want, got)
			assert.NotEmpty(t, why)
		})
	}
}

func TestProfileFinding(t *testing.T) {
	t.Parallel()
	v24 := tree("Turing Pi 2 (v2.4)", "turing,pi2\x00")
	for _, tc := range []struct {
		name       string
		configured string
		root       fstest.MapFS
		want       hal.CheckStatus
	}{
		{"matches", "tp2-v2.4", v24, hal.CheckOK},
		{"wrong revision configured", "tp2-v2.5", v24, hal.CheckFail},
		{"not confirmed", "tp2-v2.4", fstest.MapFS{}, hal.CheckWarn},
		{"sim on a laptop", "sim", fstest.MapFS{}, hal.CheckOK},
		{"sim on a real board", "sim", v24, hal.CheckWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := hal.ProfileFinding(tc.configured, tc.root)
			assert.Equal(t, tc.want, f.Status, f.Detail)
		})
	}
}
