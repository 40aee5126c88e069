#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The guest columns of `bpfemu compare`: the user's object and inputs are
# compared in a QEMU guest of the kernel-version matrix, the guest's kernel
# against the emulator set to that kernel's version, by a static
# bpfemu-compare inside the guest (as campaign.sh runs kernel_compare).
# `bpfemu compare --kernel=6.1,...` runs this script for each version that is
# not the running kernel; it can also be run directly.
#
# Usage (as root, after tools/kmatrix/fetch-kernels.sh):
#   bash tools/kmatrix/program_compare.sh --guest=6.1 OBJECT --input FILE... [flags]
# The flags are bpfemu compare's; --replay-out and --kernel are not passed
# on (the guest's replay file would be lost with the guest, and its version
# is the guest's). Prints the guest's report between "== guest RELEASE" and
# "== end rc=N"; exits with bpfemu compare's status in the guest (0 same,
# 1 differs, 2 setup failure), or 2 when the guest cannot run.
# Env: KMATRIX_PROGRAM_COMPARE (a prebuilt static bpfemu-compare).
set -uo pipefail
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
guest=
args=()
files=()   # host paths staged into the guest, in order
object_seen=0
stage() {  # stage FILE: sets $staged_as to its path in the guest
  files+=("$1")
  staged_as="/pc${#files[@]}_$(basename "$1")"
}
while [ $# -gt 0 ]; do
  a=$1; shift
  case "$a" in
    --guest=*) guest=${a#--guest=} ;;
    --kernel=*|--replay-out=*) ;;
    --kernel|--replay-out) shift ;;
    --replay|--replay=*|--emulator-only)
      echo "program_compare.sh: $a is not for a guest run" >&2; exit 2 ;;
    --input=*) stage "${a#--input=}"; args+=("--input=$staged_as") ;;
    --input)
      args+=(--input)
      while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
        stage "$1"; args+=("$staged_as"); shift
      done ;;
    --program|--repeat|--check-every|--ignore-map|--cpu|--shrink-seconds|--plant-fault|--cpus)
      args+=("$a" "${1:-}"); shift ;;
    -*) args+=("$a") ;;
    *)
      if [ $object_seen = 1 ]; then
        echo "program_compare.sh: unexpected argument $a" >&2; exit 2
      fi
      object_seen=1
      stage "$a"; args=("$staged_as" "${args[@]}") ;;
  esac
done
[ -n "$guest" ] || { echo "program_compare.sh: no --guest=VERSION" >&2; exit 2; }
[ $object_seen = 1 ] || { echo "program_compare.sh: no object" >&2; exit 2; }
for f in "${files[@]}"; do
  [ -r "$f" ] || { echo "program_compare.sh: cannot read $f" >&2; exit 2; }
done

cd "$src_dir"
rel=
for k in .kmatrix/kernels/*/; do
  r=$(basename "$k")
  if [ "$(echo "$r" | cut -d. -f1,2)" = "$guest" ]; then rel=$r; fi
done
if [ -z "$rel" ]; then
  echo "program_compare.sh: no $guest kernel in .kmatrix/kernels (run tools/kmatrix/fetch-kernels.sh)" >&2
  exit 2
fi
for tool in qemu-system-x86_64 cpio; do
  command -v "$tool" >/dev/null ||
    { echo "program_compare.sh: $tool is not installed" >&2; exit 2; }
done
static_bin=${KMATRIX_PROGRAM_COMPARE:-bazel-bin/kernel_compare/bpfemu-compare-static}
if [ -z "${KMATRIX_PROGRAM_COMPARE:-}" ]; then
  bazel build //kernel_compare:bpfemu-compare-static >/dev/null 2>&1 ||
    { echo "program_compare.sh: bazel build //kernel_compare:bpfemu-compare-static failed" >&2; exit 2; }
fi

# Each run gets its own staging directory and initramfs, so that parallel
# runs (two guests) do not share files.
work=$(mktemp -d "$src_dir/.kmatrix/pc.XXXXXX")
trap 'rm -rf "$work"' EXIT
staged=()
for i in "${!files[@]}"; do
  dst="$work/pc$((i + 1))_$(basename "${files[$i]}")"
  cp -f "${files[$i]}" "$dst"; staged+=("$dst")
done
cp -f "$static_bin" "$work/bpfemu-compare"
quoted=$(printf " '%s'" "${args[@]//\'/\'\\\'\'}")
{
  echo '#!/bin/busybox sh'
  echo 'mkdir -p /tmp/bpffs'
  echo 'echo "== guest $(uname -r)"'
  # stderr to a file: not a tty, so no progress lines on the console.
  echo "BPFEMU_BPFFS_DIR=/tmp/bpffs /bpfemu-compare${quoted} --replay-out=/tmp/replay --kernel=\$(uname -r | cut -d. -f1,2) 2>/tmp/err; rc=\$?"
  echo 'cat /tmp/err'
  echo 'echo "== end rc=$rc"'
} > "$work/extra.sh"
chmod 755 "$work/extra.sh"
# build-initramfs.sh writes .kmatrix/initramfs.cpio.gz: one run at a time.
exec 9>"$src_dir/.kmatrix/initramfs.lock"
flock 9
bash tools/kmatrix/build-initramfs.sh "$work/extra.sh" "$work/bpfemu-compare" \
  "${staged[@]}" >/dev/null ||
  { echo "program_compare.sh: building the initramfs failed" >&2; exit 2; }
out=$(KMATRIX_TIMEOUT=${KMATRIX_TIMEOUT:-900} bash tools/kmatrix/run.sh "$rel" 1 2>/dev/null)
flock -u 9
report=$(echo "$out" | sed -n '/^== guest /,/^== end rc=/p')
if [ -z "$report" ] || ! echo "$report" | grep -q '^== end rc='; then
  echo "program_compare.sh: the $rel guest did not finish (log: .kmatrix/logs/$rel.serial)" >&2
  exit 2
fi
echo "$report"
exit "$(echo "$report" | sed -n 's/^== end rc=//p')"
