package kubeconfig

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid reports a kubeconfig that cannot be parsed or lacks what
// bmcd needs from it.
var ErrInvalid = errors.New("invalid kubeconfig")

// Config is a kubectl config file, parsed structurally. Fields bmcd
// does not touch are kept as they were (Extra, and each entry's body).
type Config struct {
	APIVersion     string         `yaml:"apiVersion,omitempty"`
	Kind           string         `yaml:"kind,omitempty"`
	Clusters       []NamedEntry   `yaml:"clusters"`
	Contexts       []NamedEntry   `yaml:"contexts"`
	Users          []NamedEntry   `yaml:"users"`
	CurrentContext string         `yaml:"current-context,omitempty"`
	Extra          map[string]any `yaml:",inline"`
}

// NamedEntry is one cluster, context or user: its name and its body (the
// "cluster", "context" or "user" mapping), kept as parsed.
type NamedEntry struct {
	Name  string         `yaml:"name"`
	Body  map[string]any `yaml:"-"`
	Extra map[string]any `yaml:",inline"`
}

// Parse parses a kubeconfig. An empty document is an empty
// config; entries without a name are refused.
func Parse(data []byte) (*Config, error) {
	var kc Config
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if kc.Kind != "" && kc.Kind != "Config" {
		return nil, fmt.Errorf("%w: kind %q, want Config", ErrInvalid, kc.Kind)
	}
	for _, l := range kc.lists() {
		for i := range *l.entries {
			e := &(*l.entries)[i]
			if e.Name == "" {
				return nil, fmt.Errorf("%w: %s entry %d has no name", ErrInvalid, l.key, i)
			}
			body, err := takeBody(e.Extra, l.key)
			if err != nil {
				return nil, fmt.Errorf("%w: %s %q: %w", ErrInvalid, l.key, e.Name, err)
			}
			e.Body = body
		}
	}
	return &kc, nil
}

// takeBody removes the entry's body mapping (under key) from extra.
func takeBody(extra map[string]any, key string) (map[string]any, error) {
	v, ok := extra[key]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	delete(extra, key)
	body, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is a %T, not a mapping", key, v)
	}
	return body, nil
}

type entryList struct {
	key     string // body key of an entry: cluster, context, user
	entries *[]NamedEntry
}

func (kc *Config) lists() []entryList {
	return []entryList{{"cluster", &kc.Clusters}, {"context", &kc.Contexts}, {"user", &kc.Users}}
}

// Marshal encodes the kubeconfig as YAML.
func (kc *Config) Marshal() ([]byte, error) {
	out := *kc
	if out.APIVersion == "" {
		out.APIVersion = "v1"
	}
	out.Kind = "Config"
	for _, l := range out.lists() {
		enc := make([]NamedEntry, len(*l.entries))
		for i, e := range *l.entries {
			extra := map[string]any{l.key: e.Body}
			for k, v := range e.Extra {
				extra[k] = v
			}
			enc[i] = NamedEntry{Name: e.Name, Extra: extra}
		}
		*l.entries = enc
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&out); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return b.Bytes(), nil
}

// RewriteK3s turns a k3s server's k3s.yaml (one cluster, context
// and user, all named "default", server https://127.0.0.1:6443) into the
// workstation's view: the server URL's host becomes host (its port is
// kept) and cluster, context and user are all named name, which becomes
// the current context.
func RewriteK3s(data []byte, name, host string) (*Config, error) {
	if name == "" || host == "" {
		return nil, fmt.Errorf("rewrite kubeconfig: cluster name %q and server host %q must be set", name, host)
	}
	kc, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if len(kc.Clusters) != 1 || len(kc.Contexts) != 1 || len(kc.Users) != 1 {
		return nil, fmt.Errorf("%w: want one cluster, context and user, have %d, %d and %d",
			ErrInvalid, len(kc.Clusters), len(kc.Contexts), len(kc.Users))
	}
	cl := &kc.Clusters[0]
	server, _ := cl.Body["server"].(string)
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%w: cluster %q: server %q is not an https URL", ErrInvalid, cl.Name, server)
	}
	port := u.Port()
	if port == "" {
		port = "6443"
	}
	u.Host = net.JoinHostPort(host, port)
	cl.Body["server"] = u.String()
	cl.Name = name
	kc.Users[0].Name = name
	ctx := &kc.Contexts[0]
	ctx.Name = name
	ctx.Body["cluster"] = name
	ctx.Body["user"] = name
	kc.CurrentContext = name
	return kc, nil
}

// Merge puts the cluster, context and user named name from add
// into existing (e.g. ~/.kube/config; empty for none): entries of that
// name are replaced, never duplicated, so a reinstall's new CA wins, and
// everything else in existing is kept. The current context becomes name
// only when existing had none.
func Merge(existing []byte, add *Config, name string) (*Config, error) {
	kc, err := Parse(existing)
	if err != nil {
		return nil, fmt.Errorf("existing kubeconfig: %w", err)
	}
	addLists := add.lists()
	for i, l := range kc.lists() {
		idx := slices.IndexFunc(*addLists[i].entries, func(e NamedEntry) bool { return e.Name == name })
		if idx < 0 {
			return nil, fmt.Errorf("%w: no %s named %q to merge", ErrInvalid, l.key, name)
		}
		kept := slices.DeleteFunc(*l.entries, func(e NamedEntry) bool { return e.Name == name })
		*l.entries = append(kept, (*addLists[i].entries)[idx])
	}
	if kc.CurrentContext == "" {
		kc.CurrentContext = name
	}
	return kc, nil
}
