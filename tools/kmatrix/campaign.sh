#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The random lockstep campaign inside Debian's older kernels: a static
# kernel_compare boots in each QEMU guest of the matrix (tools/kmatrix/
# run.sh) and compares the emulator, set to the guest's version
# (BPFEMU_KERNEL from uname -r), with the guest's kernel. Prints each
# guest's table; exits non-zero on any divergence.
# Usage (as root, after tools/kmatrix/fetch-kernels.sh):
#   bash tools/kmatrix/campaign.sh [kernel_compare flags...]
# Default flags: --sequences=2 --ops=2000 --creates=100, and of the
# conformance suite only ARENA's cases: the 6.18 host refuses every ARENA
# create (docs/semantics.md, ARENA), the 6.12 guest makes arenas, so the
# guest is where the emulator's arena is compared with a kernel.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=.kmatrix
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(--conformance=true '--gtest_filter=*Arena*' --sequences=2 --ops=2000 --creates=100)
static_bin=${KMATRIX_KERNEL_COMPARE:-bazel-bin/kernel_compare/kernel_compare_static}
if [ -z "${KMATRIX_KERNEL_COMPARE:-}" ]; then
  bazel build //kernel_compare:kernel_compare_static >/dev/null 2>&1 ||
    { echo "bazel build //kernel_compare:kernel_compare_static failed"; exit 1; }
fi
mkdir -p "$out/build"
cp -f "$static_bin" "$out/build/kernel_compare"
{
  echo '#!/bin/busybox sh'
  echo 'mkdir -p /tmp/bpffs'
  echo 'echo "== campaign"'
  echo "BPFEMU_KERNEL=\$(uname -r | cut -d. -f1,2) BPFEMU_BPFFS_DIR=/tmp/bpffs /kernel_compare $(printf '%q ' "${flags[@]}")2>/dev/null"
} > "$out/build/campaign.sh"
chmod 755 "$out/build/campaign.sh"
bash tools/kmatrix/build-initramfs.sh "$out/build/campaign.sh" \
  "$out/build/kernel_compare" >/dev/null
status=0
# The guests run side by side (each QEMU is one host thread: tcg,thread=single).
for k in "$out"/kernels/*/; do
  rel=$(basename "$k")
  bash tools/kmatrix/run.sh "$rel" > "$out/build/campaign-$rel.txt" 2>&1 &
done
wait
for k in "$out"/kernels/*/; do
  rel=$(basename "$k")
  guest=$(cat "$out/build/campaign-$rel.txt")
  echo "$guest" | sed -n '/^== campaign/,/^KMATRIX-END/p' | grep -v '^== \|^KMATRIX-END'
  if ! echo "$guest" | grep -q '^total '; then
    echo "$rel: the campaign did not finish"; status=1; continue
  fi
  divergences=$(echo "$guest" | awk '/^total /{print $NF}')
  [ "$divergences" = 0 ] || status=1
done
exit $status
