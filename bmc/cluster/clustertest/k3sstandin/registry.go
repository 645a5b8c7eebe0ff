package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// node is one registered node.
type node struct {
	Hostname string `json:"hostname"`
	Role     string `json:"role"`
	IP       string `json:"ip"`
	Password string `json:"password,omitempty"` // the node's password; never listed
	Etcd     bool   `json:"etcd,omitempty"`
}

// errDuplicate is k3s's refusal of a second node under one hostname.
//
//lint:ignore ST1005 k3s's and systemctl's own words, as a node prints them
var errDuplicate = errors.New("Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag")

// store is the cluster's datastore as far as nodes go.
type store interface {
	secret() string
	register(n node) error
	list() ([]node, error)
}

// registry is the datastore on the server that initialised the cluster.
type registry struct {
	sec   string
	mu    sync.Mutex
	nodes []node
}

func newRegistry(secret string) *registry { return &registry{sec: secret} }

func (r *registry) secret() string { return r.sec }

func (r *registry) register(n node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, m := range r.nodes {
		if m.Hostname == n.Hostname {
			if m.Password != n.Password {
				return fmt.Errorf("%w: node=%s", errDuplicate, n.Hostname)
			}
			r.nodes[i] = n // the same node again: a restart
			return nil
		}
	}
	r.nodes = append(r.nodes, n)
	return nil
}

func (r *registry) list() ([]node, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]node, len(r.nodes))
	for i, n := range r.nodes {
		n.Password = ""
		out[i] = n
	}
	return out, nil
}

// upstream is a joined server's view of the datastore: the server it
// joined.
type upstream struct {
	url   string
	sec   string
	roots *x509.CertPool
}

func (u *upstream) secret() string { return u.sec }

func (u *upstream) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: u.roots}}}
}

func (u *upstream) register(n node) error {
	_, err := postRegister(u.client(), u.url, "server", u.sec, n)
	return err
}

func (u *upstream) list() ([]node, error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(u.url, "/")+"/v1-standin/nodes", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("server", u.sec)
	resp, err := u.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("datastore %s: %s", u.url, resp.Status)
	}
	var ns []node
	return ns, json.NewDecoder(resp.Body).Decode(&ns)
}

// joinReply is what a server tells a joiner; servers get the cluster's
// CAs and admin certificate (k3s's bootstrap data).
type joinReply struct {
	Bundle *bundle `json:"bundle,omitempty"`

	roots *x509.CertPool
}

// join does what a k3s agent or joining server does first: fetch the
// CA from /cacerts without trusting it, check its hash against the
// token's, then register over TLS verified by that CA.
func join(joinURL, token, role, hostname, nodePass string) (*joinReply, error) {
	base := strings.TrimSuffix(joinURL, "/")
	insecure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// k3s fetches /cacerts before it trusts anything; the token's hash
		// then decides.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	resp, err := insecure.Get(base + "/cacerts")
	if err != nil {
		return nil, fmt.Errorf("failed to get CA certs: %w", err)
	}
	caPEM, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to get CA certs: %s: %v", resp.Status, err)
	}
	if strings.HasPrefix(token, "K10") {
		want, _, _ := strings.Cut(strings.TrimPrefix(token, "K10"), "::")
		sum := sha256.Sum256(caPEM)
		if got := hex.EncodeToString(sum[:]); got != want {
			return nil, fmt.Errorf("token CA hash does not match the Cluster CA certificate hash: %s != %s", got, want)
		}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("failed to get CA certs: no certificate in /cacerts")
	}
	user := "node"
	if role == "server" {
		user = "server"
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	rep, err := postRegister(client, base, user, tokenSecret(token), node{Hostname: hostname, Role: role, Password: nodePass, Etcd: role == "server"})
	if err != nil {
		return nil, err
	}
	rep.roots = roots
	return rep, nil
}

func postRegister(c *http.Client, base, user, secret string, n node) (*joinReply, error) {
	body, _ := json.Marshal(n)
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(base, "/")+"/v1-standin/register", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, secret)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to register with %s: %w", base, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		var rep joinReply
		return &rep, json.Unmarshal(msg, &rep)
	case http.StatusUnauthorized:
		//lint:ignore ST1005 k3s's and systemctl's own words, as a node prints them
		return nil, fmt.Errorf("Error: failed to validate token: %s/v1-standin/register: 401 Unauthorized", base)
	}
	return nil, fmt.Errorf("%s", strings.TrimSpace(string(msg)))
}
