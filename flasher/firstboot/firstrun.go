package firstboot

import (
	"fmt"
	"strings"
)

// firstrunCmdline is what Raspberry Pi Imager appends to cmdline.txt for its
// `systemd` format: run the script once, reboot when it succeeds.
const firstrunCmdline = "systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target"

// firstrunScript renders firstrun.sh for Raspberry Pi OS Bookworm. Like
// Imager's it uses raspberrypi-sys-mods' helpers when present, deletes
// itself and takes its entry off cmdline.txt; it holds the secrets, so
// deleting it is what removes them. Its first lines are plain shell
// assignments that ParseFirstrun reads back.
func firstrunScript(s Seed) (string, error) {
	priv, err := s.HostKey.privatePEM()
	if err != nil {
		return "", err
	}
	hash := s.PasswordHash
	if hash == "" {
		hash = "*" // locked: keys only
	}
	k3s := 0
	if s.K3sPrep {
		k3s = 1
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("#!/bin/bash\n# Written by bmcd at flash time; runs once, then deletes itself.\nset +e\n\n")
	w("BMCD_HOSTNAME='%s'\nBMCD_USER='%s'\nBMCD_PASSWORD_HASH='%s'\nBMCD_K3S_PREP=%d\n", s.Hostname, s.user(), hash, k3s)
	w("BMCD_AUTHORIZED_KEYS='%s'\n", strings.Join(s.AuthorizedKeys, "\n"))
	w("BMCD_HOST_KEY_PUB='%s'\nBMCD_HOST_KEY='%s'\n\n", s.HostKey.PublicLine(), strings.TrimSuffix(priv, "\n"))
	b.WriteString(firstrunBody)
	w("cat >%s <<'BMCD_EOF'\n%sBMCD_EOF\nchmod 755 %s\n", markerScriptPath, markerScript, markerScriptPath)
	w("cat >/etc/systemd/system/%s <<'BMCD_EOF'\n%sBMCD_EOF\n", markerUnitName, markerUnit)
	w("systemctl enable %s\n\n", markerUnitName)
	b.WriteString(firstrunTail)
	return b.String(), nil
}

const firstrunBody = `CURRENT_HOSTNAME=$(tr -d ' \t\n\r' </etc/hostname)
if [ -x /usr/lib/raspberrypi-sys-mods/imager_custom ]; then
	/usr/lib/raspberrypi-sys-mods/imager_custom set_hostname "$BMCD_HOSTNAME"
else
	echo "$BMCD_HOSTNAME" >/etc/hostname
	sed -i "s/127.0.1.1.*$CURRENT_HOSTNAME/127.0.1.1\t$BMCD_HOSTNAME/g" /etc/hosts
fi

FIRSTUSER=$(getent passwd 1000 | cut -d: -f1)
if [ -x /usr/lib/userconf-pi/userconf ]; then
	/usr/lib/userconf-pi/userconf "$BMCD_USER" "$BMCD_PASSWORD_HASH"
elif [ -n "$FIRSTUSER" ] && [ "$FIRSTUSER" != "$BMCD_USER" ]; then
	usermod -l "$BMCD_USER" -d "/home/$BMCD_USER" -m "$FIRSTUSER"
	groupmod -n "$BMCD_USER" "$FIRSTUSER"
	echo "$BMCD_USER:$BMCD_PASSWORD_HASH" | chpasswd -e
fi
if [ "$BMCD_PASSWORD_HASH" = '*' ]; then
	echo "$BMCD_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/010_bmcd-nopasswd
	chmod 440 /etc/sudoers.d/010_bmcd-nopasswd
	sed -i 's/^#\?PasswordAuthentication.*/PasswordAuthentication no/' /etc/ssh/sshd_config
fi
HOMEDIR=$(getent passwd "$BMCD_USER" | cut -d: -f6)
install -d -m 700 -o "$BMCD_USER" -g "$BMCD_USER" "$HOMEDIR/.ssh"
printf '%s\n' "$BMCD_AUTHORIZED_KEYS" >"$HOMEDIR/.ssh/authorized_keys"
chown "$BMCD_USER:$BMCD_USER" "$HOMEDIR/.ssh/authorized_keys"
chmod 600 "$HOMEDIR/.ssh/authorized_keys"

` + installHostKey + `
if [ "$BMCD_K3S_PREP" = 1 ]; then
	systemctl enable systemd-timesyncd
fi

`

const firstrunTail = `for d in /boot/firmware /boot; do
	rm -f "$d/firstrun.sh"
	[ -f "$d/cmdline.txt" ] && sed -i 's| systemd.run.*||g' "$d/cmdline.txt"
done
exit 0
`

// installHostKey puts the recorded host key in place of any other, using
// the BMCD_HOST_KEY variables; Raspberry Pi OS would otherwise regenerate.
const installHostKey = `# The host key bmcd recorded: keep Raspberry Pi OS from replacing it.
systemctl disable regenerate_ssh_host_keys 2>/dev/null
rm -f /etc/ssh/ssh_host_*_key*
printf '%s\n' "$BMCD_HOST_KEY" >/etc/ssh/ssh_host_ed25519_key
chmod 600 /etc/ssh/ssh_host_ed25519_key
printf '%s\n' "$BMCD_HOST_KEY_PUB" >/etc/ssh/ssh_host_ed25519_key.pub
chmod 644 /etc/ssh/ssh_host_ed25519_key.pub
ssh-keygen -A
systemctl enable ssh
`
