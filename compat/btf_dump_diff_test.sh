#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# btf_dump, real and emulated: compat/btf_dump_program.c built against the
# system libbpf (1.1.2) and against libbpfemu must print the same bytes
# (C definitions, declarations, typed data, warnings and return values)
# for each BTF. No bpf() calls: runs anywhere.
# Usage: btf_dump_diff_test.sh [--kernel] FILE... (objects; --built for BTF
# built with the btf__add_* API; --kernel adds the running kernel's
# /sys/kernel/btf/vmlinux when it is readable).
set -u
objs=()
for a in "$@"; do
  if [[ $a != --kernel ]]; then
    objs+=("$a")
  elif [[ -r /sys/kernel/btf/vmlinux ]]; then
    objs+=(/sys/kernel/btf/vmlinux)
  else
    echo "note: /sys/kernel/btf/vmlinux not readable, kernel BTF not compared"
  fi
done
# Both builds, in the runfiles of whichever package runs this.
prog=compat/btf_dump_program
real=$(mktemp) emu=$(mktemp)
trap 'rm -f "$real" "$emu"' EXIT
"$prog"_real "${objs[@]}" >"$real" 2>/dev/null
"$prog"_emu "${objs[@]}" >"$emu" 2>/dev/null
if ! cmp -s "$real" "$emu"; then
  diff -u "$real" "$emu" | head -60
  echo "FAIL: libbpfemu's btf_dump output differs from libbpf's"
  exit 1
fi
# bpftool's "format c" runs the same code over every id. Debian's bpftool
# 7.1 carries its own libbpf snapshot, which differs from libbpf.so 1.1.2
# in two ways: "(void)" for a prototype without parameters, and no
# mode(byte)/mode(word) attribute on enums of unusual size. With those two
# normalised, its output must equal libbpfemu's.
bpftool_note="bpftool not found, not compared"
if command -v bpftool >/dev/null 2>&1; then
  n=0
  for f in "${objs[@]}"; do
    [[ $f == --built ]] && continue
    bt=$(bpftool btf dump file "$f" format c 2>/dev/null | sed -n '8,$p' | head -n -5 | sed 's/(void)/()/g')
    mine=$("$prog"_emu "$f" 2>/dev/null |
      awk '/^-- dump_type$/{p=1;next} /^dump_type [0-9]+ \(out of range\)/{exit} p' |
      sed 's/ __attribute__((mode([a-z]*)))//; s/(void)/()/g')
    if [[ "$bt" != "$mine" ]]; then
      diff <(echo "$bt") <(echo "$mine") | head -20
      echo "FAIL: bpftool btf dump $f format c differs from libbpfemu's dump_type"
      exit 1
    fi
    n=$((n + 1))
  done
  bpftool_note="bpftool format c equal on $n files (normalised)"
fi
echo "PASS: ${#objs[@]} BTFs, $(wc -c <"$real") bytes, $(wc -l <"$real") lines identical; $bpftool_note"
