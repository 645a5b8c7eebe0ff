package firstboot

// Paths the seed installs on the node's root filesystem.
const (
	markerScriptPath = "/usr/local/sbin/bmcd-firstboot-marker"
	markerUnitName   = "bmcd-firstboot-marker.service"
	scrubScriptPath  = "/usr/local/sbin/bmcd-scrub-seed"
)

// markerScript prints the marker line (see MarkerPrefix). It waits up to a
// minute for an address, then prints whatever it has: an address-less
// marker still tells bmcd the node booted with its seed.
const markerScript = `#!/bin/sh
# Installed by bmcd: prints the first-boot marker on the serial console.
i=0
while [ "$i" -lt 60 ]; do
	addrs=$(hostname -I 2>/dev/null | xargs | tr ' ' ',')
	[ -n "$addrs" ] && break
	i=$((i + 1))
	sleep 1
done
fp=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)
line="bmcd-firstboot v1 host=$(hostname) key=$fp addr=$addrs"
for tty in /dev/serial0 /dev/console; do
	if [ -c "$tty" ]; then
		printf '%s\r\n' "$line" >"$tty"
		break
	fi
done
`

// markerUnit runs markerScript at every boot, since a DHCP address may change.
const markerUnit = `[Unit]
Description=Print bmcd's first-boot marker on the serial console
After=network-online.target ssh.service
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=` + markerScriptPath + `

[Install]
WantedBy=multi-user.target
`

// Secret lines in user-data are fenced (or tagged) so scrubScript can cut
// them out once cloud-init has used them. The rest of user-data stays, so
// later boots see the same instance and re-run nothing.
const (
	secretBegin = "# bmcd-secret-begin"
	secretEnd   = "# bmcd-secret-end"
	secretTag   = "# bmcd-secret"
)

// scrubScript removes the host private key and password hash from the seed
// on the boot partition: where the OS mounts it, or, on images that do not
// mount it (the RK1's CIDATA), by mounting it by label for the moment.
const scrubScript = `#!/bin/sh
# Installed by bmcd: removes the seed's secrets from the boot partition.
scrub() {
	sed -i -e '/^` + secretBegin + `$/,/^` + secretEnd + `$/d' -e '/` + secretTag + `$/d' "$1"
}
done=
for f in /boot/firmware/user-data /boot/user-data; do
	if [ -f "$f" ]; then
		scrub "$f"
		done=1
	fi
done
if [ -z "$done" ] && dev=$(blkid -L CIDATA 2>/dev/null); then
	dir=$(mktemp -d)
	if mount "$dev" "$dir"; then
		[ -f "$dir/user-data" ] && scrub "$dir/user-data"
		umount "$dir"
	fi
	rmdir "$dir"
fi
sync
`
