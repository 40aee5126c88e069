#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The skeleton program on libbpfemu (linked, and the kernel build with
# libbpfemu.so preloaded) always, and on the kernel when bpf() is permitted;
# each run must print expected.txt (which came from the kernel).
set -u
dir=tests/skeleton
expected=$dir/expected.txt
status=0
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-skel.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"' EXIT

check() {  # name, command...
  local name=$1
  shift
  local out
  out=$("$@" 2>&1)
  if [[ "$out" == *"runtime does not come first"* ]]; then
    echo "SKIPPED $name: sanitizer runtimes cannot be preloaded after"
  elif ! diff -u "$expected" <(echo "$out"); then
    echo "FAIL: $name output differs from expected.txt"
    status=1
  else
    echo "PASS: $name output matches expected.txt"
  fi
}

check libbpfemu "$dir/skeleton_program_emu"
check "LD_PRELOAD=libbpfemu.so" env LD_PRELOAD="$PWD/compat/libbpfemu.so" \
  "$dir/skeleton_program_kernel"
kernel_out=$("$dir/skeleton_program_kernel" 2>&1 | head -3)
if [[ "$kernel_out" != *"load -> 0"* ]]; then
  why=$(echo "$kernel_out" | grep -m1 -o 'Operation not permitted\|load -> -[0-9]*')
  echo "SKIPPED kernel run: bpf() unavailable (${why:-the skeleton did not load})"
else
  check kernel "$dir/skeleton_program_kernel"
fi
exit $status
