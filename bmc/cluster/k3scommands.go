package cluster

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// The commands the k3s install runs on a node, beside the preflight ones
// in commands.go, so a simulated node can answer them.
const (
	// CmdProbeServer exits 0 when the k3s server service (the name the
	// install script gives it) is running.
	CmdProbeServer = "systemctl is-active --quiet k3s"
	// CmdProbeAgent exits 0 when the k3s agent service is running.
	CmdProbeAgent = "systemctl is-active --quiet k3s-agent"
	// CmdGetNodes lists the cluster's nodes as JSON; it runs on a server.
	CmdGetNodes = "k3s kubectl get nodes -o json"
	// CmdCatKubeconfig prints the server's admin kubeconfig.
	CmdCatKubeconfig = "cat " + K3sKubeconfigPath
	// K3sInstallScriptURL is the online install script.
	K3sInstallScriptURL = "https://get.k3s.io"
	// K3sAPIPort is the port servers serve the Kubernetes API and the
	// join endpoint on.
	K3sAPIPort = "6443"
)

// Role is what k3s runs as on a node.
type Role string

// The k3s roles.
const (
	RoleServer Role = "server"
	RoleAgent  Role = "agent"
)

// probeCommand is the command that exits 0 when k3s already runs as r.
func (r Role) probeCommand() string {
	if r == RoleServer {
		return CmdProbeServer
	}
	return CmdProbeAgent
}

// versionPattern is a k3s release (v1.33.1+k3s1, v1.34.0-rc1+k3s1).
var versionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$`)

// tokenPattern is the token bmcd generates: hex, at least 128 bits.
var tokenPattern = regexp.MustCompile(`^[0-9a-f]{32,}$`)

// InstallCommand is the online install of k3s as role. version ("" for
// the stable channel) and token are passed as INSTALL_K3S_VERSION and
// K3S_TOKEN; joinURL ("" for the first server) as K3S_URL. The first
// server adds --cluster-init when more servers will join it.
func InstallCommand(role Role, version, token, joinURL string, clusterInit bool) (string, error) {
	switch {
	case role != RoleServer && role != RoleAgent:
		return "", fmt.Errorf("k3s install: unknown role %q", role)
	case version != "" && !versionPattern.MatchString(version):
		return "", fmt.Errorf("k3s install: version %q is not a k3s release like v1.33.1+k3s1", version)
	case !tokenPattern.MatchString(token):
		return "", fmt.Errorf("k3s install: token is not ≥32 lowercase hex digits")
	case role == RoleAgent && joinURL == "":
		return "", fmt.Errorf("k3s install: an agent needs a server URL to join")
	case clusterInit && (role != RoleServer || joinURL != ""):
		return "", fmt.Errorf("k3s install: only the first server initialises the cluster")
	}
	var env []string
	if version != "" {
		env = append(env, "INSTALL_K3S_VERSION="+shellQuote(version))
	}
	if joinURL != "" {
		env = append(env, "K3S_URL="+shellQuote(joinURL))
	}
	env = append(env, "K3S_TOKEN="+shellQuote(token))
	args := []string{string(role)}
	if clusterInit {
		args = append(args, "--cluster-init")
	}
	return fmt.Sprintf("curl -sfL %s | %s sh -s - %s", K3sInstallScriptURL, strings.Join(env, " "), strings.Join(args, " ")), nil
}

// JoinURL is the URL nodes join the server at host by.
func JoinURL(host string) string {
	return "https://" + net.JoinHostPort(host, K3sAPIPort)
}

// The commands that take k3s off a node, so a simulated node can answer
// them too. The install script writes both uninstall scripts' paths;
// only the one of the node's role exists.
const (
	// CmdUninstallServer removes a k3s server: service, binaries, data.
	CmdUninstallServer = "/usr/local/bin/k3s-uninstall.sh"
	// CmdUninstallAgent removes a k3s agent.
	CmdUninstallAgent = "/usr/local/bin/k3s-agent-uninstall.sh"
	// DefaultDrainTimeout bounds a drain: pods that will not leave in
	// that time fail the removal instead of holding it forever.
	DefaultDrainTimeout = 2 * time.Minute
)

// kubeNodeName is a Kubernetes node name (an RFC 1123 subdomain), the
// only form the drain and delete commands accept: it goes into a shell
// command line unquoted.
var kubeNodeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// DrainCommand evicts every pod from the node named node (its hostname),
// run on a server: DaemonSet pods stay (they would come back), emptyDir
// data is deleted with its pods, and after timeout the drain fails.
func DrainCommand(node string, timeout time.Duration) (string, error) {
	if !kubeNodeName.MatchString(node) {
		return "", fmt.Errorf("drain: %q is not a Kubernetes node name", node)
	}
	if timeout <= 0 {
		return "", fmt.Errorf("drain %s: timeout %s: want a positive duration", node, timeout)
	}
	return fmt.Sprintf("k3s kubectl drain --ignore-daemonsets --delete-emptydir-data --timeout %s %s", timeout, node), nil
}

// DeleteNodeCommand deletes the node object named node, run on a server.
func DeleteNodeCommand(node string) (string, error) {
	if !kubeNodeName.MatchString(node) {
		return "", fmt.Errorf("delete node: %q is not a Kubernetes node name", node)
	}
	return "k3s kubectl delete node " + node, nil
}

// UninstallCommand is the uninstall script k3s installed for role.
func UninstallCommand(role Role) string {
	if role == RoleServer {
		return CmdUninstallServer
	}
	return CmdUninstallAgent
}
