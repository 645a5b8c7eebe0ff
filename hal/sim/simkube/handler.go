package simkube

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// Config is what an API server knows of its cluster.
type Config struct {
	// Credentials are the cluster's CAs: client certificates must come
	// from the client CA; /cacerts serves the server CA. Required.
	Credentials *Credentials
	// Nodes lists the nodes that joined, asked at every request. Required.
	Nodes NodeLister
	// Version is the server's k3s version, "v1.33.1+k3s1", as /version
	// tells it.
	Version string
	// Clock dates ages and certificate checks; nil is the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger
}

// adminGroup is the group whose members may read nodes: k3s.yaml's admin
// is in it.
const adminGroup = "system:masters"

type handler struct {
	cfg   Config
	roots *x509.CertPool
	clock clockwork.Clock
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewHandler serves the part of the Kubernetes API that `kubectl get
// nodes` (and `kubectl version`, `kubectl get --raw /readyz`) use, plus
// the k3s supervisor's /cacerts and /ping, from cfg. Give it a TLS
// connection that requests client certificates ([TLSConfig]): as k3s's
// API server (anonymous auth off) it answers 401 to a request without a
// client certificate from the client CA, and 403 to a verified user
// outside system:masters asking for nodes.
func NewHandler(cfg Config) http.Handler {
	h := &handler{cfg: cfg, roots: x509.NewCertPool(), clock: cfg.Clock, log: cfg.Logger, mux: http.NewServeMux()}
	if h.clock == nil {
		h.clock = clockwork.NewRealClock()
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.roots.AddCert(cfg.Credentials.ClientCA.Cert)
	// The k3s supervisor's endpoints need no credentials: joining nodes
	// fetch the CA before they have any.
	h.mux.HandleFunc("GET /cacerts", h.cacerts)
	h.mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("pong"))
	})
	h.mux.Handle("GET /version", h.authed(h.version))
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		h.mux.Handle("GET "+p, h.authed(h.health))
		h.mux.Handle("GET "+p+"/{check}", h.authed(h.health))
	}
	h.mux.Handle("GET /api", h.authed(h.coreDiscovery))
	h.mux.Handle("GET /apis", h.authed(h.groupDiscovery))
	h.mux.Handle("GET /api/v1", h.authed(h.coreResources))
	h.mux.Handle("GET /api/v1/nodes", h.authed(h.admin(h.listNodes)))
	h.mux.Handle("GET /api/v1/nodes/{name}", h.authed(h.admin(h.getNode)))
	h.mux.Handle("/", h.authed(func(w http.ResponseWriter, r *http.Request, _ user) {
		if r.Method != http.MethodGet && knownPath(r.URL.Path) {
			writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
			return
		}
		writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}))
	return h
}

func knownPath(p string) bool {
	return p == "/api/v1/nodes" || strings.HasPrefix(p, "/api/v1/nodes/") || slices.Contains([]string{"/version", "/api", "/apis", "/api/v1"}, p)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h.mux.ServeHTTP(rec, r)
	h.log.Debug("simkube: request", "method", r.Method, "path", r.URL.Path, "accept", r.Header.Get("Accept"), "status", rec.status)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// user is an authenticated client: its certificate's CN and O.
type user struct {
	name   string
	groups []string
}

// authed lets only clients with a certificate from the client CA reach
// next, as the x509 authenticator does.
func (h *handler) authed(next func(http.ResponseWriter, *http.Request, user)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := h.authenticate(r)
		if err != nil {
			h.log.Debug("simkube: unauthorized", "path", r.URL.Path, "err", err)
			writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
			return
		}
		next(w, r, u)
	})
}

func (h *handler) authenticate(r *http.Request) (user, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return user{}, fmt.Errorf("no client certificate")
	}
	certs := r.TLS.PeerCertificates
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{
		Roots: h.roots, Intermediates: inter, CurrentTime: h.clock.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return user{}, err
	}
	return user{name: certs[0].Subject.CommonName, groups: certs[0].Subject.Organization}, nil
}

// admin lets only system:masters read nodes; the simulated cluster has
// no RBAC beyond that.
func (h *handler) admin(next func(http.ResponseWriter, *http.Request, user)) func(http.ResponseWriter, *http.Request, user) {
	return func(w http.ResponseWriter, r *http.Request, u user) {
		if !slices.Contains(u.groups, adminGroup) {
			verb := "list"
			if r.PathValue("name") != "" {
				verb = "get"
			}
			writeStatus(w, http.StatusForbidden, "Forbidden", fmt.Sprintf(
				"nodes is forbidden: User %q cannot %s resource \"nodes\" in API group \"\" at the cluster scope", u.name, verb))
			return
		}
		next(w, r, u)
	}
}

func (h *handler) cacerts(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(h.cfg.Credentials.ServerCA.PEM())
}

// version is /version: Kubernetes' version info for the k3s version.
func (h *handler) version(w http.ResponseWriter, _ *http.Request, _ user) {
	v := h.cfg.Version
	major, minor := "", ""
	if parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]string{
		"major": major, "minor": minor, "gitVersion": v, "gitCommit": "0000000000000000000000000000000000000000",
		"gitTreeState": "clean", "buildDate": "2025-05-01T00:00:00Z", "goVersion": "go1.24.2",
		"compiler": "gc", "platform": "linux/" + defaultArch,
	})
}

// healthChecks are the checks ?verbose lists.
var healthChecks = []string{"ping", "log", "etcd", "poststarthook/start-apiextensions-informers", "poststarthook/bootstrap-controller"}

// health is /healthz, /livez and /readyz (and their checks): the
// simulated server is healthy while it serves.
func (h *handler) health(w http.ResponseWriter, r *http.Request, _ user) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if c := r.PathValue("check"); c != "" {
		if !slices.Contains(healthChecks, c) {
			writeStatus(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
			return
		}
		_, _ = w.Write([]byte("ok"))
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; !verbose {
		_, _ = w.Write([]byte("ok"))
		return
	}
	var b strings.Builder
	for _, c := range healthChecks {
		fmt.Fprintf(&b, "[+]%s ok\n", c)
	}
	fmt.Fprintf(&b, "%s check passed\n", strings.TrimPrefix(r.URL.Path, "/"))
	_, _ = w.Write([]byte(b.String()))
}

// listed is the node list with each node's place and the list's
// resource version, which changes when the list does.
func (h *handler) listed() ([]Node, string) {
	nodes := h.cfg.Nodes.ListNodes()
	f := fnv.New32a()
	for _, n := range nodes {
		fmt.Fprintf(f, "%s/%s/%t/%t/%t/%s/%d;", n.Name, n.InternalIP, n.Server, n.Etcd, n.Ready, n.KubeletVersion, n.Created.UnixNano())
	}
	return nodes, strconv.FormatUint(uint64(f.Sum32()), 10)
}

func (h *handler) listNodes(w http.ResponseWriter, r *http.Request, _ user) {
	if _, watch := r.URL.Query()["watch"]; watch {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "the simulated API server does not support watch")
		return
	}
	nodes, rv := h.listed()
	objs := make([]nodeObject, len(nodes))
	for i, n := range nodes {
		objs[i] = n.object(i, rv)
	}
	// Listed by name, as the API server reads them from etcd.
	slices.SortFunc(objs, func(a, b nodeObject) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	h.writeNodes(w, r, objs, rv, true)
}

func (h *handler) getNode(w http.ResponseWriter, r *http.Request, _ user) {
	name := r.PathValue("name")
	nodes, rv := h.listed()
	i := slices.IndexFunc(nodes, func(n Node) bool { return n.Name == name })
	if i < 0 {
		writeStatusDetails(w, http.StatusNotFound, "NotFound", fmt.Sprintf("nodes %q not found", name), name)
		return
	}
	h.writeNodes(w, r, []nodeObject{nodes[i].object(i, rv)}, rv, false)
}

// writeNodes answers with nodes as a Table when the client asks for one
// (kubectl get's server-side printing), else as a NodeList (list) or a
// Node.
func (h *handler) writeNodes(w http.ResponseWriter, r *http.Request, objs []nodeObject, rv string, list bool) {
	tv, ok := negotiate(r.Header.Get("Accept"), "Table", "meta.k8s.io", "v1", "v1beta1")
	if !ok {
		writeStatus(w, http.StatusNotAcceptable, "NotAcceptable", "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io")
		return
	}
	if tv != "" {
		writeJSON(w, http.StatusOK, "application/json;as=Table;v="+tv+";g=meta.k8s.io",
			nodeTable(objs, "meta.k8s.io/"+tv, rv, r.URL.Query().Get("includeObject"), h.clock.Now()))
		return
	}
	if !list {
		writeJSON(w, http.StatusOK, "application/json", objs[0])
		return
	}
	for i := range objs {
		objs[i].APIVersion, objs[i].Kind = "", "" // items of a list carry neither
	}
	writeJSON(w, http.StatusOK, "application/json", struct {
		Kind       string            `json:"kind"`
		APIVersion string            `json:"apiVersion"`
		Metadata   map[string]string `json:"metadata"`
		Items      []nodeObject      `json:"items"`
	}{"NodeList", "v1", map[string]string{"resourceVersion": rv}, objs})
}

// status is a metav1.Status, the body of every API error.
type status struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   struct{}       `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
	Details    *statusDetails `json:"details,omitempty"`
	Code       int            `json:"code"`
}

type statusDetails struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, "application/json", status{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: msg, Reason: reason, Code: code})
}

func writeStatusDetails(w http.ResponseWriter, code int, reason, msg, name string) {
	writeJSON(w, code, "application/json", status{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: msg, Reason: reason, Code: code,
		Details: &statusDetails{Name: name, Kind: "nodes"}})
}

func writeJSON(w http.ResponseWriter, code int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the types above always marshal
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// age is kubectl's AGE text for the time since t (Kubernetes'
// HumanDuration: more precise while young).
func age(now, t time.Time) string {
	d := now.Sub(t)
	if d < -time.Second {
		return "<invalid>"
	}
	if d < 0 {
		return "0s"
	}
	sec := int(d / time.Second)
	if sec < 120 {
		return fmt.Sprintf("%ds", sec)
	}
	min := int(d / time.Minute)
	switch {
	case min < 10:
		if s := sec % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", min, s)
		}
		return fmt.Sprintf("%dm", min)
	case min < 180:
		return fmt.Sprintf("%dm", min)
	}
	hours := int(d / time.Hour)
	switch {
	case hours < 8:
		if m := min % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*2:
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*8:
		if dy := (hours / 24) % 365; dy != 0 {
			return fmt.Sprintf("%dy%dd", hours/24/365, dy)
		}
		return fmt.Sprintf("%dy", hours/24/365)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}
