package bmc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/turingpi-oss/bmcd/bmc/cluster"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

// Files under the state directory that hold the cluster.
const (
	clusterTokenFile      = "cluster_token"
	clusterStateFile      = "cluster.json"
	clusterKubeconfigFile = "kubeconfig.yaml"
)

// ErrNoCluster reports that bmcd has not bootstrapped a cluster yet.
var ErrNoCluster = errors.New("no cluster bootstrapped by bmcd yet")

// ClusterStatus is the cluster bmcd last bootstrapped: its nodes as the
// last cluster job left them.
type ClusterStatus struct {
	Nodes   []ClusterNode `json:"nodes"`
	Version string        `json:"k3s_version,omitempty"`
	// Airgap says the cluster was installed air-gapped: nodes added
	// later are too.
	Airgap bool `json:"airgap,omitempty"`
	// LastJob is the last cluster job's ID, and LastState how it ended.
	LastJob   int64    `json:"last_job"`
	LastState JobState `json:"last_state"`
	// Kubeconfig says whether bmcd holds the cluster's kubeconfig.
	Kubeconfig bool `json:"kubeconfig"`
}

// clusterToken returns the cluster token, generating and keeping it
// (0600) the first time: servers re-flashed later rejoin with it.
func (b *Board) clusterToken() (string, error) {
	p := filepath.Join(b.cfg.StateDir, clusterTokenFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		tok := cluster.NewToken()
		if err := atomicfile.Write(p, []byte(tok+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("bmc: save cluster token: %w", err)
		}
		return tok, nil
	}
	if err != nil {
		return "", fmt.Errorf("bmc: read cluster token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if _, herr := hex.DecodeString(tok); herr != nil || tok == "" {
		return "", fmt.Errorf("bmc: cluster token %s: not the hex token bmcd writes", p)
	}
	return tok, nil
}

// ClusterStatus returns the cluster as the last cluster job left it.
func (b *Board) ClusterStatus() (ClusterStatus, error) {
	var last *Job
	for _, j := range b.jobs.List() { // newest first
		if j.Kind == JobKindCluster {
			last = &j
			break
		}
	}
	st, err := b.readClusterState()
	switch {
	case errors.Is(err, ErrNoCluster) && last == nil:
		return ClusterStatus{}, ErrNoCluster
	case errors.Is(err, ErrNoCluster):
	case err != nil:
		return ClusterStatus{}, err
	}
	if last != nil {
		st.LastJob, st.LastState = last.ID, last.State
		if !last.State.Final() || st.Nodes == nil {
			st.Nodes, st.Version = last.Cluster.Nodes, last.Cluster.Version
		}
	}
	_, err = os.Stat(filepath.Join(b.cfg.StateDir, clusterKubeconfigFile))
	st.Kubeconfig = err == nil
	return st, nil
}

// readClusterState reads the cluster the last successful cluster job
// left; ErrNoCluster when there is none.
func (b *Board) readClusterState() (ClusterStatus, error) {
	var st ClusterStatus
	data, err := os.ReadFile(filepath.Join(b.cfg.StateDir, clusterStateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ClusterStatus{}, ErrNoCluster
	case err != nil:
		return ClusterStatus{}, fmt.Errorf("bmc: read cluster state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return ClusterStatus{}, fmt.Errorf("bmc: cluster state %s: %w", clusterStateFile, err)
	}
	return st, nil
}

// saveClusterState keeps the nodes of a finished cluster job.
func (b *Board) saveClusterState(st ClusterStatus) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("bmc: encode cluster state: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(b.cfg.StateDir, clusterStateFile), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("bmc: save cluster state: %w", err)
	}
	return nil
}

// ClusterKubeconfig returns the kubeconfig bmcd kept after the last
// successful cluster job.
func (b *Board) ClusterKubeconfig() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(b.cfg.StateDir, clusterKubeconfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoCluster
	}
	if err != nil {
		return nil, fmt.Errorf("bmc: read kubeconfig: %w", err)
	}
	return data, nil
}
