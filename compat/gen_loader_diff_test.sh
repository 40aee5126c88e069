#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpf_object__gen_loader on libbpfemu against the system libbpf 1.1.2: for
# each object given, gen_loader_program built with each library writes the
# loader program (.insns) and its data blob (.data); the two must be equal
# byte for byte, and both programs must print the same (load's answer and
# the sizes). Real libbpf probes the kernel while it generates, so the
# comparison needs bpf() permission; without it the test says so and
# checks only that libbpfemu generates.
set -u
real=compat/gen_loader_program_real
emu=compat/gen_loader_program_emu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
probe=$("$real" gen "$1" "$work/probe" 2>&1)
kernel=1
# Root only: unprivileged, libbpf's feature probes fail and change what it
# generates.
[[ $(id -u) == 0 && "$probe" == *"load: 0 "* ]] || kernel=0
n=0
for obj in "$@"; do
  name=$(basename "$obj" .bpf.o)
  e_out=$("$emu" gen "$obj" "$work/emu_$name" 2>&1)
  if [[ ! -s "$work/emu_$name.insns" ]]; then
    echo "FAIL: $name: libbpfemu generated no loader: $e_out"
    status=1
    continue
  fi
  if [[ $kernel == 0 ]]; then
    n=$((n + 1))
    continue
  fi
  r_out=$("$real" gen "$obj" "$work/real_$name" 2>&1)
  if [[ "$r_out" != "$e_out" ]]; then
    echo "FAIL: $name: the programs print differently"
    diff <(echo "$r_out") <(echo "$e_out")
    status=1
  elif ! cmp -s "$work/real_$name.insns" "$work/emu_$name.insns" ||
       ! cmp -s "$work/real_$name.data" "$work/emu_$name.data"; then
    echo "FAIL: $name: the loader or its blob differs from libbpf's"
    cmp "$work/real_$name.insns" "$work/emu_$name.insns"
    cmp "$work/real_$name.data" "$work/emu_$name.data"
    status=1
  else
    n=$((n + 1))
  fi
done
if [[ $kernel == 0 ]]; then
  echo "SKIPPED comparison with libbpf: it cannot probe the kernel here (bpf() unavailable); libbpfemu generated $n loaders"
else
  echo "PASS: $n of $# loaders and blobs byte-identical with libbpf 1.1.2's"
fi
exit $status
