#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The static linker of libbpfemu (compat/linker_compat.cc) against the
# system libbpf's (linker_program.c built with each):
#  1. linker_a + linker_b, in both orders: both links succeed; the section
#     headers, symbols and relocations (readelf) are identical; differing
#     bytes are counted and printed, not failed on.
#  2. every error case gives the same return and errno, except where the
#     system libbpf (1.1.2) crashes: there libbpfemu must give linker.c's
#     answer in the 6.12 tree (-EINVAL).
#  3. libbpfemu loads and runs its own output like the single-file program.
#  4. as root, the real libbpf loads both outputs and the single-file
#     program on the kernel and all three compute the same; skipped with
#     the reason otherwise.
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

for order in "a b" "b a"; do
  set -- $order
  ins=("compat/linker_$1.bpf.o" "compat/linker_$2.bpf.o")
  r=$("$real" link "$tmp/real_$1$2.o" "${ins[@]}")
  e=$("$emu" link "$tmp/emu_$1$2.o" "${ins[@]}")
  same "link $order" "$r" "$e"
  if command -v readelf >/dev/null; then
    for what in -SW -sW -rW; do
      same "readelf $what ($order)" \
        "$(readelf $what "$tmp/real_$1$2.o" 2>/dev/null | sed 1,2d)" \
        "$(readelf $what "$tmp/emu_$1$2.o" 2>/dev/null | sed 1,2d)"
    done
  else
    echo "note: readelf not installed, section/symbol comparison skipped"
  fi
  echo "bytes ($order): $(cmp -l "$tmp/real_$1$2.o" "$tmp/emu_$1$2.o" 2>&1 | wc -l) differ," \
    "sizes $(stat -c %s "$tmp/real_$1$2.o") and $(stat -c %s "$tmp/emu_$1$2.o")"
done

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
same "libbpfemu runs its linked output like the single file" \
  "$want" "$("$emu" run "$tmp/emu_ab.o")"
same "libbpfemu runs the system libbpf's output like the single file" \
  "$want" "$("$emu" run "$tmp/real_ab.o")"

if [[ $(id -u) != 0 ]]; then
  echo "SKIP kernel part: needs root for bpf()"
else
  k=$("$real" run "$single")
  if [[ $? == 77 ]]; then
    echo "SKIP kernel part: $k"
  else
    same "kernel: single file vs libbpfemu's answer" "$k" "$want"
    same "kernel: system libbpf's output" "$k" "$("$real" run "$tmp/real_ab.o")"
    same "kernel: libbpfemu's output" "$k" "$("$real" run "$tmp/emu_ab.o")"
    same "kernel: libbpfemu's output (b a)" "$k" "$("$real" run "$tmp/emu_ba.o")"
  fi
fi
exit $fail
