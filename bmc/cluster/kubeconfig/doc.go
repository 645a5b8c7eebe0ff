// Package kubeconfig reads, rewrites and merges kubectl config files as
// parsed YAML, never as text: [RewriteK3s] turns a k3s server's k3s.yaml
// into the workstation's view of the cluster and [Merge] puts a cluster's
// entries into an existing config, replacing (never duplicating) the
// entries of that name so a reinstall's new CA wins.
//
// It is a leaf: it imports only the standard library and the YAML
// module, so bmcctl can link it to merge into ~/.kube/config without
// linking the rest of bmcd.
package kubeconfig
