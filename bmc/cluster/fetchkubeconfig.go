package cluster

import (
	"context"
	"fmt"
)

// FetchKubeconfig reads the k3s server's admin kubeconfig over r and
// rewrites it for the workstation ([RewriteK3sKubeconfig]): server URL
// host, and cluster, context and user named name.
func FetchKubeconfig(ctx context.Context, r Runner, name, host string) (*Kubeconfig, error) {
	res, err := r.Run(ctx, CmdCatKubeconfig, nil)
	if err != nil {
		return nil, err
	}
	kc, err := RewriteK3sKubeconfig(res.Stdout, name, host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", K3sKubeconfigPath, err)
	}
	return kc, nil
}
