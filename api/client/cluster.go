package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/turingpi-oss/bmcd/api/apitype"
)

// ClusterKey returns bmcd's SSH client public key line.
func (c *Client) ClusterKey(ctx context.Context) (string, error) {
	var k apitype.ClusterKey
	if err := c.do(ctx, "cluster key", http.MethodGet, "/api/v1/cluster/key", nil, &k); err != nil {
		return "", err
	}
	return k.PublicKey, nil
}

// ClusterUp queues a cluster job; follow it with Job.
func (c *Client) ClusterUp(ctx context.Context, req apitype.ClusterRequest) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, "cluster up", http.MethodPost, "/api/v1/cluster", req, &j)
}

// ClusterAdd queues a job that joins one node to the cluster.
func (c *Client) ClusterAdd(ctx context.Context, req apitype.ClusterAddRequest) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, "cluster add", http.MethodPost, "/api/v1/cluster/nodes", req, &j)
}

// ClusterRemove queues a job that takes the node named by its name, slot
// or address out of the cluster.
func (c *Client) ClusterRemove(ctx context.Context, node string) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, "cluster remove", http.MethodDelete, "/api/v1/cluster/nodes/"+url.PathEscape(node), nil, &j)
}

// ClusterDown queues a job that uninstalls k3s from every node.
func (c *Client) ClusterDown(ctx context.Context) (apitype.Job, error) {
	var j apitype.Job
	return j, c.do(ctx, "cluster down", http.MethodDelete, "/api/v1/cluster", nil, &j)
}

// ClusterStatus returns the cluster as the last cluster job left it.
func (c *Client) ClusterStatus(ctx context.Context) (apitype.ClusterStatus, error) {
	var st apitype.ClusterStatus
	return st, c.do(ctx, "cluster status", http.MethodGet, "/api/v1/cluster", nil, &st)
}

// Kubeconfig returns the cluster's kubeconfig (YAML) kept by bmcd.
func (c *Client) Kubeconfig(ctx context.Context) ([]byte, error) {
	const op = "cluster kubeconfig"
	req, err := c.newRequest(ctx, op, http.MethodGet, "/api/v1/cluster/kubeconfig", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(op, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	return data, nil
}
