#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# btf__dedup, real and emulated: compat/btf_dedup_program.c built against
# the system libbpf (1.1.2) and against libbpfemu must print the same lines
# and write the same bytes (deduplicated raw BTF and .BTF.ext) for:
# each FILE alone and each with the next one concatenated (btf__add_btf);
# --built: BTF built with btf__add_* (FWD vs STRUCT, cycles, typedef
# chains, enum forwards, anonymous types, protos, tags, DATASEC/VAR, split
# BTF, forced hash collisions); --bad: cycles of reference types (the same
# return and errno); --kernel: /sys/kernel/btf/vmlinux when readable, where
# libbpfemu may take at most three times libbpf's time (plus 0.5 s), and
# each FILE's BTF as split BTF over it, deduplicated against it.
# Always: ids past the last type, which libbpf 1.1.2 reads out of bounds
# for, must give -EINVAL (libbpfemu only). No bpf() calls: runs anywhere.
# Usage: btf_dedup_diff_test.sh [--built] [--bad] [--kernel] FILE...
set -u
prog=compat/btf_dedup_program
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0
runs=()
files=()
for a in "$@"; do
  case $a in
    --built | --bad) runs+=("$a") ;;
    --kernel)
      if [[ -r /sys/kernel/btf/vmlinux ]]; then
        runs+=(vmlinux)
      else
        echo "note: /sys/kernel/btf/vmlinux not readable, kernel BTF not compared"
      fi
      ;;
    *) files+=("$a") ;;
  esac
done
((${#files[@]} > 0)) && runs+=(files)

# Runs one mode with both builds into $tmp/{real,emu}_NAME and compares.
compare() {  # name args...
  local name=$1
  shift
  local r=$tmp/real_$name e=$tmp/emu_$name
  rm -rf "$r" "$e"
  mkdir -p "$r" "$e"
  "$prog"_real "$r" "$@" >"$r.out" 2>"$r.time"
  "$prog"_emu "$e" "$@" >"$e.out" 2>"$e.time"
  local bad=0
  if ! cmp -s "$r.out" "$e.out"; then
    diff -u "$r.out" "$e.out" | head -40
    bad=1
  fi
  for f in "$r"/*; do
    [[ -e $f ]] || continue
    local g=$e/${f##*/}
    if ! cmp -s "$f" "$g"; then
      echo "differs: ${f##*/} ($(cmp "$f" "$g" 2>&1 | head -1))"
      bad=1
    fi
  done
  local n
  n=$(ls "$r" | wc -l)
  if ((bad)); then
    echo "FAIL: $name: libbpfemu's btf__dedup differs from libbpf's"
    fail=1
  else
    echo "ok: $name: $(wc -l <"$r.out") dedups, $n files identical"
  fi
}

for run in "${runs[@]}"; do
  case $run in
    files) compare files "${files[@]}" ;;
    vmlinux)
      compare vmlinux /sys/kernel/btf/vmlinux
      ((${#files[@]} > 0)) && compare split --split /sys/kernel/btf/vmlinux "${files[@]}"
      rt=$(awk '/^one0:/{print $2}' "$tmp/real_vmlinux.time")
      et=$(awk '/^one0:/{print $2}' "$tmp/emu_vmlinux.time")
      echo "vmlinux: libbpf ${rt:-?} s, libbpfemu ${et:-?} s"
      if ! awk -v r="${rt:-0}" -v e="${et:-1e9}" 'BEGIN{exit !(e <= 3 * r + 0.5)}'; then
        echo "FAIL: libbpfemu's vmlinux dedup is too slow"
        fail=1
      fi
      ;;
    *) compare "${run#--}" "$run" ;;
  esac
done

mkdir -p "$tmp/past"
got=$("$prog"_emu "$tmp/past" --past-end 2>/dev/null)
want="ptr_past_end: dedup -22 errno 22 types 2
member_past_end: dedup -22 errno 22 types 3
var_past_end: dedup -22 errno 22 types 3"
if [[ "$got" != "$want" ]]; then
  diff <(echo "$want") <(echo "$got")
  echo "FAIL: ids past the end"
  fail=1
else
  echo "ok: ids past the last type: -EINVAL"
fi
exit $fail
