package simkube_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/turingpi-oss/bmcd/hal/sim/simkube"
)

// client is an HTTPS client that trusts c's server CA, verifies the
// server's name as serverName ("" means the URL's host) and presents
// certPEM/keyPEM when given.
func client(t *testing.T, c *cluster, serverName string, certPEM, keyPEM []byte) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(c.creds.ServerCA.PEM()))
	cfg := &tls.Config{RootCAs: roots, ServerName: serverName}
	if certPEM != nil {
		kp, err := tls.X509KeyPair(certPEM, keyPEM)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{kp}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func admin(t *testing.T, c *cluster) *http.Client {
	return client(t, c, "", c.creds.AdminCertPEM, c.creds.AdminKeyPEM)
}

// get fetches path with the Accept header accept ("" for none).
func get(t *testing.T, hc *http.Client, c *cluster, method, path, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.srv.URL()+path, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestSupervisorEndpointsNeedNoCredentials(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	hc := client(t, c, "", nil, nil)
	resp, body := get(t, hc, c, "GET", "/cacerts", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, string(c.creds.ServerCA.PEM()), body)
	// A joining node checks the CA it got against its token's hash.
	token := c.creds.Token("secret")
	assert.Equal(t, "K10"+simkube.CAHash([]byte(body))+"::server:secret", token)
	resp, body = get(t, hc, c, "GET", "/ping", "")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "pong", body)
}

func TestServingCertificateNames(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	for _, name := range []string{"", "node1", "localhost", "kubernetes.default.svc"} {
		resp, _ := get(t, client(t, c, name, nil, nil), c, "GET", "/ping", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, name)
	}
	req, err := http.NewRequest("GET", c.srv.URL()+"/ping", nil)
	require.NoError(t, err)
	_, err = client(t, c, "node2", nil, nil).Do(req)
	assert.ErrorContains(t, err, "certificate is valid for", "a name the certificate does not hold")
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	other, err := simkube.NewCredentials(t0)
	require.NoError(t, err)
	viewerCert, viewerKey, err := c.creds.ClientCA.IssueClient("viewer", nil, t0)
	require.NoError(t, err)
	// A certificate from the server CA is no client certificate.
	serverCACert, serverCAKey, err := c.creds.ServerCA.IssueClient("system:admin", []string{"system:masters"}, t0)
	require.NoError(t, err)

	for _, tc := range []struct {
		name       string
		cert, key  []byte
		path       string
		wantStatus int
		wantReason string
	}{
		{"no certificate", nil, nil, "/api/v1/nodes", 401, "Unauthorized"},
		{"no certificate, version", nil, nil, "/version", 401, "Unauthorized"},
		{"no certificate, readyz", nil, nil, "/readyz", 401, "Unauthorized"},
		{"another cluster's admin", other.AdminCertPEM, other.AdminKeyPEM, "/api/v1/nodes", 401, "Unauthorized"},
		{"signed by the server CA", serverCACert, serverCAKey, "/api/v1/nodes", 401, "Unauthorized"},
		{"viewer lists nodes", viewerCert, viewerKey, "/api/v1/nodes", 403, "Forbidden"},
		{"viewer gets a node", viewerCert, viewerKey, "/api/v1/nodes/node1", 403, "Forbidden"},
		{"viewer reads the version", viewerCert, viewerKey, "/version", 200, ""},
		{"admin", c.creds.AdminCertPEM, c.creds.AdminKeyPEM, "/api/v1/nodes", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, client(t, c, "", tc.cert, tc.key), c, "GET", tc.path, "")
			assert.Equal(t, tc.wantStatus, resp.StatusCode, body)
			if tc.wantReason != "" {
				var st struct{ Kind, Reason, Message string }
				require.NoError(t, json.Unmarshal([]byte(body), &st), body)
				assert.Equal(t, "Status", st.Kind)
				assert.Equal(t, tc.wantReason, st.Reason)
			}
		})
	}
}

func TestNodeRepresentations(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	hc := admin(t, c)
	const table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	for _, tc := range []struct {
		name, method, path, accept string
		wantStatus                 int
		wantType                   string
		want                       []string
	}{
		{"list", "GET", "/api/v1/nodes", "application/json", 200, "application/json",
			[]string{`"kind":"NodeList"`, `"name":"node1"`, `"name":"node2"`, `"podCIDR":"10.42.1.0/24"`}},
		{"list, no Accept", "GET", "/api/v1/nodes", "", 200, "application/json", []string{`"kind":"NodeList"`}},
		{"list as Table", "GET", "/api/v1/nodes?limit=500", table, 200, "application/json;as=Table;v=v1;g=meta.k8s.io",
			[]string{`"kind":"Table"`, `"cells":["node1","Ready","control-plane,etcd,master","5m","v1.33.1+k3s1"`, `"kind":"PartialObjectMetadata"`}},
		{"Table v1beta1 first", "GET", "/api/v1/nodes", "application/json;as=Table;v=v1beta1;g=meta.k8s.io", 200,
			"application/json;as=Table;v=v1beta1;g=meta.k8s.io", []string{`"apiVersion":"meta.k8s.io/v1beta1"`}},
		{"Table with whole objects", "GET", "/api/v1/nodes?includeObject=Object", table, 200, "", []string{`"object":{"apiVersion":"v1","kind":"Node"`}},
		{"get", "GET", "/api/v1/nodes/node2", "application/json", 200, "application/json",
			[]string{`"kind":"Node"`, `"name":"node2"`, `"status":"Unknown"`, `"podCIDR":"10.42.1.0/24"`}},
		{"get as Table", "GET", "/api/v1/nodes/node2", table, 200, "", []string{`"cells":["node2","NotReady","\u003cnone\u003e","4m"`}},
		{"not found", "GET", "/api/v1/nodes/node9", "", 404, "application/json", []string{`"reason":"NotFound"`, `"message":"nodes \"node9\" not found"`}},
		{"protobuf only", "GET", "/api/v1/nodes", "application/vnd.kubernetes.protobuf", 406, "application/json", []string{`"reason":"NotAcceptable"`}},
		{"watch", "GET", "/api/v1/nodes?watch=1", "", 400, "application/json", []string{`does not support watch`}},
		{"delete", "DELETE", "/api/v1/nodes/node2", "", 405, "application/json", []string{`"reason":"MethodNotAllowed"`}},
		{"other resource", "GET", "/api/v1/pods", "", 404, "application/json", []string{`"reason":"NotFound"`}},
		{"legacy /api", "GET", "/api", "application/json", 200, "application/json", []string{`"kind":"APIVersions"`, `"versions":["v1"]`, `"serverAddress":"127.0.0.1:`}},
		{"legacy /apis", "GET", "/apis", "", 200, "application/json", []string{`"kind":"APIGroupList"`, `"groups":[]`}},
		{"legacy /api/v1", "GET", "/api/v1", "", 200, "application/json", []string{`"kind":"APIResourceList"`, `"name":"nodes"`, `"namespaced":false`}},
		{"aggregated /api v2beta1", "GET", "/api", "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", 200,
			"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", []string{`"resource":"nodes"`, `"scope":"Cluster"`}},
		{"readyz", "GET", "/readyz", "", 200, "text/plain; charset=utf-8", []string{"ok"}},
		{"livez", "GET", "/livez", "", 200, "text/plain; charset=utf-8", []string{"ok"}},
		{"healthz", "GET", "/healthz", "", 200, "text/plain; charset=utf-8", []string{"ok"}},
		{"health check", "GET", "/livez/ping", "", 200, "text/plain; charset=utf-8", []string{"ok"}},
		{"unknown health check", "GET", "/livez/nothing", "", 404, "application/json", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, hc, c, tc.method, tc.path, tc.accept)
			assert.Equal(t, tc.wantStatus, resp.StatusCode, body)
			if tc.wantType != "" {
				assert.Equal(t, tc.wantType, resp.Header.Get("Content-Type"))
			}
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
		})
	}
}

// The list follows the lister: a node powered off turns NotReady, one
// that leaves is gone, and the resource version changes with the list.
func TestNodesFollowTheLister(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	hc := admin(t, c)
	list := func() (rv string, ready map[string]string) {
		_, body := get(t, hc, c, "GET", "/api/v1/nodes", "application/json")
		var l struct {
			Metadata struct{ ResourceVersion string }
			Items    []struct {
				Metadata struct{ Name string }
				Status   struct {
					Conditions []struct{ Type, Status string }
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(body), &l), body)
		ready = map[string]string{}
		for _, it := range l.Items {
			for _, cd := range it.Status.Conditions {
				if cd.Type == "Ready" {
					ready[it.Metadata.Name] = cd.Status
				}
			}
		}
		return l.Metadata.ResourceVersion, ready
	}
	rv1, ready := list()
	assert.Equal(t, map[string]string{"node1": "True", "node2": "Unknown"}, ready)
	n := c.ListNodes()
	n[1].Ready = true
	c.set(n...)
	rv2, ready := list()
	assert.Equal(t, map[string]string{"node1": "True", "node2": "True"}, ready)
	assert.NotEqual(t, rv1, rv2)
	// Listed by name, whatever the join order; pod CIDRs follow joins.
	c.set(n[1], n[0])
	_, body := get(t, hc, c, "GET", "/api/v1/nodes", "")
	i1, i2 := strings.Index(body, `"name":"node1"`), strings.Index(body, `"name":"node2"`)
	assert.True(t, i1 >= 0 && i2 > i1, "node1 listed before node2: %s", body)
	assert.Regexp(t, `"name":"node1".*"podCIDR":"10\.42\.1\.0/24".*"name":"node2".*"podCIDR":"10\.42\.0\.0/24"`, body)
	c.set(n[0])
	_, ready = list()
	assert.Equal(t, map[string]string{"node1": "True"}, ready)
	c.set()
	_, body = get(t, hc, c, "GET", "/api/v1/nodes", "")
	assert.Contains(t, body, `"items":[]`)
}

func TestKubeconfigShape(t *testing.T) {
	t.Parallel()
	creds, err := simkube.NewCredentials(t0)
	require.NoError(t, err)
	kc := string(creds.Kubeconfig("https://127.0.0.1:6443"))
	for _, w := range []string{"    server: https://127.0.0.1:6443\n", "  name: default\n", "current-context: default\n", "certificate-authority-data: ", "client-certificate-data: ", "client-key-data: "} {
		assert.Contains(t, kc, w)
	}
	// client-admin.crt: the admin's certificate, then the client CA's.
	certs := strings.Count(string(creds.AdminCertPEM), "BEGIN CERTIFICATE")
	assert.Equal(t, 2, certs)
	assert.True(t, strings.HasSuffix(string(creds.AdminCertPEM), string(creds.ClientCA.PEM())))
	assert.Contains(t, creds.ServerCA.Cert.Subject.CommonName, "k3s-server-ca@")
	assert.Contains(t, creds.ClientCA.Cert.Subject.CommonName, "k3s-client-ca@")
}

func TestListenNeedsCredentialsAndNodes(t *testing.T) {
	t.Parallel()
	creds, err := simkube.NewCredentials(t0)
	require.NoError(t, err)
	for _, cfg := range []simkube.Config{{Credentials: creds}, {Nodes: simkube.NodeListerFunc(func() []simkube.Node { return nil })}} {
		_, err := simkube.Listen("127.0.0.1:0", nil, cfg)
		assert.ErrorIs(t, err, simkube.ErrConfig)
	}
}
