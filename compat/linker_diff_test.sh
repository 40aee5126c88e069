#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The static linker of libbpfemu (compat/linker_compat.cc) against the
# system libbpf's (linker_program.c built with each):
#  1. linker_a + linker_b, linker_c + linker_d (+ linker_k), in both
#     orders: both links succeed; the section headers, symbols and
#     relocations (readelf) are identical; differing bytes are counted and
#     printed, not failed on.
#  2. every error case gives the same return and errno, except where the
#     system libbpf (1.1.2) crashes: there libbpfemu must give linker.c's
#     answer in the 6.12 tree (-EINVAL).
#  3. libbpfemu loads and runs its own output like the single-file program.
#  4. as root, the real libbpf loads both outputs and the single-file
#     program on the kernel and all three compute the same; skipped with
#     the reason otherwise; the other sets' outputs run alike.
# With arguments (//tests/dropin:linker_examples_test): only step 1, over
# the given objects alone and in consecutive pairs.
set -u
real=compat/linker_program_real
emu=compat/linker_program_emu
a=compat/linker_a.bpf.o
b=compat/linker_b.bpf.o
bad=compat/linker_bad.bpf.o
single=compat/linker_single.bpf.o
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0

same() {  # what, expected, got
  if [[ "$2" != "$3" ]]; then
    echo "FAIL: $1"
    diff <(echo "$2") <(echo "$3") | head -20
    fail=1
  else
    echo "ok: $1"
  fi
}

# Links the inputs with both libraries into $tmp/real_NAME.o and
# $tmp/emu_NAME.o and compares.
compare_link() {  # name inputs...
  local name=$1
  shift
  same "link $name" "$("$real" link "$tmp/real_$name.o" "$@")" \
    "$("$emu" link "$tmp/emu_$name.o" "$@")"
  if command -v readelf >/dev/null; then
    for what in -SW -sW -rW; do
      same "readelf $what ($name)" \
        "$(readelf $what "$tmp/real_$name.o" 2>/dev/null | sed 1,2d)" \
        "$(readelf $what "$tmp/emu_$name.o" 2>/dev/null | sed 1,2d)"
    done
  else
    echo "note: readelf not installed, section/symbol comparison skipped"
  fi
  echo "bytes ($name): $(cmp -l "$tmp/real_$name.o" "$tmp/emu_$name.o" 2>&1 | wc -l) differ," \
    "sizes $(stat -c %s "$tmp/real_$name.o") and $(stat -c %s "$tmp/emu_$name.o")"
}

# With arguments: those objects (the examples') linked alone and each
# with the next one, outputs compared; nothing else.
if (($# > 0)); then
  objs=("$@")
  for ((i = 0; i < ${#objs[@]}; i++)); do
    compare_link "one$i" "${objs[$i]}"
    if ((i + 1 < ${#objs[@]})); then
      compare_link "two$i" "${objs[$i]}" "${objs[$((i + 1))]}"
    fi
  done
  exit $fail
fi

o=compat/linker_
compare_link ab ${o}a.bpf.o ${o}b.bpf.o
compare_link ba ${o}b.bpf.o ${o}a.bpf.o
compare_link cd ${o}c.bpf.o ${o}d.bpf.o
compare_link dc ${o}d.bpf.o ${o}c.bpf.o
compare_link cdk ${o}c.bpf.o ${o}d.bpf.o ${o}k.bpf.o
compare_link kdc ${o}k.bpf.o ${o}d.bpf.o ${o}c.bpf.o

for c in new-opts-tail new-opts-sz1 new-missing-dir free-null missing-file \
  non-elf empty-file wrong-machine not-relocatable elf32 big-endian \
  file-opts-tail duplicate-strong extern-type-mismatch after-finalize \
  empty-link; do
  r=$("$real" bad "$tmp" "$a" "$bad" "$c" 2>&1)
  rc=$?
  e=$("$emu" bad "$tmp" "$a" "$bad" "$c" 2>&1)
  if ((rc > 128)); then
    same "$c (system libbpf crashed with signal $((rc - 128)))" \
      "$c: -22 errno 22" "$e"
  else
    same "$c" "$r" "$e"
  fi
done

want=$("$emu" run "$single")
# Four runs and the map: the comparisons below compare something.
same "libbpfemu runs the single file" 4 "$(grep -c 'run 0 retval' <<<"$want")"
same "libbpfemu runs its linked output like the single file" \
  "$want" "$("$emu" run "$tmp/emu_ab.o")"
same "libbpfemu runs the system libbpf's output like the single file" \
  "$want" "$("$emu" run "$tmp/real_ab.o")"
same "libbpfemu runs both c+d outputs alike" \
  "$("$emu" run "$tmp/real_cd.o")" "$("$emu" run "$tmp/emu_dc.o")"

if [[ $(id -u) != 0 ]]; then
  echo "SKIP kernel part: needs root for bpf()"
else
  k=$("$real" run "$single")
  if [[ $? == 77 ]]; then
    echo "SKIP kernel part: $k"
  else
    same "kernel: single file vs libbpfemu's answer" "$k" "$want"
    same "kernel: c+d+k runs" 6 \
      "$("$real" run "$tmp/emu_cdk.o" | grep -c 'run 0 retval')"
    for n in ab ba; do
      same "kernel: system libbpf's output ($n)" "$k" "$("$real" run "$tmp/real_$n.o")"
      same "kernel: libbpfemu's output ($n)" "$k" "$("$real" run "$tmp/emu_$n.o")"
    done
    same "kernel: c+d as libbpfemu runs it" "$("$emu" run "$tmp/emu_cd.o")" \
      "$("$real" run "$tmp/emu_cd.o")"
    for n in cd dc cdk kdc; do
      same "kernel: libbpfemu's output ($n) like the system libbpf's" \
        "$("$real" run "$tmp/real_$n.o")" "$("$real" run "$tmp/emu_$n.o")"
    done
  fi
fi
exit $fail
