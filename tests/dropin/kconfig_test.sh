#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# __kconfig externs: kconfig_program (linked against libbpf.so.1) loads
# kconfig.bpf.o with 15 Kconfig texts and kconfig_strong.bpf.o with 2, on
# libbpfemu (LD_LIBRARY_PATH=compat/soname) and, with bpf() permitted, on the
# real libbpf and the kernel: both transcripts must be equal, byte for byte.
# Without the kernel, the load results and map shapes must equal
# kconfig_expected.txt (the bytes depend on the machine's own Kconfig and
# kernel version, so they are not compared there).
set -u
dir=tests/dropin
prog=$dir/kconfig_program
objs=("$dir/kconfig.bpf.o" "$dir/kconfig_strong.bpf.o")
status=0
emu=$(LD_LIBRARY_PATH=compat/soname "$prog" "${objs[@]}" 2>&1)
shape() { sed -E 's/(flags 0x[0-9a-f]+:).*/\1 BYTES/'; }
if ! diff -u "$dir/kconfig_expected.txt" <(echo "$emu" | shape); then
  echo "FAIL: libbpfemu's results differ from kconfig_expected.txt"
  status=1
else
  echo "PASS: libbpfemu's results match kconfig_expected.txt ($(grep -c 'load ->' <<<"$emu") loads)"
fi
kernel=$("$prog" "${objs[@]}" 2>&1)
if ! grep -q '^system Kconfig: load -> 0$' <<<"$kernel"; then
  echo "SKIPPED kernel run: the real libbpf cannot load (bpf() unavailable)"
elif ! diff -u <(echo "$kernel") <(echo "$emu"); then
  echo "FAIL: libbpfemu's .kconfig bytes or results differ from the kernel's"
  status=1
else
  echo "PASS: libbpfemu equals the real libbpf on the kernel, bytes included"
fi
exit $status
