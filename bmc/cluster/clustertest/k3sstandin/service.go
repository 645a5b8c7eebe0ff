package main

import (
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// serviceMain is `k3s server|agent`: it joins or creates the cluster,
// says READY=1 to the service manager, and serves until killed.
func serviceMain(role string, args []string) int {
	joinURL, token := os.Getenv("K3S_URL"), os.Getenv("K3S_TOKEN")
	if tf := os.Getenv("K3S_TOKEN_FILE"); token == "" && tf != "" {
		b, err := os.ReadFile(tf)
		if err != nil {
			return fatalf("Error: read token file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	clusterInit := false
	for i := 0; i < len(args); i++ {
		k, v, hasV := strings.Cut(args[i], "=")
		next := func() string {
			if hasV {
				return v
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch k {
		case "--cluster-init":
			clusterInit = true
		case "--server", "-s":
			joinURL = next()
		case "--token", "-t":
			token = next()
		default:
			return fatalf("flag provided but not defined: %s", k)
		}
	}
	switch fault() {
	case "fail-start":
		return fatalf("starting kubernetes: preparing server: stand-in fault fail-start")
	case "hang-start":
		block()
	}
	hostname, err := os.Hostname()
	if err != nil {
		return fatalf("hostname: %v", err)
	}
	nodePass, err := nodePasswordOf()
	if err != nil {
		return fatalf("node password: %v", err)
	}
	if role == "agent" {
		if joinURL == "" {
			return fatalf("Error: --server is required")
		}
		if _, err := join(joinURL, token, role, hostname, nodePass); err != nil {
			return fatalf("%v", err)
		}
		notifyReady()
		block()
	}

	var (
		b  *bundle
		st store
	)
	if joinURL == "" {
		if b, err = loadOrCreateBundle(); err != nil {
			return fatalf("generate certificates: %v", err)
		}
		secret := tokenSecret(token)
		if secret == "" {
			if old, err := os.ReadFile(tokenPath); err == nil {
				secret = tokenSecret(strings.TrimSpace(string(old)))
			} else {
				secret = randomHex(16)
			}
		}
		reg := newRegistry(secret)
		if err := reg.register(node{Hostname: hostname, Role: role, IP: ownIP(), Password: nodePass, Etcd: clusterInit}); err != nil {
			return fatalf("%v", err)
		}
		st = reg
	} else {
		rep, err := join(joinURL, token, role, hostname, nodePass)
		if err != nil {
			return fatalf("%v", err)
		}
		if rep.Bundle == nil {
			return fatalf("bootstrap data: none from %s", joinURL)
		}
		b = rep.Bundle
		if err := b.save(); err != nil {
			return fatalf("bootstrap data: %v", err)
		}
		st = &upstream{url: joinURL, sec: tokenSecret(token), roots: rep.roots}
	}
	creds, err := b.credentials()
	if err != nil {
		return fatalf("certificates: %v", err)
	}
	if err := writeServerFiles(creds, st.secret()); err != nil {
		return fatalf("%v", err)
	}
	cert, err := creds.ServingCert(append([]string{hostname}, ownIPs()...), time.Now())
	if err != nil {
		return fatalf("server certificate: %v", err)
	}
	l, err := net.Listen("tcp", ":"+apiPort)
	if err != nil {
		return fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: newAPI(b, creds, st, installedVersion()), TLSConfig: simkube.TLSConfig(cert), ReadHeaderTimeout: 10 * time.Second}
	notifyReady()
	return fatalf("serve: %v", srv.ServeTLS(l, "", ""))
}

// tokenSecret is the secret of a join token: the part after
// "::<user>:" of a K10 token, or the whole short token.
func tokenSecret(token string) string {
	if !strings.HasPrefix(token, "K10") {
		return token
	}
	_, cred, ok := strings.Cut(token, "::")
	if !ok {
		return token
	}
	_, pw, ok := strings.Cut(cred, ":")
	if !ok {
		return cred
	}
	return pw
}

// writeServerFiles writes the token (node-token links to it) and the
// admin's k3s.yaml, as a k3s server does on every start.
func writeServerFiles(c *simkube.Credentials, secret string) error {
	if err := os.MkdirAll(serverDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tokenPath, []byte(c.Token(secret)+"\n"), 0o600); err != nil {
		return err
	}
	_ = os.Remove(nodeTokenPath)
	if err := os.Symlink(filepath.Base(tokenPath), nodeTokenPath); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfigPath), 0o755); err != nil {
		return err
	}
	return os.WriteFile(kubeconfigPath, c.Kubeconfig("https://127.0.0.1:"+apiPort), 0o600)
}

// nodePasswordOf is the node's password, made on first start and kept:
// the server refuses another node of the same hostname by it.
func nodePasswordOf() (string, error) {
	b, err := os.ReadFile(nodePassword)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	pw := randomHex(16)
	if err := os.MkdirAll(filepath.Dir(nodePassword), 0o700); err != nil {
		return "", err
	}
	return pw, os.WriteFile(nodePassword, []byte(pw+"\n"), 0o600)
}

// ownIP is the node's first global IPv4 address.
func ownIP() string {
	if ips := ownIPs(); len(ips) > 0 {
		return ips[0]
	}
	return "127.0.0.1"
}

// ownIPs are the node's addresses other than loopback.
func ownIPs() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// notifyReady tells the service manager the service is up (sd_notify's
// READY=1, over the descriptor the systemctl shim passed).
func notifyReady() {
	fd, err := strconv.Atoi(os.Getenv("NOTIFY_FD"))
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "notify")
	_, _ = f.WriteString("READY=1\n")
	_ = f.Close()
}
