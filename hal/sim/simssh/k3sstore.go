package simssh

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/turingpi-oss/bmcd/hal/atomicfile"
	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// k3sStore is where a board's k3s installs are kept between runs: on a
// real node they are files on its disk, which outlive whatever happens
// to bmcd (a crash of the process that simulates the nodes is, for
// them, a power cut).
type k3sStore struct {
	path  string // "": memory only
	last  []byte // what the file holds
	disks map[string]string
}

// storedK3s is the file's content: the clusters (CA, credentials, members
// in join order) and each node's install. Addresses are not kept: a node
// has one only while it is up.
type storedK3s struct {
	Clusters []storedCluster          `json:"clusters"`
	Nodes    map[string]storedK3sNode `json:"nodes"`
	// Disks is each node's disk generation as last booted ([K3s.Disk]).
	Disks map[string]string `json:"disks,omitempty"`
}

type storedCluster struct {
	Password string `json:"password"`
	// The cluster's CAs and admin credentials (simkube.Credentials), as
	// a k3s server keeps them under /var/lib/rancher/k3s/server/tls.
	ServerCAPEM    []byte   `json:"server_ca_pem"`
	ServerCAKeyPEM []byte   `json:"server_ca_key_pem"`
	ClientCAPEM    []byte   `json:"client_ca_pem"`
	ClientCAKeyPEM []byte   `json:"client_ca_key_pem"`
	AdminCertPEM   []byte   `json:"admin_cert_pem"`
	AdminKeyPEM    []byte   `json:"admin_key_pem"`
	Members        []string `json:"members"` // node keys
}

// storeCluster is c as the file keeps it.
func storeCluster(c *k3sCluster) (storedCluster, error) {
	sc := storedCluster{Password: c.password, Members: []string{}}
	if cr := c.creds; cr != nil {
		var err error
		sc.ServerCAPEM, sc.ClientCAPEM = cr.ServerCA.PEM(), cr.ClientCA.PEM()
		if sc.ServerCAKeyPEM, err = cr.ServerCA.KeyPEM(); err != nil {
			return sc, err
		}
		if sc.ClientCAKeyPEM, err = cr.ClientCA.KeyPEM(); err != nil {
			return sc, err
		}
		sc.AdminCertPEM, sc.AdminKeyPEM = cr.AdminCertPEM, cr.AdminKeyPEM
	}
	for _, m := range c.members {
		sc.Members = append(sc.Members, m.key)
	}
	return sc, nil
}

// load is the cluster the file kept.
func (sc storedCluster) load() (*k3sCluster, error) {
	c := &k3sCluster{password: sc.Password}
	if sc.ServerCAPEM == nil {
		return c, nil
	}
	server, err := simkube.ParseCA(sc.ServerCAPEM, sc.ServerCAKeyPEM)
	if err != nil {
		return nil, err
	}
	client, err := simkube.ParseCA(sc.ClientCAPEM, sc.ClientCAKeyPEM)
	if err != nil {
		return nil, err
	}
	c.creds = &simkube.Credentials{ServerCA: server, ClientCA: client, AdminCertPEM: sc.AdminCertPEM, AdminKeyPEM: sc.AdminKeyPEM}
	return c, nil
}

type storedK3sNode struct {
	Hostname string `json:"hostname"`
	Role     string `json:"role,omitempty"`
	Version  string `json:"version,omitempty"`
	Etcd     bool   `json:"etcd,omitempty"`
	Cluster  int    `json:"cluster"` // index into Clusters, -1 for none
	// Joined is when it joined its cluster: its node object's creation.
	Joined time.Time `json:"joined,omitzero"`
}

// OpenK3s returns a board's k3s kept in the file at path: the installs a
// previous run left, and every change saved by [K3s.Save]. A missing
// file is a board where nothing is installed; an unreadable one is an
// error, so that no install is silently forgotten.
func OpenK3s(path string, c K3sConfig) (*K3s, error) {
	w := NewK3sWith(c)
	w.store = &k3sStore{path: path, disks: map[string]string{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simssh: read k3s state: %w", err)
	}
	var st storedK3s
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("simssh: k3s state %s: %w", path, err)
	}
	clusters := make([]*k3sCluster, len(st.Clusters))
	for i, c := range st.Clusters {
		if clusters[i], err = c.load(); err != nil {
			return nil, fmt.Errorf("simssh: k3s state %s: cluster %d: %w", path, i, err)
		}
	}
	for key, sn := range st.Nodes {
		// Files written over SSH are not kept: only the install is.
		n := &K3sNode{w: w, key: key, files: NewFiles(), hostname: sn.Hostname, role: sn.Role, version: sn.Version, etcd: sn.Etcd, joined: sn.Joined}
		if sn.Cluster >= 0 && sn.Cluster < len(clusters) {
			n.cluster = clusters[sn.Cluster]
		}
		w.nodes[key] = n
	}
	for i, c := range st.Clusters {
		for _, key := range c.Members {
			if n := w.nodes[key]; n != nil && n.cluster == clusters[i] {
				clusters[i].members = append(clusters[i].members, n)
			}
		}
	}
	for k, v := range st.Disks {
		w.store.disks[k] = v
	}
	w.store.last = data
	return w, nil
}

// Save writes the installs to the file OpenK3s read, when they changed
// since it was last written; a K3s made by NewK3s keeps nothing.
func (w *K3s) Save() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.store == nil || w.store.path == "" {
		return nil
	}
	st := storedK3s{Clusters: []storedCluster{}, Nodes: map[string]storedK3sNode{}, Disks: w.store.disks}
	index := map[*k3sCluster]int{}
	keys := make([]string, 0, len(w.nodes))
	for k := range w.nodes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		n := w.nodes[k]
		sn := storedK3sNode{Hostname: n.hostname, Role: n.role, Version: n.version, Etcd: n.etcd, Cluster: -1, Joined: n.joined}
		if c := n.cluster; c != nil {
			i, ok := index[c]
			if !ok {
				i = len(st.Clusters)
				index[c] = i
				sc, err := storeCluster(c)
				if err != nil {
					return fmt.Errorf("simssh: encode k3s state: %w", err)
				}
				st.Clusters = append(st.Clusters, sc)
			}
			sn.Cluster = i
		}
		st.Nodes[k] = sn
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("simssh: encode k3s state: %w", err)
	}
	if bytes.Equal(data, w.store.last) {
		return nil
	}
	if err := atomicfile.Write(w.store.path, data, 0o600); err != nil {
		return fmt.Errorf("simssh: save k3s state: %w", err)
	}
	w.store.last = data
	return nil
}

// saveK3s keeps what a command changed of the node's k3s.
func (s *Server) saveK3s() {
	if s.k3s == nil {
		return
	}
	if err := s.k3s.w.Save(); err != nil {
		s.log.Warn("simssh: k3s state not saved", "err", err)
	}
}

// Disk is what the node known as key last booted from (a generation of
// its disk, such as its eMMC file's modification time and size), "" if
// it never booted; SetDisk records it. A node that finds another disk
// than last time was re-flashed, which wipes its install ([K3sNode.Wipe]).
func (w *K3s) Disk(key string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.store == nil {
		return ""
	}
	return w.store.disks[key]
}

// SetDisk records the disk generation the node known as key booted from;
// Save keeps it.
func (w *K3s) SetDisk(key, gen string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.store == nil {
		w.store = &k3sStore{disks: map[string]string{}}
	}
	w.store.disks[key] = gen
}
