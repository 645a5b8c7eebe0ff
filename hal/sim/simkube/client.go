package simkube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// KubectlGetNodesJSON asks the API at server (an https URL) for its nodes
// with the admin's credentials from c, trusting c's server CA, and
// returns them as `kubectl get nodes -o json` prints them: a v1 List of
// the Node objects, keys sorted, indented by four spaces. A node's
// `k3s kubectl` does this against its own API.
func KubectlGetNodesJSON(ctx context.Context, server string, c *Credentials) ([]byte, error) {
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.ServerCA.Cert)
	kp, err := tls.X509KeyPair(c.AdminCertPEM, c.AdminKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: admin certificate: %w", server, err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{kp}, ServerName: u.Hostname()}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v1/nodes", nil)
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("simkube: get nodes from %s: %s: %s", server, resp.Status, body)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	items := make([]any, len(list.Items))
	for i, it := range list.Items {
		it["apiVersion"], it["kind"] = "v1", "Node"
		items[i] = it
	}
	out, err := json.MarshalIndent(map[string]any{
		"apiVersion": "v1", "kind": "List", "items": items,
		"metadata": map[string]string{"resourceVersion": ""},
	}, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("simkube: get nodes from %s: %w", server, err)
	}
	return append(out, '\n'), nil
}
