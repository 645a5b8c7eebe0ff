package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/turingpi-oss/bmcd"

// bmcctlPackages are the only packages of this module bmcctl may link:
// the wire types, the client, a file utility that imports only the
// standard library, and the kubeconfig editor (standard library and YAML). Any other is the server or the hardware.
var bmcctlPackages = map[string]bool{
	module + "/api/apitype":    true,
	module + "/api/client":     true,
	module + "/hal/atomicfile": true,
	// A leaf (standard library and YAML only): cluster kubeconfig --merge
	// edits ~/.kube/config as parsed YAML with the code bmcd uses.
	module + "/bmc/cluster/kubeconfig": true,
	module + "/cmd/bmcctl":             true,
}

// bmcctlModules are the other modules bmcctl may link, and why.
var bmcctlModules = map[string]string{
	"github.com/spf13/cobra":     "commands and completion",
	"github.com/spf13/pflag":     "flags, for cobra",
	"github.com/coder/websocket": "the console",
	"golang.org/x/term":          "raw terminal for the console",
	"golang.org/x/sys":           "for golang.org/x/term",
	"go.yaml.in/yaml/v3":         "kubeconfig --merge parses ~/.kube/config",
}

// serverModules are modules only bmcd needs. They are named here, not
// merely left out of bmcctlModules, so that the failure says why.
var serverModules = map[string]string{
	"github.com/labstack/echo/v5":    "the HTTP server",
	"golang.org/x/crypto":            "bcrypt for the password file",
	"golang.org/x/time":              "login rate limiting",
	"github.com/klauspost/compress":  "zstd images, read by the flasher",
	"github.com/ulikunitz/xz":        "xz images, read by the flasher",
	"go.bug.st/serial":               "the UARTs",
	"github.com/jonboulle/clockwork": "the board's clock",
}

// TestBmcctlLinksNoServer keeps bmcctl a small client: it lists what
// bmcctl links and fails on any package of the server, the board or the
// flasher, and on any module not known to be needed.
func TestBmcctlLinksNoServer(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}{{end}}",
		module+"/cmd/bmcctl").Output()
	require.NoError(t, err, "go list: %s", errText(err))
	var linked int
	var bad []string
	for line := range strings.Lines(string(out)) {
		pkg, mod, _ := strings.Cut(strings.TrimSpace(line), " ")
		if pkg == "" {
			continue
		}
		linked++
		_, needed := bmcctlModules[mod]
		switch {
		case mod == module && !bmcctlPackages[pkg]:
			bad = append(bad, pkg+": a package of the server or the hardware")
		case serverModules[mod] != "":
			bad = append(bad, pkg+": "+serverModules[mod])
		case mod != module && !needed:
			bad = append(bad, pkg+": module "+mod+" is in neither list")
		}
	}
	assert.NotZero(t, linked, "go list named no package")
	assert.Empty(t, bad, "bmcctl links what it must not")
}

// errText is what a failed command wrote to stderr.
func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
