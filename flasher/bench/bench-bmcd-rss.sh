#!/usr/bin/env bash
# bench-bmcd-rss: peak RSS of bmcd while an image streams in over HTTP
# and is flashed (target ≤ 48 MiB). bmcd runs on the simulated board with
# fast USB timing; the real bmcctl uploads a SIZE_MIB image (default
# 2048, random data so the page cache and the pipeline see real bytes)
# to slot 1, whose eMMC is a file in BENCH_DIR (default /var/tmp, a real
# disk). The peak is the kernel's VmHWM of the bmcd process.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-2048}
DIR=${BENCH_DIR:-/var/tmp}/bench-bmcd-rss
HERE=$(cd "$(dirname "$0")" && pwd)
MODULE=$(cd "$HERE/../.." && pwd)

mkdir -p "$DIR"
(cd "$MODULE" && go build -o "$DIR/bmcd" ./cmd/bmcd && go build -o "$DIR/bmcctl" ./cmd/bmcctl)
IMG=$DIR/image-$SIZE_MIB.img
if [ ! -f "$IMG" ]; then
  echo "generating a $SIZE_MIB MiB image..."
  head -c "$((SIZE_MIB << 20))" /dev/urandom > "$IMG.tmp" && mv "$IMG.tmp" "$IMG"
fi

STATE=$(mktemp -d "$DIR/state.XXXXXX")
LOG=$STATE/bmcd.log
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$STATE"
}
trap cleanup EXIT
printf 'sim:\n  emmc_mib: %d\n  usb_timing: fast\n' "$((SIZE_MIB + 64))" > "$STATE/bmcd.yaml"
"$DIR/bmcd" --state-dir "$STATE" --config "$STATE/bmcd.yaml" --listen 127.0.0.1:0 2>"$LOG" &
PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$LOG" && break; sleep 0.1; done
URL=$(sed -n 's/^bmcd: listening on \(http:[^ ]*\).*/\1/p' "$LOG")
PASSWORD=$(awk '/generated a password/{getline; getline; getline; print $1; exit}' "$LOG")
export BMC_HOST=$URL HOME=$STATE
echo "$PASSWORD" | "$DIR/bmcctl" login --password-stdin >/dev/null
idle=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
start=$(date +%s.%N)
"$DIR/bmcctl" flash --slot 1 "$IMG" </dev/null >/dev/null 2>"$STATE/flash.err" || { cat "$STATE/flash.err"; exit 1; }
end=$(date +%s.%N)
peak=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
cmp -n "$((SIZE_MIB << 20))" "$IMG" "$STATE/sim-emmc-slot1.img" >/dev/null || { echo "bench-bmcd-rss: eMMC differs from the image" >&2; exit 1; }
awk -v idle="$idle" -v peak="$peak" -v size="$SIZE_MIB" -v t="$(awk "BEGIN{print $end-$start}")" 'BEGIN {
  printf "bmcd, %d MiB image uploaded over HTTP, flashed and verified in %.1f s (%.0f MiB/s end to end)\n", size, t, size/t
  printf "  idle RSS %.1f MiB, peak RSS (VmHWM) %.1f MiB   target <= 48 MiB: %s\n", idle/1024, peak/1024, (peak/1024 <= 48 ? "met" : "NOT MET")
}'
