// Package simkube is the API of a simulated k3s server: the part of the
// Kubernetes API that `kubectl get nodes` uses, over TLS with client
// certificates, answering with the nodes that actually joined the
// simulated cluster ([NodeLister]).
//
// It serves, as k3s does on port 6443:
//
//   - the k3s supervisor's /cacerts (the server CA, which a joining node
//     checks against its K10<hash> token) and /ping, without credentials;
//   - /version (the k3s version), /healthz, /livez and /readyz (with
//     ?verbose and per check);
//   - discovery: aggregated (apidiscovery.k8s.io v2 and v2beta1, what
//     kubectl 1.30 and later ask first) and legacy (/api, /apis,
//     /api/v1), with nodes the only resource;
//   - /api/v1/nodes and /api/v1/nodes/NAME: a NodeList or Node, or the
//     meta.k8s.io Table that kubectl get asks for (server-side printing:
//     NAME, STATUS, ROLES, AGE, VERSION, and with -o wide INTERNAL-IP and
//     the rest). A node whose kubelet stopped (powered off) is NotReady,
//     its conditions Unknown; a node that failed to join is not listed.
//
// Everything but /cacerts and /ping needs a client certificate from the
// cluster's client CA (k3s runs with anonymous auth off): none, or one
// from another CA, is 401 Unauthorized; a verified user outside
// system:masters reading nodes is 403 Forbidden. Watch, writes, other
// resources and protobuf are not served (400, 405, 404, 406).
//
// [Credentials] makes a cluster's secrets as a k3s server's first start
// does: a server CA, a client CA and the admin's client certificate; it
// writes k3s.yaml ([Credentials.Kubeconfig]), node-tokens
// ([Credentials.Token]) and the API's serving certificate, whose SANs are
// k3s's defaults plus the node's addresses. [Listen] runs the API on an
// address; [NewHandler] and [TLSConfig] serve it on a listener of one's
// own.
package simkube
