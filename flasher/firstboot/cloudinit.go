package firstboot

import (
	"fmt"
	"strings"
)

// cloudInitFiles renders the NoCloud seed: user-data, meta-data and, when
// asked, network-config. plural selects a `users:` list (HypriotOS's old
// cloud-init) instead of the singular `user:` Raspberry Pi Imager writes,
// which amends the image's default user and keeps its groups.
func cloudInitFiles(s Seed, plural bool) (map[string]string, error) {
	ud, err := userData(s, plural)
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"user-data": ud,
		"meta-data": fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", s.InstanceID, s.Hostname),
	}
	if s.NetworkConfig != "" {
		nc := s.NetworkConfig
		if !strings.HasSuffix(nc, "\n") {
			nc += "\n"
		}
		files["network-config"] = nc
	}
	return files, nil
}

func userData(s Seed, plural bool) (string, error) {
	priv, err := s.HostKey.privatePEM()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("#cloud-config\n# Written by bmcd at flash time; the secret lines are removed after the first boot.\n")
	w("hostname: %s\nmanage_etc_hosts: true\n", s.Hostname)
	ind := "  "
	if plural {
		w("users:\n  - name: %s\n", s.user())
		ind = "    "
		w("%sgroups: [users, sudo, video, docker]\n%sshell: /bin/bash\n", ind, ind)
	} else {
		w("user:\n  name: %s\n", s.user())
	}
	if s.PasswordHash != "" {
		w("%slock_passwd: false\n%spasswd: \"%s\" %s\n", ind, ind, s.PasswordHash, secretTag)
	} else {
		// No password: key login only, and sudo must not ask for one.
		w("%slock_passwd: true\n%ssudo: \"ALL=(ALL) NOPASSWD:ALL\"\n", ind, ind)
	}
	w("%sssh_authorized_keys:\n", ind)
	for _, k := range s.AuthorizedKeys {
		w("%s  - %s\n", ind, k)
	}
	w("ssh_pwauth: %t\n", s.PasswordHash != "")
	w("write_files:\n")
	writeFile(&b, markerScriptPath, "0755", markerScript)
	writeFile(&b, "/etc/systemd/system/"+markerUnitName, "0644", markerUnit)
	writeFile(&b, scrubScriptPath, "0755", scrubScript)
	w("runcmd:\n")
	// Raspberry Pi OS regenerates host keys on first boot unless told not to.
	w("  - [sh, -c, \"systemctl disable regenerate_ssh_host_keys 2>/dev/null || true\"]\n")
	w("  - [systemctl, enable, --now, ssh]\n")
	if s.K3sPrep {
		w("  - [timedatectl, set-ntp, \"true\"]\n")
	}
	w("  - [systemctl, enable, --now, %s]\n", markerUnitName)
	w("  - [%s]\n", scrubScriptPath)
	w("%s\nssh_deletekeys: true\nssh_keys:\n  ed25519_private: |\n", secretBegin)
	for _, l := range strings.Split(strings.TrimSuffix(priv, "\n"), "\n") {
		w("    %s\n", l)
	}
	w("  ed25519_public: %s\n%s\n", s.HostKey.PublicLine(), secretEnd)
	return b.String(), nil
}

func writeFile(b *strings.Builder, path, perm, content string) {
	fmt.Fprintf(b, "  - path: %s\n    permissions: \"%s\"\n    content: |\n", path, perm)
	for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(b, "      %s\n", l)
	}
}
