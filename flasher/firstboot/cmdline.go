package firstboot

import (
	"slices"
	"sort"
	"strings"
)

// editCmdline rewrites the one line of cmdline.txt: earlier bmcd or Imager
// entries are dropped, then the new ones appended. systemd.run must come
// last, because firstrun.sh removes everything from it to the end.
func editCmdline(old string, add []string) string {
	drop := func(tok string) bool {
		for _, p := range []string{"ds=nocloud", "systemd.run=", "systemd.run_success_action=", "cgroup_memory=", "cgroup_enable=memory"} {
			if strings.HasPrefix(tok, p) {
				return true
			}
		}
		return tok == "systemd.unit=kernel-command-line.target"
	}
	toks := slices.DeleteFunc(strings.Fields(old), drop)
	return strings.Join(append(toks, add...), " ") + "\n"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
