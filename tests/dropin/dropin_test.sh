#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs the bpfemu-unaware libbpf program on libbpfemu (always) and on the
# kernel (when bpf() is permitted), and checks that both print expected.txt.
set -u
dir=tests/dropin
obj=tests/examples/tail_calls.bpf.o
expected=$dir/expected.txt
status=0

# The emulated bpffs lives in a private directory for this run.
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-dropin.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"' EXIT

if ! diff -u "$expected" <("$dir/libbpf_program_emu" "$obj" 2>&1); then
  echo "FAIL: libbpfemu output differs from expected.txt"
  status=1
else
  echo "PASS: libbpfemu output matches expected.txt"
fi

# The kernel build itself, with libbpfemu.so preloaded over libbpf.so: the
# object's bytecode runs in bpfemu's interpreter (no native code in the .so).
preload_out=$(LD_PRELOAD="$PWD/compat/libbpfemu.so" \
  "$dir/libbpf_program_kernel" "$obj" 2>&1)
if [[ "$preload_out" == *"runtime does not come first"* ]]; then
  echo "SKIPPED LD_PRELOAD run: sanitizer runtimes cannot be preloaded after"
elif ! diff -u "$expected" <(echo "$preload_out"); then
  echo "FAIL: LD_PRELOAD=libbpfemu.so output differs from expected.txt"
  status=1
else
  echo "PASS: LD_PRELOAD=libbpfemu.so output matches expected.txt"
fi

probe_out=$("$dir/libbpf_program_kernel" 2>&1 | grep -m1 'create HASH 4/8/4')
if [[ "$probe_out" != *"-> ok"* ]]; then
  echo "SKIPPED kernel run: bpf() unavailable (${probe_out##*-> })"
else
  if ! diff -u "$expected" <("$dir/libbpf_program_kernel" "$obj" 2>&1); then
    echo "FAIL: kernel output differs from expected.txt"
    status=1
  else
    echo "PASS: kernel output matches expected.txt"
  fi
fi
exit $status
