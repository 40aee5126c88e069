#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# libbpf's userspace BTF API, real and emulated: btf_program.c built against
# the system libbpf and against libbpfemu must print the same lines for the
# same objects (no bpf() calls, so this runs anywhere).
set -u
dir=tests/dropin
objs=(tests/examples/*.bpf.o "$dir/bootstrap.bpf.o")
real=$("$dir/btf_program_real" "${objs[@]}" 2>/dev/null)
emu=$("$dir/btf_program_emu" "${objs[@]}" 2>/dev/null)
if ! diff -u <(echo "$real") <(echo "$emu"); then
  echo "FAIL: libbpfemu's BTF answers differ from libbpf's"
  exit 1
fi
echo "PASS: $(echo "$real" | grep -c '^\[') type lines, $(echo "$real" | grep -c '^==') sections equal"
