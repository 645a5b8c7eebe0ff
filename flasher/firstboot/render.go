package firstboot

import (
	"errors"
	"fmt"
	"os"
)

// render builds the files for the family, in writing order.
func (b *boot) render(s Seed) (map[string]string, []string, []string, error) {
	var (
		files map[string]string
		err   error
		add   []string
		notes []string
	)
	if s.K3sPrep {
		add = append(add, "cgroup_enable=memory")
	}
	switch b.plan.Family {
	case RaspiosTrixie, Ubuntu, UbuntuRockchip:
		files, err = cloudInitFiles(s, false)
		add = append(add, "ds=nocloud;i="+s.InstanceID)
	case HypriotOS:
		files, err = cloudInitFiles(s, true)
	case RaspiosBookworm:
		var sh string
		sh, err = firstrunScript(s)
		files = map[string]string{"firstrun.sh": sh}
		add = append(add, firstrunCmdline)
	case DietPi:
		var txt []byte
		if txt, err = b.read("dietpi.txt"); err == nil {
			files, err = dietpiFiles(s, string(txt))
		}
	default:
		err = fmt.Errorf("%w: family %q", ErrUnknownOS, b.plan.Family)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	order := sortedKeys(files)
	switch old, rerr := b.read("cmdline.txt"); {
	case rerr == nil && len(add) > 0:
		files["cmdline.txt"] = editCmdline(string(old), add)
		order = append(order, "cmdline.txt")
	case errors.Is(rerr, os.ErrNotExist) && s.K3sPrep:
		notes = append(notes, "no cmdline.txt: cgroup_enable=memory not set (cgroup v2 kernels enable the memory controller by default)")
	case rerr != nil && !errors.Is(rerr, os.ErrNotExist):
		return nil, nil, nil, rerr
	}
	return files, order, notes, nil
}
