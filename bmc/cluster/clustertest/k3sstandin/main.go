package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The files a k3s install leaves on a node, as install.sh and k3s name
// them.
const (
	binDir          = "/usr/local/bin"
	systemdDir      = "/etc/systemd/system"
	dataDir         = "/var/lib/rancher/k3s"
	serverDir       = dataDir + "/server"
	tlsDir          = serverDir + "/tls"
	tokenPath       = serverDir + "/token"
	nodeTokenPath   = serverDir + "/node-token"
	versionPath     = dataDir + "/standin-version"
	kubeconfigPath  = "/etc/rancher/k3s/k3s.yaml"
	nodePassword    = "/etc/rancher/node/password"
	faultPath       = "/etc/rancher/standin-fault"
	runDir          = "/run/k3s-standin" // the systemctl shim's pid files and logs
	apiPort         = "6443"
	defaultVersion  = "v1.33.1+k3s1" // what the stable channel gives
	installScriptAt = "https://get.k3s.io"
)

func main() {
	os.Exit(run(filepath.Base(os.Args[0]), os.Args[1:]))
}

// run dispatches on the name the program runs as, then on its first
// argument.
func run(name string, args []string) int {
	switch name {
	case "curl":
		return curlMain(args)
	case "systemctl":
		return systemctlMain(args)
	case "kubectl":
		return kubectlMain(args)
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: k3s server|agent|kubectl|standin-install|standin-script")
		return 2
	}
	switch args[0] {
	case "server", "agent":
		return serviceMain(args[0], args[1:])
	case "kubectl":
		return kubectlMain(args[1:])
	case "standin-install":
		return installMain(args[1:])
	case "standin-script":
		_, _ = os.Stdout.Write(installScript)
		return 0
	case "--version", "-v", "version":
		fmt.Printf("k3s version %s (stand-in)\n", installedVersion())
		return 0
	}
	fmt.Fprintf(os.Stderr, "k3s: unknown command %q\n", args[0])
	return 2
}

// fault is the misbehaviour a test asked of this node, or "".
func fault() string {
	b, err := os.ReadFile(faultPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// installedVersion is the version the install recorded.
func installedVersion() string {
	b, err := os.ReadFile(versionPath)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return defaultVersion
	}
	return strings.TrimSpace(string(b))
}

func fatalf(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "time=%q level=fatal msg=%q\n", "now", fmt.Sprintf(format, a...))
	return 1
}

// block never returns: a hung download or service. (An empty select
// would be reported as a deadlock by the runtime.)
func block() {
	for {
		time.Sleep(time.Hour)
	}
}
