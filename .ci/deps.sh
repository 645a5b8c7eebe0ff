#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing.
# Tests that need one of these fail under CI=true if it is absent, so a
# package added to a test must be added here too.
set -euo pipefail

# command → Debian package
declare -A want=(
  [file]=file
  [git]=git
  [xz]=xz-utils
  [zstd]=zstd
  [bzip2]=bzip2
  [gzip]=gzip
  [bmaptool]=bmap-tools
  [losetup]=mount
  # flasher/firstboot: images built with sfdisk and mkfs.fat, checked with
  # fsck.fat, mtools and cloud-init's schema check.
  [sfdisk]=fdisk
  [mkfs.fat]=dosfstools
  [fsck.fat]=dosfstools
  [mcopy]=mtools
  [mtype]=mtools
  [mdir]=mtools
  [cloud-init]=cloud-init
  # The simulated nodes' SSH server is checked with the real OpenSSH
  # client; the marker script's fingerprint comes from ssh-keygen.
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  # bmc/cluster: the tests' nodes are real OpenSSH servers.
  [sshd]=openssh-server
  # The web page: make web fetches xterm.js with npm; the browser tests
  # drive Debian's Chromium headless (fonts-dejavu-core comes with it).
  [npm]=npm
  [chromium]=chromium
  # bmc/cluster namespace tests: each node has its own network, UTS and
  # mount namespace (ip netns, unshare); bmcctl's inventory is read by
  # Ansible.
  [ip]=iproute2
  [unshare]=util-linux
  [ansible-inventory]=ansible-core
  # hal/sim/simkube and the cluster e2e: the real kubectl reads the
  # simulated k3s API (Debian's is older, but speaks the same API).
  [kubectl]=kubernetes-client
  # make bench-arm (flasher/bench/armcount): the armv7 build runs under
  # qemu-arm with an instruction-counting plugin that gcc builds.
  [qemu-arm]=qemu-user
  [gcc]=gcc
)

missing=()
for cmd in "${!want[@]}"; do
  # sfdisk, mkfs.fat and fsck.fat live in /usr/sbin, off a user's PATH.
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${want[$cmd]}")
done
# One package may provide several commands.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${missing[*]} (run as root, or install them: apt-get install ${missing[*]})" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
