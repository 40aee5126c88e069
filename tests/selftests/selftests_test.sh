#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The kernel's own userspace map selftests (test_maps + map_tests/*.c,
# test_lru_map, test_lpm_map from Debian's linux-source-6.12 tarball),
# extracted and built unchanged at test time, each subtest in its own process,
# on the kernel (real libbpf; root only) and on bpfemu (the same binary with
# LD_PRELOAD=libbpfemu.so). See docs/selftests.md.
#
# Fails when a subtest that passes on the kernel fails on bpfemu and is not in
# known_divergences.txt, when a subtest is not built and not listed, and when a listed subtest passes on bpfemu (the list
# must shrink as the fixes land).
#
# Environment: SELFTESTS_TARBALL (default /usr/src/linux-source-6.12.tar.xz),
# SELFTESTS_TIMEOUT (seconds per run of a subtest, default 90: map_stress
# takes 25 s on a loaded 2-core machine),
# SELFTESTS_FILTER (grep -E over subtest names; default all),
# SELFTESTS_KNOWN (the known-divergences file, for checking this script),
# SELFTESTS_SLOW=1 also runs the subtests listed as slow below.
set -u
R=$PWD                       # the runfiles root
here=$R/tests/selftests
tarball=${SELFTESTS_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
timeout_s=${SELFTESTS_TIMEOUT:-90}
filter=${SELFTESTS_FILTER:-.}
known=${SELFTESTS_KNOWN:-$here/known_divergences.txt}
preload=$R/compat/libbpfemu.so
# `exec` as $1: the bpfemu column runs each binary, unchanged and with the
# real libbpf, under `bpfemu exec` (docs/exec.md) instead of preloading.
mode=${1:-preload}
start=$SECONDS

if [ ! -f "$tarball" ]; then
  echo "SKIPPED: $tarball is absent (apt-get install linux-source-6.12)"
  exit 0
fi
for tool in gcc clang bpftool tar xz timeout; do
  if ! command -v $tool >/dev/null; then
    echo "SKIPPED: $tool is not installed (tools/setup.sh installs it)"
    exit 0
  fi
done

work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/selftests.XXXXXX")
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-selftests.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"; [ -n "${TEST_TMPDIR:-}" ] || rm -rf "$work"' EXIT

# --- 1. extract only what the build needs ---------------------------------
top=linux-source-6.12
if ! tar -xJf "$tarball" -C "$work" --wildcards \
    "$top/tools/testing/selftests/bpf/*.[ch]" \
    "$top/tools/include/*" "$top/tools/arch/x86/include/*" \
    "$top/kernel/bpf/disasm.h" 2>"$work/tar.err"; then
  echo "FAIL: extracting from $tarball:"; cat "$work/tar.err"; exit 1
fi
K=$work/$top
B=$K/tools/testing/selftests/bpf
echo "extracted $(find "$K" -type f | wc -l) files from $tarball in $((SECONDS - start)) s"

# --- 2. build, unchanged, against the system libbpf (/usr/include/bpf) ----
declare -A not_built   # subtest or binary -> reason
CFLAGS=(-O2 -g -fno-omit-frame-pointer -rdynamic -D_GNU_SOURCE=
        -I"$B" -I"$K/tools/include" -I"$K/tools/arch/x86/include"
        -I"$K/tools/include/uapi" -I"$K/kernel/bpf"
        -include "$here/libbpf_1_1_compat.h")
LDLIBS=(-lbpf -lelf -lz -lrt -lpthread)
BPF_CFLAGS=(-O2 -g -target bpf -I"$B" -I"$K/tools/include/uapi"
            -I/usr/include/x86_64-linux-gnu)
log=$work/build.log
: >"$log"
first_error() { grep -m1 -E 'error|undefined reference' "$1" | sed "s|$B/||g" | cut -c1-150; }

# BPF objects: test_maps.c opens ./<name>.bpf.o (the runs' cwd is $B); two
# map_tests include a skeleton. vmlinux.h comes from the running kernel.
if ! bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$B/vmlinux.h" 2>"$work/vmlinux.err"; then
  echo "no /sys/kernel/btf/vmlinux: $(head -1 "$work/vmlinux.err")" >"$B/vmlinux.h.missing"
fi
for o in test_map_in_map test_map_in_map_invalid sockmap_parse_prog \
         sockmap_verdict_prog sockmap_tcp_msg_prog map_percpu_stats \
         read_bpf_task_storage_busy; do
  if ! clang "${BPF_CFLAGS[@]}" -c "$B/progs/$o.c" -o "$B/$o.bpf.o" >"$work/$o.bpf.log" 2>&1; then
    not_built[$o.bpf.o]="progs/$o.c: $(first_error "$work/$o.bpf.log")"
  fi
done
for s in map_percpu_stats read_bpf_task_storage_busy; do
  if [ -f "$B/$s.bpf.o" ] &&
     ! bpftool gen skeleton "$B/$s.bpf.o" name "$s" >"$B/$s.skel.h" 2>"$work/$s.skel.log"; then
    rm -f "$B/$s.skel.h"
  fi
done

# map_tests/tests.h, generated the way the selftests Makefile does.
gen_tests_h() {
  echo '/* Generated header, do not edit */'
  sed -n -E 's/^void (serial_)?test_([a-zA-Z0-9_]+)\((void)?\).*/DEFINE_TEST(\2)/p' \
    "$@" | sort
}
# test_maps: map_tests/*.c, each compiled on its own; one that does not
# compile is left out and its subtests are "not built".
maps_objs=()
built_map_tests=()
for f in "$B"/map_tests/*.c; do
  base=$(basename "$f" .c)
  if (cd "$B" && gcc "${CFLAGS[@]}" -c "$f" -o "$work/$base.o") \
       >"$work/$base.log" 2>&1; then
    maps_objs+=("$work/$base.o")
    built_map_tests+=("$f")
  else
    for t in $(gen_tests_h "$f" | sed -n 's/^DEFINE_TEST(\(.*\))$/\1/p'); do
      not_built[test_maps/map_tests/$t]="map_tests/$base.c: $(first_error "$work/$base.log")"
    done
  fi
done
if [ ${#built_map_tests[@]} -gt 0 ]; then
  gen_tests_h "${built_map_tests[@]}" >"$B/map_tests/tests.h"
else
  gen_tests_h /dev/null >"$B/map_tests/tests.h"
fi

build() {  # binary driver extra-sources...
  local bin=$1 driver=$2; shift 2
  if ! (cd "$B" && gcc "${CFLAGS[@]}" -o "$work/$bin" "$here/$driver" "$@" \
          "$here/libbpf_1_1_compat.c" "${LDLIBS[@]}") >"$work/$bin.log" 2>&1; then
    not_built[$bin]="$(first_error "$work/$bin.log")"
  fi
}
build test_maps test_maps_driver.c "${maps_objs[@]}" "$B/testing_helpers.c"
build test_lru_map test_lru_map_driver.c
build test_lpm_map test_lpm_map_driver.c
echo "built in $((SECONDS - start)) s (gcc $(gcc -dumpversion), clang $(clang -dumpversion), libbpf $(pkg-config --modversion libbpf 2>/dev/null || echo '?'))"
for k in "${!not_built[@]}"; do echo "not built: $k: ${not_built[$k]}"; done | sort

# libbpf API the binaries import that libbpfemu.so does not define: those
# calls reach the real libbpf under LD_PRELOAD (issue #22).
if [ -f "$preload" ]; then
  for bin in test_maps test_lru_map test_lpm_map; do
    [ -x "$work/$bin" ] || continue
    missing=$(comm -23 \
      <(nm -D --undefined-only "$work/$bin" | awk '{print $2}' | sed 's/@.*//' |
        grep -E '^(bpf|btf|libbpf|ring_buffer|perf_buffer|user_ring_buffer)' | sort -u) \
      <(nm -D --defined-only "$preload" | awk '{print $3}' | sed 's/@.*//' | sort -u) | tr '\n' ' ')
    [ -n "$missing" ] && echo "libbpf API $bin calls that libbpfemu.so lacks (#22): $missing"
  done
fi

# --- 3. the kernel column: root with a working bpf() ----------------------
kernel_reason=""
if [ "$(id -u)" -ne 0 ]; then
  kernel_reason="not root"
elif [ ! -x "$work/test_maps" ]; then
  kernel_reason="test_maps not built"
elif ! probe=$("$work/test_maps" --probe 2>&1); then
  kernel_reason="bpf() not permitted ($probe)"
fi
[ -n "$kernel_reason" ] && echo "SKIPPED kernel column: $kernel_reason"
if [ ! -f "$preload" ]; then echo "FAIL: $preload is missing"; exit 1; fi
# A sanitizer build of libbpfemu.so cannot be preloaded into these binaries.
if [ -x "$work/test_maps" ]; then
  preload_out=$(LD_PRELOAD=$preload "$work/test_maps" --list 2>&1 >/dev/null)
  if [[ "$preload_out" == *"runtime does not come first"* ]]; then
    echo "SKIPPED: a sanitizer build of libbpfemu.so cannot be preloaded (${preload_out%%$'\n'*})"
    exit 0
  fi
fi

# Subtests too slow for the ~5 minute budget on 2 cores: listed as "slow",
# run with SELFTESTS_SLOW=1.
slow_re='^test_maps/map_parallel(/no_prealloc)?$'
# Under `bpfemu exec` each bpf() call is a seccomp notification served by
# another process (about 50 us on 2 loaded cores, bench/exec_benchmark):
# the subtests that make millions of calls take minutes there, past the
# per-subtest limit on some runs and not on others.
if [ "$mode" = exec ]; then
  slow_re='^test_maps/map_parallel(/no_prealloc)?$|^test_maps/map_stress(/no_prealloc)?$|^test_lpm_map/lpm_map$'
fi

# Map types per subtest (from the sources), and which of them bpfemu emulates.
types_of() {
  case $1 in
    test_maps/hashmap_percpu*) echo PERCPU_HASH ;;
    test_maps/hashmap*|test_maps/map_large*|test_maps/map_parallel*) echo HASH ;;
    test_maps/arraymap_percpu*) echo PERCPU_ARRAY ;;
    test_maps/arraymap*) echo ARRAY ;;
    test_maps/devmap_hash*) echo DEVMAP_HASH ;;
    test_maps/devmap*) echo DEVMAP ;;
    test_maps/sockmap*) echo SOCKMAP ;;
    test_maps/map_stress*) echo HASH,PERCPU_HASH,ARRAY,PERCPU_ARRAY ;;
    test_maps/map_rdonly*) echo HASH ;;
    test_maps/map_wronly*) echo HASH,STACK,QUEUE ;;
    test_maps/reuseport_array*) echo REUSEPORT_SOCKARRAY ;;
    test_maps/queuemap*) echo QUEUE ;;
    test_maps/stackmap*) echo STACK ;;
    test_maps/map_in_map*) echo ARRAY_OF_MAPS,HASH_OF_MAPS,HASH,PERF_EVENT_ARRAY ;;
    test_maps/map_tests/array_map_batch_ops) echo ARRAY,PERCPU_ARRAY ;;
    test_maps/map_tests/htab_map_batch_ops) echo HASH,PERCPU_HASH ;;
    test_maps/map_tests/lpm_trie*) echo LPM_TRIE ;;
    test_maps/map_tests/map_in_map_batch_ops_array) echo ARRAY_OF_MAPS,ARRAY,HASH ;;
    test_maps/map_tests/map_in_map_batch_ops_hash) echo HASH_OF_MAPS,ARRAY,HASH ;;
    test_maps/map_tests/map_percpu_stats) echo HASH,PERCPU_HASH,LRU_HASH,LRU_PERCPU_HASH,HASH_OF_MAPS ;;
    test_maps/map_tests/sk_storage_map) echo SK_STORAGE ;;
    test_maps/map_tests/task_storage*) echo TASK_STORAGE ;;
    test_lru_map/*/lru_percpu_hash*) echo LRU_PERCPU_HASH ;;
    test_lru_map/*) echo LRU_HASH ;;
    test_lpm_map/*) echo LPM_TRIE ;;
    *) echo "?" ;;
  esac
}
emulated=",HASH,PERCPU_HASH,LRU_HASH,LRU_PERCPU_HASH,ARRAY,PERCPU_ARRAY,PROG_ARRAY,HASH_OF_MAPS,ARRAY_OF_MAPS,SOCKMAP,SOCKHASH,RINGBUF,QUEUE,STACK,BLOOM_FILTER,LPM_TRIE,STACK_TRACE,PERF_EVENT_ARRAY,USER_RINGBUF,"
emulated+="REUSEPORT_SOCKARRAY,"
emulated+="SK_STORAGE,TASK_STORAGE,INODE_STORAGE,CGRP_STORAGE,"
emulated+="DEVMAP,DEVMAP_HASH,CPUMAP,"
emu_mark() {  # TYPES -> the types, those bpfemu does not emulate starred
  local t out=""
  for t in ${1//,/ }; do
    if [[ $emulated == *",$t,"* ]]; then out+="$t,"; else out+="$t*,"; fi
  done
  echo "${out%,}"
}

# --- 4. run every subtest, once per column --------------------------------
# result: pass, fail (exit N), crash (signal), timeout, skip (the selftest's
# own skip counter), not built.
run_status() { cat "$work/out/${1//\//_}.kernel.rc" 2>/dev/null; }
# wrap: a command the bpfemu column's run is started under (see userns).
wrap=()
run_one() {  # column binary subtest-name-without-binary-prefix outfile
  local col=$1 bin=$2 name=$3 out=$4 rc
  if [ "$col" = bpfemu ] && [ "$mode" = exec ]; then
    (cd "$B" && timeout -k 5 "$timeout_s" "${wrap[@]}" "$R/cli/bpfemu" exec -- "$work/$bin" "$name") >"$out" 2>&1
  elif [ "$col" = bpfemu ]; then
    (cd "$B" && timeout -k 5 "$timeout_s" "${wrap[@]}" env LD_PRELOAD="$preload" "$work/$bin" "$name") >"$out" 2>&1
  else
    (cd "$B" && timeout -k 5 "$timeout_s" "$work/$bin" "$name") >"$out" 2>&1
  fi
  rc=$?
  echo $rc >"$out.rc"
  case $rc in
    0) echo pass ;;
    77) echo skip ;;
    124|137) echo "timeout" ;;
    13[0-9]|14[0-9]|15[0-9]) echo "crash(sig$((rc - 128)))" ;;
    *) echo "fail($rc)" ;;
  esac
}

declare -A listed listed_issue
known_files=("$known")
# Under exec, also what only the served system call changes.
[ "$mode" = exec ] && known_files+=("$here/known_divergences_exec.txt")
for f in "${known_files[@]}"; do
  [ -f "$f" ] || continue
  while read -r name issue reason; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    listed[$name]=$reason
    listed_issue[$name]=$issue
  done <"$f"
done

names=()
for bin in test_maps test_lru_map test_lpm_map; do
  if [ -x "$work/$bin" ]; then
    while read -r n; do names+=("$n"); done < <("$work/$bin" --list)
  else
    names+=("$bin/*")
  fi
done
for k in "${!not_built[@]}"; do
  [[ $k == test_maps/* ]] && names+=("$k")
done

mkdir -p "$work/out"
rows=()
# Subtests whose own non-BPF system calls need root (socket(SOCK_RAW) in
# test_reuseport_array). Unprivileged, the bpfemu column runs them in a new
# user and network namespace (unshare -Urn), where the process holds
# CAP_NET_RAW over its own network namespace: SOCK_RAW opens, and the
# emulator answers bpf() as everywhere else. Where user namespaces are off,
# they are not run on either side.
needs_root_re='^test_maps/reuseport_array'
userns=false
if [ "$(id -u)" -ne 0 ] && unshare -Urn true 2>/dev/null; then userns=true; fi
kpass=0; ktotal=0; epass=0; etotal=0; status=0
unexpected=(); stale=()
printf -v header '%-48s %-46s %-13s %-13s %s' subtest "map types (* = not emulated)" kernel bpfemu "known divergence"
rows+=("$header")
for n in "${names[@]}"; do
  [[ $n =~ $filter ]] || continue
  bin=${n%%/*}; sub=${n#*/}
  types=$(emu_mark "$(types_of "$n")")
  t0=$SECONDS
  if [ -n "${not_built[$n]:-}" ] || [ -n "${not_built[$bin]:-}" ]; then
    k="not built"; e="not built"
  elif [[ $n =~ $slow_re ]] && [ "${SELFTESTS_SLOW:-}" != 1 ]; then
    k="slow"; e="slow"
  elif [[ $n =~ $needs_root_re ]] && [ "$(id -u)" -ne 0 ] && ! $userns; then
    k="needs root"; e="needs root"
  else
    if [ -n "$kernel_reason" ]; then k="skip"
    else k=$(run_one kernel "$bin" "$sub" "$work/out/${n//\//_}.kernel"); fi
    wrap=()
    [[ $n =~ $needs_root_re ]] && [ "$(id -u)" -ne 0 ] && wrap=(unshare -Urn)
    e=$(run_one bpfemu "$bin" "$sub" "$work/out/${n//\//_}.bpfemu")
  fi
  [[ $k != "not built" && $k != slow && $k != "needs root" && -z $kernel_reason ]] && ktotal=$((ktotal + 1))
  [[ $k == pass ]] && kpass=$((kpass + 1))
  [[ $e != "not built" && $e != slow && $e != "needs root" ]] && etotal=$((etotal + 1))
  [[ $e == pass ]] && epass=$((epass + 1))
  mark=""
  [ -n "${listed[$n]:-}" ] && mark="${listed_issue[$n]}"
  # Should pass on bpfemu: passes on the kernel (or the kernel column is off).
  if [[ $e != "not built" && $e != slow && $e != "needs root" ]]; then
    if [ -n "${listed[$n]:-}" ] && [ "$e" = pass ]; then
      stale+=("$n (${listed_issue[$n]})"); mark+=" NOW PASSES"
    elif [ -z "${listed[$n]:-}" ] && [ "$e" != pass ] &&
         { [ "$k" = pass ] || [ -n "$kernel_reason" ]; }; then
      unexpected+=("$n"); mark+="UNEXPECTED"
    fi
  elif [ "$e" = "not built" ] && [ -z "${listed[$n]:-}" ]; then
    # Everything builds on Debian 12 today: a subtest that stops building
    # is a regression, unless listed.
    unexpected+=("$n"); mark+="UNEXPECTED"
  fi
  printf -v row '%-48s %-46s %-13s %-13s %s' "$n" "$types" "$k" "$e" "$mark"
  rows+=("$row")
  echo "$row ($((SECONDS - t0)) s)"
done

echo
echo "=== kernel selftests (linux-source-6.12) on the kernel and on bpfemu ==="
printf '%s\n' "${rows[@]}"
if [ -n "$kernel_reason" ]; then
  echo "kernel: skipped ($kernel_reason), bpfemu: $epass/$etotal pass"
else
  echo "kernel: $kpass/$ktotal pass, bpfemu: $epass/$etotal pass"
fi
echo "total time: $((SECONDS - start)) s"
# Why a subtest does not pass on the kernel, or is not run.
for n in "${names[@]}"; do
  [[ $n =~ $filter ]] || continue
  if [ -n "${not_built[$n]:-}" ]; then
    echo "  $n: not built: ${not_built[$n]}"
  elif [ -n "${not_built[${n%%/*}]:-}" ]; then
    echo "  $n: not built: ${not_built[${n%%/*}]}"
  elif [[ $n =~ $slow_re ]] && [ "${SELFTESTS_SLOW:-}" != 1 ]; then
    echo "  $n: slow: not run (> ${timeout_s} s on 2 cores; SELFTESTS_SLOW=1 runs it)"
  elif [[ $n =~ $needs_root_re ]] && [ "$(id -u)" -ne 0 ]; then
    if $userns; then
      echo "  $n: bpfemu ran it in a user and network namespace (unshare -Urn): the selftest opens SOCK_RAW sockets itself (CAP_NET_RAW)"
    else
      echo "  $n: needs root: the selftest opens SOCK_RAW sockets itself (CAP_NET_RAW), whichever bpf() it calls; user namespaces are off here"
    fi
  elif [[ $n == test_maps/map_large* ]]; then
    echo "  $n: large: one HASH of 32768 elements with 4112-byte keys, about 130 MiB of kernel memory (over the 64 MiB per-map budget; the selftest is unchanged)"
  elif [ -z "$kernel_reason" ] && [ -f "$work/out/${n//\//_}.kernel" ] &&
       [ "$(run_status "$n")" != 0 ]; then
    echo "  $n: kernel: $(grep -E -m1 'FAIL|Fail|fail|error|Assertion|SKIP' "$work/out/${n//\//_}.kernel" | cut -c1-110)"
  fi
done

for n in "${unexpected[@]}"; do
  f=$work/out/${n//\//_}.bpfemu
  if [ ! -f "$f" ]; then
    echo "FAIL: $n was not built, and is not in known_divergences.txt: ${not_built[$n]:-${not_built[${n%%/*}]:-}}"
    status=1
    continue
  fi
  echo "FAIL: $n passes on the kernel but not on bpfemu, and is not in known_divergences.txt; its output:"
  tail -n 5 "$f" | sed 's/^/    /'; echo
  status=1
done
for n in "${stale[@]}"; do
  echo "FAIL: $n is in known_divergences.txt but now passes on bpfemu: remove it from the list"
  status=1
done
# A listed name that no longer exists is stale too.
for n in "${!listed[@]}"; do
  found=0
  for m in "${names[@]}"; do [ "$m" = "$n" ] && found=1; done
  if [ $found = 0 ]; then
    echo "FAIL: known_divergences.txt lists $n, which is not a subtest"
    status=1
  fi
done
[ $status = 0 ] && echo "PASS: every subtest that passes on the kernel passes on bpfemu or is a listed divergence"
exit $status
