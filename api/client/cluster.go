package client

import (
	"context"
	"net/http"

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
