package cluster

import (
	"context"
	"fmt"

	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
)

// K3sKubeconfigPath is where a k3s server writes its admin kubeconfig.
const K3sKubeconfigPath = "/etc/rancher/k3s/k3s.yaml"

// FetchKubeconfig reads the k3s server's admin kubeconfig over r and
// rewrites it for the workstation ([kubeconfig.RewriteK3s]): server URL
// host, and cluster, context and user named name.
func FetchKubeconfig(ctx context.Context, r Runner, name, host string) (*kubeconfig.Config, error) {
	res, err := r.Run(ctx, CmdCatKubeconfig, nil)
	if err != nil {
		return nil, err
	}
	kc, err := kubeconfig.RewriteK3s(res.Stdout, name, host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", K3sKubeconfigPath, err)
	}
	return kc, nil
}
