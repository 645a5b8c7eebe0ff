package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/turingpi-oss/bmcd/api/client"
	"github.com/turingpi-oss/bmcd/bmc/cluster/kubeconfig"
	"github.com/turingpi-oss/bmcd/hal/atomicfile"
)

func newClusterKubeconfig(e *env) *cobra.Command {
	var merge bool
	var path string
	cmd := &cobra.Command{
		Use:   "kubeconfig [--merge [--kubeconfig PATH]]",
		Short: "Print the cluster's kubeconfig, or merge it into ~/.kube/config",
		Long: "Print the kubeconfig bmcd fetched from the first server: its server URL is\n" +
			"the server's address, and its cluster, context and user are named turingpi.\n" +
			"With --merge it goes into your kubeconfig instead ($KUBECONFIG's first file,\n" +
			"else ~/.kube/config; --kubeconfig names another): the cluster, context and\n" +
			"user of that name are replaced, never duplicated, so a reinstall's new CA\n" +
			"wins; everything else is kept. The file is written whole (temporary file,\n" +
			"then rename) with mode 0600; the current context is set only if there was none.",
		Example: "  bmcctl cluster kubeconfig > kc && kubectl --kubeconfig kc get nodes\n" +
			"  bmcctl cluster kubeconfig --merge && kubectl --context turingpi get nodes",
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path != "" && !merge {
				return usagef("--kubeconfig is where --merge writes: give --merge too")
			}
			return e.call(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				data, err := c.Kubeconfig(ctx)
				if err != nil {
					return err
				}
				if !merge {
					_, err = e.stdout.Write(data)
					return err
				}
				target := path
				if target == "" {
					if target, err = defaultKubeconfigPath(os.Getenv, os.UserHomeDir); err != nil {
						return err
					}
				}
				name, err := mergeKubeconfigFile(target, data)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "merged cluster, context and user %q into %s\n", name, target)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&merge, "merge", false, "merge into your kubeconfig instead of printing it")
	cmd.Flags().StringVar(&path, "kubeconfig", "", "the kubeconfig --merge writes (default: $KUBECONFIG's first file, else ~/.kube/config)")
	return cmd
}

// defaultKubeconfigPath is the file kubectl itself would write to: the
// first entry of $KUBECONFIG, else ~/.kube/config.
func defaultKubeconfigPath(getenv func(string) string, home func() (string, error)) (string, error) {
	for p := range strings.SplitSeq(getenv("KUBECONFIG"), string(os.PathListSeparator)) {
		if p != "" {
			return p, nil
		}
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("kubeconfig: no $KUBECONFIG and no home directory: %w", err)
	}
	return filepath.Join(h, ".kube", "config"), nil
}

// mergeKubeconfigFile merges the cluster's kubeconfig (as bmcd serves it:
// one cluster, context and user, all named as its current context) into
// the file at path, which may not exist yet, and returns that name. An
// unreadable existing file is left as it is.
func mergeKubeconfigFile(path string, served []byte) (string, error) {
	add, err := kubeconfig.Parse(served)
	if err != nil {
		return "", fmt.Errorf("kubeconfig from bmcd: %w", err)
	}
	name := add.CurrentContext
	if name == "" {
		return "", fmt.Errorf("kubeconfig from bmcd: %w: no current context to name the cluster by", kubeconfig.ErrInvalid)
	}
	existing, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		existing = nil
	case err != nil:
		return "", fmt.Errorf("read kubeconfig %s: %w", path, err)
	}
	merged, err := kubeconfig.Merge(existing, add, name)
	if err != nil {
		return "", fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	out, err := merged.Marshal()
	if err != nil {
		return "", err
	}
	// kubectl creates ~/.kube as 0750; credentials inside stay 0600.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	if err := atomicfile.Write(path, out, 0o600); err != nil {
		return "", fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return name, nil
}
