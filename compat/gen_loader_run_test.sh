#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs the loaders bpf_object__gen_loader generates, as bpftool's light
# skeleton does (gen_loader_program.c `run`, after libbpf 1.1.2's
# bpf/skel_internal.h bpf_load_and_run): a SYSCALL program that reaches its
# blob through fd_array (BPF_PSEUDO_MAP_IDX / _IDX_VALUE), creates the maps,
# fills global data from the blob or, with "user", from the caller's memory
# (bpf_copy_from_user), and loads the programs with bpf_sys_bpf.
#
#   gen_loader_run_test.sh EXPECTED OBJ...
#
# With libbpfemu, the loader runs in bpfemu's interpreter; with the system
# libbpf (as root), on the kernel. The two must print the same for every
# object in both modes; EXPECTED holds the kernel's answers (6.18), which
# libbpfemu must also print when the kernel cannot be asked.
set -u
expected=$1
shift
real=compat/gen_loader_program_real
emu=compat/gen_loader_program_emu
kernel=1
[[ $(id -u) == 0 && $("$real" run "$1" 2>&1) == *"loader run: 0 retval 0"* ]] ||
  kernel=0
status=0
n=0
got=""
for obj in "$@"; do
  for mode in "" user; do
    name="$(basename "$obj" .bpf.o)${mode:+ $mode}"
    e_out=$("$emu" run "$obj" $mode 2>&1)
    got+="== $name"$'\n'"$e_out"$'\n'
    if [[ $kernel == 1 ]]; then
      r_out=$("$real" run "$obj" $mode 2>&1)
      if [[ "$r_out" != "$e_out" ]]; then
        echo "FAIL: $name: libbpfemu's loader run differs from the kernel's"
        diff <(echo "$r_out") <(echo "$e_out")
        status=1
        continue
      fi
    fi
    n=$((n + 1))
  done
done
if ! diff <(cat "$expected") <(echo -n "$got") > /dev/null; then
  echo "FAIL: libbpfemu's output differs from the recorded kernel answers ($expected):"
  diff <(cat "$expected") <(echo -n "$got")
  status=1
fi
if [[ $kernel == 1 ]]; then
  echo "PASS: $n of $(($# * 2)) loader runs print what the kernel's print"
else
  echo "SKIPPED the kernel side (no bpf() permission); $n loader runs checked against $expected"
fi
exit $status
