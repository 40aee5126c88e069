#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The example and benchmark programs compared in each QEMU guest of the
# kernel-version matrix: the static program_compare_kernel_test
# (//kernel_compare:program_compare_kernel_test_static) runs inside the
# guest with BPFEMU_KERNEL set to the guest's version, so each example is
# run on the guest's kernel and on the emulator at that version, after
# every input. Prints each guest's GoogleTest summary; exits non-zero when a
# guest's test fails or does not finish.
# Usage (as root, after tools/kmatrix/fetch-kernels.sh):
#   bash tools/kmatrix/examples_compare.sh TEST_BINARY OBJECT...
# KMATRIX_TEST_ARGS (e.g. --gtest_filter=HelperOffer*) is passed to the test.
# OBJECT paths are relative to the source tree's root (tests/examples/x.bpf.o,
# bench/y.bpf.o) and keep that path inside the guest, where the test finds
# them; each may be given as SRC=PATH to copy SRC to PATH.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: examples_compare.sh TEST_BINARY OBJECT..." >&2; exit 2; }
bin=$(readlink -f "$1"); shift
objects=("$@")
cd "$(dirname "$0")/../.."
work=$(mktemp -d "$PWD/.kmatrix/ex.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -f "$bin" "$work/compare_test"
staged=()
{
  echo '#!/bin/busybox sh'
  echo 'mkdir -p /tmp/bpffs /w'
  for o in "${objects[@]}"; do
    src=${o%%=*}; dst=${o#*=}
    flat="$work/obj${#staged[@]}_$(basename "$dst")"
    cp -f "$src" "$flat"; staged+=("$flat")
    echo "mkdir -p /w/$(dirname "$dst") && cp /$(basename "$flat") /w/$dst"
  done
  echo 'echo "== guest $(uname -r)"'
  echo 'cd /w && BPFEMU_KERNEL=$(uname -r | cut -d. -f1,2) BPFEMU_BPFFS_DIR=/tmp/bpffs TEST_TMPDIR=/tmp /compare_test '"${KMATRIX_TEST_ARGS:-}"' 2>&1; rc=$?'
  echo 'echo "== end rc=$rc"'
} > "$work/extra.sh"
chmod 755 "$work/extra.sh"
exec 9>"$PWD/.kmatrix/initramfs.lock"
flock 9
bash tools/kmatrix/build-initramfs.sh "$work/extra.sh" "$work/compare_test" \
  "${staged[@]}" >/dev/null || { echo "building the initramfs failed"; exit 1; }
status=0
# The guests run side by side (each QEMU is one host thread: tcg,thread=single).
for k in .kmatrix/kernels/*/; do
  rel=$(basename "$k")
  KMATRIX_TIMEOUT=${KMATRIX_TIMEOUT:-900} bash tools/kmatrix/run.sh "$rel" 1 \
    > "$work/out-$rel.txt" 2>/dev/null &
done
wait
for k in .kmatrix/kernels/*/; do
  rel=$(basename "$k")
  out=$(cat "$work/out-$rel.txt")
  report=$(echo "$out" | sed -n '/^== guest /,/^== end rc=/p')
  echo "$report" | grep -E '^== |^\[ *(OK|FAILED|PASSED|SKIPPED) *\]|Failure|DIFFERENCE'
  rc=$(echo "$report" | sed -n 's/^== end rc=//p')
  if [ -z "$rc" ]; then
    echo "$rel: the guest did not finish (log: .kmatrix/logs/$rel.serial)"; status=1
  elif [ "$rc" != 0 ]; then
    status=1
  fi
done
exit $status
