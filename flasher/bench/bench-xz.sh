#!/usr/bin/env bash
# bench-xz: the flasher's xz path against `xz -dc | dd`, side by side in
# one run, on the same machine and target (target: flasher ≤ 1.05× the
# time of xz -dc | dd). The image (SIZE_MIB, default 256, made by the
# bench CLI's gen and compressed with xz -T0 -6, so it has several
# blocks) and the target file live in BENCH_DIR (default
# /var/tmp/bench-xz, a real disk). Every command ends with its data on
# the target: dd gets conv=fsync, flasher fsyncs too; the page cache is
# dropped before each command when run as root. Each row is the median
# wall-clock time (process start included) of RUNS rounds (default 5)
# after a warm-up round; a round runs every command once.
#
# Then each command runs once more under strace -f -c: the syscalls it
# and its children made. OLD=path/to/flashbench adds rows for another
# build of the bench CLI (an older flasher, for before/after).
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-5}
DIR=${BENCH_DIR:-/var/tmp/bench-xz}
HERE=$(cd "$(dirname "$0")" && pwd)
MODULE=$(cd "$HERE/../.." && pwd)

for tool in xz dd strace; do
  command -v "$tool" >/dev/null || { echo "bench-xz: $tool missing (apt-get install xz-utils coreutils strace)" >&2; exit 1; }
done
mkdir -p "$DIR"
BENCH=$DIR/flashbench
(cd "$MODULE" && go build -o "$BENCH" ./flasher/bench)
IMG=$DIR/image-$SIZE_MIB.img
[ -f "$IMG" ] || "$BENCH" gen -size "$SIZE_MIB" -o "$IMG"
if [ ! -f "$IMG.xz" ]; then
  echo "xz -T0 -6 (takes a few minutes)..."
  xz -T0 -6 -k -c "$IMG" > "$IMG.xz.tmp" && mv "$IMG.xz.tmp" "$IMG.xz"
fi
DISK=$DIR/disk.img
truncate -s $(( (SIZE_MIB + 64) << 20 )) "$DISK"

NAMES=(); CMDS=()
add() { NAMES+=("$1"); CMDS+=("$2"); }
DD="of=$DISK bs=4M conv=fsync,notrunc iflag=fullblock status=none"
add "xz -dc | dd"          "xz -dc '$IMG.xz' | dd $DD"
add "xz -T0 -dc | dd"      "xz -T0 -dc '$IMG.xz' | dd $DD"
add "flasher xz"           "'$BENCH' flash -src '$IMG.xz' -dst '$DISK'"
if [ -n "${OLD:-}" ]; then
  add "flasher xz (OLD)"   "'$OLD' flash -src '$IMG.xz' -dst '$DISK'"
fi

drop() { sync; [ "$(id -u)" = 0 ] && echo 1 > /proc/sys/vm/drop_caches || true; }
declare -A WALL
for round in $(seq 0 "$RUNS"); do
  for i in "${!NAMES[@]}"; do
    drop
    start=$EPOCHREALTIME
    bash -c "set -o pipefail; ${CMDS[$i]}" >/dev/null
    end=$EPOCHREALTIME
    [ "$round" = 0 ] || WALL[${NAMES[$i]}]+="$(awk "BEGIN{print $end - $start}") "
  done
done
cmp -n $(( SIZE_MIB << 20 )) "$IMG" "$DISK" || { echo "bench-xz: $DISK does not hold the image" >&2; exit 1; }

median() { printf '%s\n' $1 | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
ref=$(median "${WALL[xz -dc | dd]}")
echo "image: $SIZE_MIB MiB, $(( $(stat -c %s "$IMG.xz") >> 20 )) MiB xz, $(xz -lv "$IMG.xz" | awk '/^ *Blocks:/{print $2}') blocks;" \
  "$(nproc) CPUs; $(xz --version | head -1); target $DISK"
echo
echo "| run                  |  wall (median) | vs xz -dc \| dd | syscalls (strace -f -c) |"
echo "|----------------------|----------------|-----------------|-------------------------|"
for i in "${!NAMES[@]}"; do
  name=${NAMES[$i]}
  t=$(median "${WALL[$name]}")
  drop
  calls=$(strace -f -c -o /dev/stdout bash -c "set -o pipefail; ${CMDS[$i]}" 2>/dev/null | awk '/total$/{print $4}')
  printf '| %-20s | %10.3f s   | %6.2f×         | %12s            |\n' "$name" "$t" "$(awk "BEGIN{print $t / $ref}")" "$calls"
done
echo
echo "wall: median of $RUNS rounds, process start included; syscalls: one more run under strace, children included."
