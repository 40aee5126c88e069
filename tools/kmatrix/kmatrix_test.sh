#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The kernel-version matrix as a test: versions.sh (fixed programs in
# Debian's 6.1 and 6.12 kernels under QEMU, the emulator at each version)
# campaign.sh (the random lockstep campaign inside each guest),
# `bpfemu compare --kernel=<each guest>,<host>` on the third-party style
# tcp_conntrack and its pcap (program_compare.sh runs the guest columns),
# and examples_compare.sh (program_compare_kernel_test, every example and
# benchmark program, inside each guest). Skips
# with a reason when the matrix cannot run here: no kernels fetched
# (tools/kmatrix/fetch-kernels.sh; tools/setup.sh does it under CI), no
# qemu-system-x86_64, or not root.
set -u
here=$PWD
export KMATRIX_EMU_LRU=$here/tools/kmatrix/lru_versions_emu
export KMATRIX_EMU_DROPIN=$here/tests/dropin/libbpf_program_emu
export KMATRIX_KERNEL_COMPARE=$here/kernel_compare/kernel_compare_static
export KMATRIX_PROGRAM_COMPARE=$here/kernel_compare/bpfemu-compare-static
compare=$here/kernel_compare/bpfemu-compare
compare_test=$here/kernel_compare/program_compare_kernel_test_static
examples=()
for n in arena_list counter execve_events fentry flow_lru helpers histogram \
  lpm_firewall lsm_hooks percpu_bytes perf_events seg6local stack_profiler \
  tail_calls work_queue; do
  examples+=("$here/tests/examples/$n.bpf.o=tests/examples/$n.bpf.o")
done
# What the LSM comparison's exec'd children run.
examples+=("$here/tests/examples/lsm_at_secure=tests/examples/lsm_at_secure")
for n in map_ops scaling ringbuf_bench perf_buffer_bench; do
  examples+=("$here/bench/$n.bpf.o=bench/$n.bpf.o")
done
# The source tree (the matrix keeps its kernels and builds in .kmatrix/).
cd "$(dirname "$(readlink -f tools/kmatrix/versions.sh)")/../.."
if ! ls .kmatrix/kernels/*/vmlinuz >/dev/null 2>&1; then
  echo "SKIPPED: no guest kernels in .kmatrix/kernels (run tools/kmatrix/fetch-kernels.sh)"
  exit 0
fi
for tool in qemu-system-x86_64 cpio; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIPPED: $tool is not installed (apt-get install qemu-system-x86 cpio)"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the matrix compares with the host kernel too, which needs root"
  exit 0
fi
status=0
echo "== versions.sh"
bash tools/kmatrix/versions.sh || status=1
echo "== campaign.sh"
if [ -x "$KMATRIX_KERNEL_COMPARE" ]; then
  bash tools/kmatrix/campaign.sh || status=1
else
  echo "SKIPPED campaign.sh: no static kernel_compare in a sanitizer build"
fi
echo "== program_compare.sh"
if [ -x "$KMATRIX_PROGRAM_COMPARE" ]; then
  versions=$(for k in .kmatrix/kernels/*/; do basename "$k" | cut -d. -f1,2; done |
    sort -u | paste -sd,)
  host=$(uname -r | cut -d. -f1,2)
  echo "-- tcp_conntrack.bpf.o --kernel=$versions,$host"
  BPFEMU_SOURCE_DIR=$PWD "$compare" "$here/kernel_compare/tcp_conntrack.bpf.o" \
    --input kernel_compare/testdata/conntrack.pcap --kernel="$versions,$host" \
    --no-shrink || status=1
  echo "== examples_compare.sh"
  bash tools/kmatrix/examples_compare.sh "$compare_test" "${examples[@]}" || status=1
else
  echo "SKIPPED program_compare.sh, examples_compare.sh: no static binaries in a sanitizer build"
fi
exit $status
