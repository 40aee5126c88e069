#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `bpfemu btf dump file` and `bpfemu prog run` against bpftool 7.1.
#
# btf dump: every object given as an argument, its .BTF section as a raw
# blob, and /sys/kernel/btf/vmlinux, printed raw, raw as JSON and as C by
# both tools: byte for byte equal (bpftool reads files, no root needed),
# and the error cases (missing file, not ELF, a directory, bad options):
# the same messages and exit codes.
#
# prog run: XDP, tc and socket filter programs of prog_run.bpf.o on packets
# and contexts; bpfemu's transcript (durations masked, data_out / ctx_out
# files shown as hex) must equal prog_run_expected.txt, and with bpf()
# permitted, bpftool's on the kernel (the object loaded with `prog
# loadall`, each program run by its pin).
set -u
dir=tests/cli
bpfemu=$PWD/cli/bpfemu
status=0
PATH=$PATH:/usr/sbin:/sbin  # Debian installs bpftool in /usr/sbin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; status=1; }

# ---- btf dump file -------------------------------------------------------
prog_obj=""
sources=()
for o in "$@"; do
  sources+=("$o")
  [[ "$o" == */prog_run.bpf.o ]] && prog_obj=$o
  # The .BTF section alone: a raw BTF file.
  raw="$work/$(basename "$o" .bpf.o).btf"
  if llvm-objcopy --dump-section ".BTF=$raw" "$o" "$work/scratch.o" \
      2>/dev/null && [[ -s "$raw" ]]; then
    sources+=("$raw")
  else
    fail "cannot extract .BTF from $o"
  fi
done
sources+=("$dir/testdata/sample.btf")
[[ -r /sys/kernel/btf/vmlinux ]] && sources+=(/sys/kernel/btf/vmlinux)

# Without bpftool too: a hand-made BTF blob (every kind bpftool prints a
# field of: int, pointer, struct with a bit-field, signed enum, typedef,
# prototype, function, array, union, const, float, var, datasec) against
# bpftool's output recorded in testdata/.
for mode in "|.txt" "-j|.json" "format c|.c.txt"; do
  args=${mode%%|*} ext=${mode#*|}
  [[ "$args" == "format c" ]] && set_args=(btf dump file "$dir/testdata/sample.btf" format c)
  [[ "$args" == "-j" ]] && set_args=(-j btf dump file "$dir/testdata/sample.btf")
  [[ -z "$args" ]] && set_args=(btf dump file "$dir/testdata/sample.btf")
  if ! diff -u "$dir/testdata/sample.btf$ext" <("$bpfemu" "${set_args[@]}" 2>&1); then
    fail "bpfemu ${set_args[*]} differs from testdata/sample.btf$ext"
  fi
done
if [[ ${#sources[@]} -lt 8 ]]; then
  fail "expected at least 6 objects and their raw BTF, got ${#sources[@]}"
fi

echo "not an object" >"$work/notelf"
mkdir "$work/adir"
printf '\x9f' >"$work/short"
errors=(
  "btf dump file $work/missing" "-j btf dump file $work/missing"
  "btf dump file $work/notelf" "btf dump file $work/adir"
  "btf dump file $work/short" "btf dump file /bin/sh"
  "btf dump file" "btf dump" "-j btf dump"
  "btf dump file $prog_obj format" "btf dump file $prog_obj format x"
  "btf dump file $prog_obj foo" "-j btf dump file $prog_obj format c"
  "btf dump foo $prog_obj"
)
if ! command -v bpftool >/dev/null; then
  echo "SKIPPED btf dump comparison: bpftool is not installed"
else
  compared=0
  for s in "${sources[@]}"; do
    for mode in "|" "-j|" "|format c" "|format raw" "-j|format raw"; do
      opts=${mode%%|*}; fmt=${mode#*|}
      # shellcheck disable=SC2086
      a=$(bpftool $opts btf dump file "$s" $fmt 2>&1; echo "[exit $?]")
      # shellcheck disable=SC2086
      b=$("$bpfemu" $opts btf dump file "$s" $fmt 2>&1; echo "[exit $?]")
      if [[ "$a" != "$b" ]]; then
        fail "btf dump file $s ($mode) differs from bpftool's:"
        diff <(echo "$a") <(echo "$b") | head -10
      fi
      compared=$((compared + 1))
    done
  done
  echo "btf dump: $compared outputs compared with bpftool's (${#sources[@]} sources)"
  for c in "${errors[@]}"; do
    # shellcheck disable=SC2086
    a=$(bpftool $c 2>&1 | sed 's/bpftool/TOOL/g'; echo "[exit ${PIPESTATUS[0]}]")
    # shellcheck disable=SC2086
    b=$("$bpfemu" $c 2>&1 | sed 's/bpfemu/TOOL/g'; echo "[exit ${PIPESTATUS[0]}]")
    # The usage text after the error line is each tool's own.
    if [[ "${a%%Usage:*}" != "${b%%Usage:*}" || "${a##*\[exit}" != "${b##*\[exit}" ]]; then
      fail "'$c': bpftool and bpfemu differ:"
      diff <(echo "$a") <(echo "$b") | head -10
    fi
  done
  echo "btf dump: ${#errors[@]} error cases compared"
fi

# ---- prog run ------------------------------------------------------------
# Packets (Ethernet frames) and contexts.
eth='\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02'
ip4='\x45\x00\x00\x2e\x00\x01\x00\x00\x40\x11\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02'
ip4_ttl1='\x45\x00\x00\x2e\x00\x01\x00\x00\x01\x06\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02'
udp='\x30\x39\x00\x35\x00\x1a\x00\x00'
payload='hello, bpf run!!!!'
printf "$eth\x08\x00$ip4$udp$payload" >"$work/udp4"
printf "$eth\x08\x00$ip4_ttl1$udp$payload" >"$work/ttl1"
printf "\x03\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00$ip4$udp" >"$work/odd"
printf "$eth\x86\xdd\x60\x00\x00\x00\x00\x08\x11\x40%040d$udp" 0 >"$work/ip6"
printf "$eth\x08\x06%028d" 0 >"$work/arp"
printf "$eth" >"$work/short"
head -c 1500 /dev/zero | tr '\0' 'A' >"$work/big"
printf "$eth\x08\x00$ip4$udp" >"$work/small"
# struct xdp_md for the 42-byte "small" frame: data 0, data_end 42,
# ingress_ifindex 1 (lo), rx_queue_index 0.
{
  printf '\x00\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00'
  head -c 8 /dev/zero
} >"$work/xdp_ctx"
# The same with egress_ifindex set, which the kernel refuses.
{ head -c 20 "$work/xdp_ctx"; printf '\x01\x00\x00\x00'; } >"$work/bad_xdp_ctx"
# struct __sk_buff (192 bytes): mark 5 (offset 8), priority 3 (offset 32),
# cb[1] 7 (offset 52), the rest zero.
{
  head -c 8 /dev/zero; printf '\x05\x00\x00\x00'; head -c 20 /dev/zero
  printf '\x03\x00\x00\x00'; head -c 16 /dev/zero; printf '\x07\x00\x00\x00'
  head -c 136 /dev/zero
} >"$work/skb_ctx"
# A context the kernel refuses (a field tc cannot set: len, offset 0).
{ printf '\x01'; head -c 191 /dev/zero; } >"$work/bad_skb_ctx"

runs=(
  "xdp_pass data_in PKT/udp4 data_out OUT/d"
  "xdp_pass data_in PKT/udp4 data_out OUT/d repeat 3"
  "-j xdp_pass data_in PKT/udp4"
  "xdp_swap_mac data_in PKT/udp4 data_out OUT/d"
  "xdp_swap_mac data_in PKT/short data_out OUT/d"
  "xdp_swap_mac data_in PKT/small data_out -"
  "-j xdp_swap_mac data_in PKT/small data_out -"
  "xdp_ttl data_in PKT/udp4 data_out OUT/d"
  "xdp_ttl data_in PKT/ttl1 data_out OUT/d"
  "xdp_ttl data_in PKT/ip6 data_out OUT/d"
  "xdp_ttl data_in PKT/arp data_out OUT/d"
  "xdp_len data_in PKT/big data_out OUT/d"
  "xdp_len data_in PKT/small ctx_in PKT/xdp_ctx ctx_out OUT/c"
  "xdp_len data_in PKT/small ctx_in PKT/xdp_ctx ctx_out - data_out OUT/d"
  "xdp_len data_in PKT/small ctx_in PKT/bad_xdp_ctx"
  "xdp_len data_in PKT/udp4 ctx_in PKT/xdp_ctx"
  "xdp_len data_in PKT/small data_size_out 10 data_out OUT/d"
  "xdp_count data_in PKT/udp4 repeat 5"
  "tc_mark data_in PKT/udp4 data_out OUT/d"
  "tc_mark data_in PKT/udp4 ctx_in PKT/skb_ctx ctx_out OUT/c"
  "tc_mark data_in PKT/ip6 ctx_in PKT/skb_ctx ctx_out OUT/c"
  "tc_mark data_in PKT/udp4 ctx_in PKT/bad_skb_ctx"
  "tc_rewrite data_in PKT/udp4 data_out OUT/d"
  "tc_rewrite data_in PKT/odd data_out OUT/d"
  "tc_rewrite data_in PKT/arp data_out OUT/d"
  "tc_fields data_in PKT/udp4 data_out OUT/d"
  "tc_fields data_in PKT/arp ctx_in PKT/skb_ctx"
  "tc_fields data_in PKT/big"
  "sock_trim data_in PKT/udp4 data_out OUT/d"
  "sock_trim data_in PKT/big data_out OUT/d"
  "sock_proto data_in PKT/udp4"
  "sock_proto data_in PKT/arp"
  "sock_proto data_in PKT/short"
  "xdp_pass repeat 1"
  "xdp_pass data_in PKT/missing"
  "sock_trim data_in PKT/adir"
  "xdp_pass data_in PKT/udp4 data_out OUT/nodir/d"
  "xdp_pass data_in PKT/udp4 bogus"
  "xdp_pass d PKT/udp4"
  "xdp_pass data_in PKT/udp4 repeat 1x"
  "xdp_pass data_in"
)
# transcript PROG_REF_PREFIX: each run (PROG_REF_PREFIX then the program's
# name), its output with durations masked, its exit code, and the output
# files (size, md5, the first 64 bytes in hex).
transcript() {
  local ref=$1
  for r in "${runs[@]}"; do
    local j="" rest=$r
    [[ "$r" == "-j "* ]] && { j="-j"; rest=${r#-j }; }
    local name=${rest%% *} args=${rest#* }
    [[ "$args" == "$rest" ]] && args=""
    args=${args//PKT/$work}; args=${args//OUT/$work/out}
    rm -rf "$work/out"; mkdir "$work/out"
    echo "\$ prog run $r"
    # shellcheck disable=SC2086
    out=$($j_tool $j prog run $ref$name $args 2>&1)
    echo "$out [exit $?]" | sed -E "s|$work|WORK|g;
      s/duration( \(average\))?: [0-9]+ns/duration\1: Nns/;
      s/\"duration\":[0-9]+/\"duration\":N/"
    for f in d c; do
      [[ -f "$work/out/$f" ]] || continue
      echo "$f: $(wc -c <"$work/out/$f") bytes, md5 $(md5sum <"$work/out/$f" | cut -c1-32)"
      head -c 64 "$work/out/$f" | od -An -tx1 -v
    done
  done
}

# ---- prog show -----------------------------------------------------------
# Each program as `prog show` prints it, plain and JSON: type, name, tag,
# license, whether maps and BTF are named. Masked: ids, the load time and
# creator (the test may run as any user), sizes (the kernel's xlated image is the verifier's rewrite, and it
# JITs), memlock and the map and BTF ids.
progs=(xdp_pass xdp_swap_mac xdp_ttl xdp_len xdp_count tc_mark tc_rewrite
       tc_fields sock_trim sock_proto)
show_transcript() {  # TOOL REF_PREFIX
  for p in "${progs[@]}"; do
    for j in "" "-j"; do
      echo "\$ $j prog show $p"
      # shellcheck disable=SC2086
      "$1" $j prog show $2$p 2>&1 | sed -E 's/^[0-9]+: /ID: /;
        s/loaded_at [^ ]+  uid [0-9]+/loaded_at T  uid U/; s/xlated [0-9]+B/xlated NB/;
        s/(jited [0-9]+B|not jited)/JIT/; s/memlock [0-9]+B/memlock NB/;
        s/map_ids [0-9,]+/map_ids IDS/; s/btf_id [0-9]+/btf_id ID/;
        s/"id":[0-9]+/"id":ID/; s/"loaded_at":[0-9]+,"uid":[0-9]+/"loaded_at":T,"uid":U/;
        s/"bytes_xlated":[0-9]+/"bytes_xlated":N/;
        s/"jited":(true,"bytes_jited":[0-9]+|false)/"jited":JIT/;
        s/"bytes_memlock":[0-9]+/"bytes_memlock":N/;
        s/"map_ids":\[[0-9,]+\]/"map_ids":IDS/; s/"btf_id":[0-9]+/"btf_id":ID/'
    done
  done
}

if [[ -z "$prog_obj" ]]; then
  fail "prog_run.bpf.o not among the arguments"
else
  emu_show=$(show_transcript "$bpfemu" "$prog_obj ")
  if ! diff -u "$dir/prog_show_expected.txt" <(echo "$emu_show"); then
    fail "bpfemu prog show transcript differs from prog_show_expected.txt"
  else
    echo "PASS: bpfemu prog show transcript matches prog_show_expected.txt"
  fi
  j_tool=$bpfemu
  emu_out=$(transcript "$prog_obj ")
  emu_out=${emu_out//$prog_obj/OBJ}
  if ! diff -u "$dir/prog_run_expected.txt" <(echo "$emu_out"); then
    fail "bpfemu prog run transcript differs from prog_run_expected.txt"
  else
    echo "PASS: bpfemu prog run transcript (${#runs[@]} runs) matches prog_run_expected.txt"
  fi
  # bpfemu's own error cases (bpftool names programs differently).
  for c in "$work/missing xdp_pass repeat 1" "$work/notelf xdp_pass repeat 1" \
           "$work/adir xdp_pass repeat 1" "$prog_obj no_such_prog repeat 1" \
           "$prog_obj xdp_pass"; do
    # shellcheck disable=SC2086
    out=$("$bpfemu" prog run $c 2>&1)
    rc=$?
    if [[ $rc -ne 255 || "$out" != Error:* ]]; then
      fail "prog run $c: exit $rc, '$out'"
    fi
  done

  if ! command -v bpftool >/dev/null || ! bpftool prog list >/dev/null 2>&1; then
    echo "SKIPPED kernel run: bpftool cannot list programs (bpf() unavailable)"
  else
    pins=/sys/fs/bpf/bpfemu_prog_run_$$
    if ! bpftool prog loadall "$prog_obj" "$pins" 2>"$work/load.err"; then
      fail "bpftool prog loadall: $(cat "$work/load.err")"
    else
      j_tool=bpftool
      k_out=$(transcript "pinned $pins/")
      k_show=$(show_transcript bpftool "pinned $pins/")
      rm -rf "$pins"
      if ! diff -u <(echo "$k_show") <(echo "$emu_show"); then
        fail "bpftool prog show on the kernel differs from bpfemu prog show"
      else
        echo "PASS: bpftool prog show on the kernel equals bpfemu's (${#progs[@]} programs, plain and JSON)"
      fi
      # The program reference is each tool's own.
      k_out=$(echo "$k_out" | sed "s|pinned $pins/||")
      e_out=$(echo "$emu_out" | sed "s|OBJ ||")
      if ! diff -u <(echo "$k_out") <(echo "$e_out"); then
        fail "bpftool prog run on the kernel differs from bpfemu prog run"
      else
        echo "PASS: bpftool prog run on the kernel equals bpfemu's (${#runs[@]} runs)"
      fi
    fi
  fi
fi
exit $status
