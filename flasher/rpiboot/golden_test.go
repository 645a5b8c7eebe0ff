package rpiboot

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/usb/usbsim"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and the fuzz seeds in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), string(got), "%s differs; if the change is right, run go test -run %s -update", path, t.Name())
}

// TestGoldenCM4 records every USB operation of a whole CM4
// mass-storage-gadget boot: the ROM upload (announce 24, boot message,
// announce and chunks of bootcode4.bin, return code), the second stage's
// requests and answers, Done.
func TestGoldenCM4(t *testing.T) {
	r := newRig(t)
	m := r.attach(port, usbsim.CM4())
	_, err := r.boot(port, r.opts())
	require.NoError(t, err)
	var b strings.Builder
	for _, op := range r.bus.Transcript() {
		b.WriteString(op.String())
		b.WriteByte('\n')
	}
	golden(t, "cm4-msg.golden", []byte(b.String()))
	assert.Equal(t, usbsim.StateMassStorage, m.State())
}
