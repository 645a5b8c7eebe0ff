#!/usr/bin/env bash
# bench-flash: package flasher against the usual tools, side by side, on
# a loop block device (root only). One generated image (SIZE_MIB, default
# 768: runs of zeros, text-like data and random bytes), written:
#
#   raw         flasher            vs  dd bs=4M oflag=direct       target: ≥ 0.95× dd's throughput
#   raw+verify  flasher (verify)   vs  dd, then the device read back with O_DIRECT and compared (cmp)
#   bmap        flasher --bmap     vs  bmaptool copy --bmap        target: no slower
#   xz          flasher            vs  xz -dc | dd … oflag=direct  target: ≤ 1.1× the time
#   zstd        flasher            vs  zstd -dc | dd …             target: ≤ 1.1× the time
#
# Every command ends with its data on the device: dd gets conv=fsync
# (flasher fsyncs too) and, reading a pipe, iflag=fullblock (so it
# writes whole 4 MiB blocks, as flasher does). flasher runs without
# read-back verification, like the others, except on the raw+verify row.
#
# Fair by construction: every row's time is the wall-clock time of the
# whole command from outside (bash's clock, process start included on
# both sides: flasher's CLI is a fresh Go process as dd is); the page
# cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before
# every command, so each reads its image cold from where it lives; each
# round runs every command once, in the table's order, so that a slow
# spell of the machine hits them alike, and each row is the median of
# RUNS rounds (default 5) after a warm-up round.
#
# The whole table is made once per directory of TARGET_DIRS (default
# "/dev/shm/bench-flash /var/tmp/bench-flash"): the images and the loop
# device's backing file live there, so tmpfs compares the pipelines' CPU
# and I/O overhead, and a disk-backed loop device (/var/tmp) what a real
# disk adds. Generated images are kept between runs.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-768}
RUNS=${RUNS:-5}
TARGET_DIRS=${TARGET_DIRS:-/dev/shm/bench-flash /var/tmp/bench-flash}
HERE=$(cd "$(dirname "$0")" && pwd)
MODULE=$(cd "$HERE/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
  echo "bench-flash: needs root (loop devices, dropping the page cache)" >&2
  exit 1
fi
for tool in losetup dd cmp xz zstd bmaptool; do
  command -v "$tool" >/dev/null || { echo "bench-flash: $tool missing (apt-get install util-linux coreutils diffutils xz-utils zstd bmap-tools)" >&2; exit 1; }
done

calc() { awk "BEGIN { print $* }"; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

FIRST=
for DIR in $TARGET_DIRS; do
mkdir -p "$DIR"
BENCH=$DIR/flashbench
(cd "$MODULE" && go build -o "$BENCH" ./flasher/bench)

IMG=$DIR/image-$SIZE_MIB.img
if [ -n "$FIRST" ]; then
  # The same images as the first directory's, so the tables compare.
  for f in "$FIRST" "$FIRST.bmap" "$FIRST.xz" "$FIRST.zst"; do
    [ -f "$DIR/$(basename "$f")" ] || cp --sparse=always "$f" "$DIR/"
  done
fi
FIRST=${FIRST:-$IMG}
if [ ! -f "$IMG" ]; then
  echo "generating a $SIZE_MIB MiB image..."
  "$BENCH" gen -size "$SIZE_MIB" -o "$IMG"
fi
[ -f "$IMG.bmap" ] || bmaptool create -o "$IMG.bmap" "$IMG"
if [ ! -f "$IMG.xz" ]; then
  echo "xz -6 (takes a few minutes)..."
  xz -T0 -6 -k -c "$IMG" > "$IMG.xz.tmp" && mv "$IMG.xz.tmp" "$IMG.xz"
fi
if [ ! -f "$IMG.zst" ]; then
  zstd -q -T0 -12 -c "$IMG" > "$IMG.zst.tmp" && mv "$IMG.zst.tmp" "$IMG.zst"
fi

BACKING=$DIR/disk.img
rm -f "$BACKING"
truncate -s $(( (SIZE_MIB + 64) << 20 )) "$BACKING"
LOOP=$(losetup --find --show "$BACKING")
trap 'losetup --detach "$LOOP"; rm -f "$BACKING"' EXIT
echo
echo "== $DIR ($(findmnt -no FSTYPE -T "$DIR" 2>/dev/null || stat -f -c %T "$DIR"))"

echo "image: $SIZE_MIB MiB raw, $(( $(stat -c %s "$IMG.xz") >> 20 )) MiB xz, $(( $(stat -c %s "$IMG.zst") >> 20 )) MiB zstd," \
  "$(grep -o '<MappedBlocksCount>[^<]*' "$IMG.bmap" | tr -dc 0-9) of $(grep -o '<BlocksCount>[^<]*' "$IMG.bmap" | tr -dc 0-9) blocks mapped; device $LOOP; $(nproc) CPUs; $(xz --version | head -1); $(zstd --version)"

# Each round runs every command once, in the table's order, so that a
# slow spell of the machine hits them alike; a warm-up round is not
# counted. Each row is the median of the rounds.
NAMES=(); CMDS=()
add() { NAMES+=("$1"); CMDS+=("$2"); }
DD="of=$LOOP bs=4M oflag=direct conv=fsync status=none"
add "dd raw"               "dd if='$IMG' $DD"
add "flasher raw"          "'$BENCH' flash -src '$IMG' -dst $LOOP"
add "flasher raw+verify"   "'$BENCH' flash -src '$IMG' -dst $LOOP -verify"
add "dd+read-back"         "dd if='$IMG' $DD && dd if=$LOOP iflag=direct bs=4M count=$(( (SIZE_MIB + 3) / 4 )) status=none | cmp -n $(( SIZE_MIB << 20 )) '$IMG' -"
add "bmaptool bmap"        "bmaptool -q copy --bmap '$IMG.bmap' '$IMG' $LOOP"
add "flasher bmap"         "'$BENCH' flash -src '$IMG' -dst $LOOP -bmap '$IMG.bmap'"
add "xz|dd"                "xz -dc '$IMG.xz' | dd $DD iflag=fullblock"
add "flasher xz"           "'$BENCH' flash -src '$IMG.xz' -dst $LOOP"
add "flasher xz (pure Go)" "'$BENCH' flash -src '$IMG.xz' -dst $LOOP -xz internal"
add "zstd|dd"              "zstd -q -dc '$IMG.zst' | dd $DD iflag=fullblock"
add "flasher zstd"         "'$BENCH' flash -src '$IMG.zst' -dst $LOOP"

unset TIMES T
declare -A TIMES T
for round in $(seq 0 "$RUNS"); do
  for i in "${!NAMES[@]}"; do
    drop_caches
    start=$EPOCHREALTIME
    bash -c "set -o pipefail; ${CMDS[$i]}" >/dev/null
    end=$EPOCHREALTIME
    [ "$round" = 0 ] && continue
    TIMES[${NAMES[$i]}]+="$(calc "$end - $start") "
  done
done
# The last command run was flasher's: check what it wrote.
cmp -n $(( SIZE_MIB << 20 )) "$IMG" "$LOOP" || { echo "bench-flash: $LOOP does not hold the image" >&2; exit 1; }

for name in "${NAMES[@]}"; do
  printf '  %-22s %s\n' "$name" "${TIMES[$name]}" >&2
  T[$name]=$(printf '%s\n' ${TIMES[$name]} | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
done

mib=$SIZE_MIB
row() { # name reference kind target
  local t=${T[$1]} r=${T[$2]} verdict ratio
  case $3 in
    throughput) ratio=$(calc "$r / $t"); verdict=$(calc "($ratio >= $4)") ;;
    time)       ratio=$(calc "$t / $r"); verdict=$(calc "($ratio <= $4)") ;;
    info)       ratio=$(calc "$t / $r"); verdict=2 ;;
  esac
  case $verdict in 1) verdict=ok ;; 0) verdict=MISSED ;; *) verdict="" ;; esac
  printf '| %-22s | %6.3f s | %7.1f MiB/s | %-14s | %5.2f %-10s | %-6s |\n' \
    "$1" "$t" "$(calc "$mib / $t")" "$2" "$ratio" "$3" "$verdict"
}
echo
echo "| run                    |   time   |  image rate     | vs             | ratio            | target |"
echo "|------------------------|----------|-----------------|----------------|------------------|--------|"
row "dd raw"               "dd raw"        info 0
row "flasher raw"          "dd raw"        throughput 0.95
row "dd+read-back"         "dd+read-back"  info 0
row "flasher raw+verify"   "dd+read-back"  info 0
row "bmaptool bmap"        "bmaptool bmap" info 0
row "flasher bmap"         "bmaptool bmap" time 1.0
row "xz|dd"                "xz|dd"         info 0
row "flasher xz"           "xz|dd"         time 1.1
row "flasher xz (pure Go)" "xz|dd"         info 0
row "zstd|dd"              "zstd|dd"       info 0
row "flasher zstd"         "zstd|dd"       time 1.1
echo
echo "time: median wall-clock time of the whole command, process start included, page cache dropped before each."
echo "throughput ratio: dd time / flasher time (≥ target); time ratio: flasher time / reference time (≤ target)."
losetup --detach "$LOOP"; rm -f "$BACKING"; trap - EXIT
done
