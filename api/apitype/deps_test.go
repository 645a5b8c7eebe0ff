package apitype_test

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLinksOnlyStandardLibrary pins that the wire types are a leaf, so
// that any client, bmcctl first, can use them without the server.
func TestLinksOnlyStandardLibrary(t *testing.T) {
	t.Parallel()
	const pkg = "github.com/turingpi-oss/bmcd/api/apitype"
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "go list: %s", stderr)
	assert.Equal(t, pkg+"\n", string(out), "apitype links more than the standard library")
}
