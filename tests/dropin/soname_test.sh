#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The LD_LIBRARY_PATH substitution (issue 22): tests/dropin/libbpf_program.c
# is built here with plain `cc ... -lbpf` against the system libbpf headers,
# so the binary needs libbpf.so.1 and libbpf's symbol versions. It then runs
# unchanged with LD_LIBRARY_PATH pointing at //compat/soname, whose
# libbpf.so.1 is libbpfemu, and must print tests/dropin/expected.txt (the
# kernel's answers). Proof that it ran on the emulator and not on the real
# libbpf: the emulated bpffs's id counter ($BPFEMU_BPFFS_DIR/.ids) appears,
# and, when this test runs as root, the same run as bpfuser (uid 1001, no
# bpf() permission under kernel.unprivileged_bpf_disabled) prints the same.
set -u
dir=tests/dropin
obj=tests/examples/tail_calls.bpf.o
expected=$dir/expected.txt
libdir=$PWD/compat/soname
tmp=${TEST_TMPDIR:-$(mktemp -d)}

# A ThreadSanitizer build cannot serve an uninstrumented binary: threads
# that binary's libc starts (the ring buffer's watcher) run instrumented
# code with no sanitizer state and crash.
if readelf -d "$libdir/libbpf.so.1" 2>/dev/null | grep -q 'NEEDED.*libtsan'; then
  echo "SKIPPED: a ThreadSanitizer build of libbpf.so.1 cannot be loaded by an uninstrumented binary"
  exit 0
fi
if ! command -v cc >/dev/null; then
  echo "SKIPPED: no C compiler (cc) to build the -lbpf program"; exit 0
fi
prog=$tmp/libbpf_program
if ! cc -O1 -o "$prog" "$dir/libbpf_program.c" -lbpf 2>"$tmp/cc.err"; then
  echo "SKIPPED: cannot build with -lbpf (system libbpf headers/library absent): $(head -1 "$tmp/cc.err")"
  exit 0
fi
status=0
if ! readelf -d "$prog" | grep -q 'NEEDED.*\[libbpf.so.1\]'; then
  echo "FAIL: the -lbpf build does not need libbpf.so.1"; exit 1
fi
if ! readelf -V "$prog" | grep -q 'LIBBPF_'; then
  echo "FAIL: the -lbpf build asks for no LIBBPF_ symbol versions"; exit 1
fi

export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-soname.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR" "${shared:-}"' EXIT
out=$(LD_LIBRARY_PATH="$libdir" "$prog" "$obj" 2>&1)
if [[ "$out" == *"runtime does not come first"* || "$out" == *"ThreadSanitizer"*"failed"* ]]; then
  echo "SKIPPED: a sanitizer build of libbpf.so.1 cannot be loaded by an uninstrumented binary (${out%%$'\n'*})"
  exit 0
fi
if ! diff -u "$expected" <(echo "$out"); then
  echo "FAIL: LD_LIBRARY_PATH=compat/soname output differs from expected.txt"
  status=1
else
  echo "PASS: LD_LIBRARY_PATH=compat/soname output matches expected.txt"
fi
if [[ -f "$BPFEMU_BPFFS_DIR/.ids" ]]; then
  echo "PASS: the run used the emulator (emulated id counter created)"
else
  echo "FAIL: no emulated id counter in $BPFEMU_BPFFS_DIR: the real libbpf ran"
  status=1
fi
resolved=$(LD_LIBRARY_PATH="$libdir" LD_TRACE_LOADED_OBJECTS=1 "$prog" |
  awk '$1 == "libbpf.so.1" {print $3}')
if [[ "$resolved" != "$libdir/libbpf.so.1" ]]; then
  echo "FAIL: libbpf.so.1 resolved to '$resolved', not $libdir/libbpf.so.1"
  status=1
fi

# libbpf's library-wide and object API (print callbacks, tables, setters,
# the bpf_map__* element API, reuse_fd, pinning): the same binary on the
# substituted library must print what real libbpf printed on the kernel.
api_obj=tests/examples/percpu_bytes.bpf.o
api_expected=$dir/libbpf_api_expected.txt
api=$tmp/libbpf_api_program
if ! cc -O1 -o "$api" "$dir/libbpf_api_program.c" -lbpf 2>"$tmp/cc.err"; then
  echo "FAIL: cannot build libbpf_api_program.c: $(head -1 "$tmp/cc.err")"
  status=1
else
  if ! diff -u "$api_expected" \
      <(LD_LIBRARY_PATH="$libdir" "$api" "$api_obj" 2>&1); then
    echo "FAIL: libbpf_api_program on compat/soname differs from libbpf_api_expected.txt"
    status=1
  else
    echo "PASS: libbpf_api_program on compat/soname matches libbpf_api_expected.txt ($(wc -l < "$api_expected") lines)"
  fi
  kernel_out=$("$api" "$api_obj" 2>&1)
  if ! grep -q '^load  *-> 0$' <<<"$kernel_out"; then
    echo "SKIPPED kernel run of libbpf_api_program: bpf() unavailable"
  elif ! diff -u "$api_expected" <(echo "$kernel_out"); then
    echo "FAIL: libbpf_api_program on the real libbpf differs from libbpf_api_expected.txt"
    status=1
  else
    echo "PASS: libbpf_api_program on the real libbpf and the kernel matches too"
  fi
fi

# Slots set in the object (`.values`): libbpf fills a program array's and a
# map-in-map's at load; the same binary on both libraries.
slots=$tmp/init_slots
slots_obj=tests/dropin/init_slots.bpf.o
slots_expected=$dir/init_slots_expected.txt
if ! cc -O1 -o "$slots" "$dir/init_slots.c" -lbpf 2>"$tmp/cc.err"; then
  echo "FAIL: cannot build init_slots.c: $(head -1 "$tmp/cc.err")"
  status=1
else
  if ! diff -u "$slots_expected" \
      <(LD_LIBRARY_PATH="$libdir" "$slots" "$slots_obj" 2>/dev/null); then
    echo "FAIL: init_slots on compat/soname differs from init_slots_expected.txt"
    status=1
  else
    echo "PASS: init_slots (.values slots) on compat/soname matches init_slots_expected.txt"
  fi
  slots_kernel=$("$slots" "$slots_obj" 2>/dev/null)
  if [[ "$slots_kernel" != "load -> 0"* ]]; then
    echo "SKIPPED kernel run of init_slots: bpf() unavailable"
  elif ! diff -u "$slots_expected" <(echo "$slots_kernel"); then
    echo "FAIL: init_slots on the real libbpf differs from init_slots_expected.txt"
    status=1
  else
    echo "PASS: init_slots on the real libbpf and the kernel matches too"
  fi
fi

# A libbpf-bootstrap style program: skeleton (bpftool gen skeleton),
# libbpf_set_print, .rodata before load, bpf_map__update_elem, a ring buffer
# consumer, test runs, .bss through the skeleton.
boot=$tmp/bootstrap
if ! command -v bpftool >/dev/null; then
  echo "SKIPPED bootstrap: bpftool is not installed (it generates the skeleton)"
  boot=
elif ! bpftool gen skeleton tests/dropin/bootstrap.bpf.o name bootstrap_bpf \
    >"$tmp/bootstrap.skel.h" 2>"$tmp/skel.err" ||
  ! cc -O1 -I"$tmp" -o "$boot" "$dir/bootstrap.c" -lbpf 2>"$tmp/cc.err"; then
  echo "FAIL: cannot build bootstrap.c: $(head -1 "$tmp/skel.err" "$tmp/cc.err")"
  status=1
  boot=
else
  if ! diff -u "$dir/bootstrap_expected.txt" \
      <(LD_LIBRARY_PATH="$libdir" "$boot" 2>/dev/null); then
    echo "FAIL: bootstrap on compat/soname differs from bootstrap_expected.txt"
    status=1
  else
    echo "PASS: bootstrap (skeleton, ring buffer) on compat/soname matches bootstrap_expected.txt"
  fi
  boot_kernel=$("$boot" 2>/dev/null)
  if [[ "$boot_kernel" != "load -> 0"* ]]; then
    echo "SKIPPED kernel run of bootstrap: bpf() unavailable"
  elif ! diff -u "$dir/bootstrap_expected.txt" <(echo "$boot_kernel"); then
    echo "FAIL: bootstrap on the real libbpf differs from bootstrap_expected.txt"
    status=1
  else
    echo "PASS: bootstrap on the real libbpf and the kernel matches too"
  fi
fi

# Without bpf() permission: as bpfuser, from a directory that user can read.
if [[ $(id -u) -ne 0 ]]; then
  echo "PASS (unprivileged already): ran as uid $(id -u)"
elif ! id bpfuser >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
  echo "SKIPPED bpfuser run: no user bpfuser or no setpriv"
elif ! setpriv --reuid=1001 --regid=1001 --clear-groups true 2>/dev/null; then
  echo "SKIPPED bpfuser run: uid 1001 is not mapped here (sandbox user namespace; :soname_bpfuser_test runs it)"
else
  shared=$(mktemp -d /tmp/bpfemu-soname.XXXXXX)
  mkdir -p "$shared/lib" "$shared/tests/examples"
  cp "$prog" "$shared/"
  cp "$libdir/libbpf.so.1" "$shared/lib/"
  cp "$obj" "$shared/tests/examples/"
  [[ -n "$boot" ]] && cp "$boot" "$shared/"
  chmod -R a+rX "$shared"
  user_out=$(cd "$shared" && setpriv --reuid=1001 --regid=1001 --clear-groups \
    env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$shared/lib" \
    BPFEMU_BPFFS_DIR=/dev/shm/bpfemu-soname-1001-$$ \
    ./libbpf_program "$obj" 2>&1)
  setpriv --reuid=1001 --regid=1001 --clear-groups rm -rf /dev/shm/bpfemu-soname-1001-$$
  if ! diff -u "$expected" <(echo "$user_out"); then
    echo "FAIL: as bpfuser (no bpf() permission) the output differs"
    status=1
  else
    echo "PASS: as bpfuser (no bpf() permission) output matches expected.txt"
  fi
  if [[ -n "$boot" ]]; then
    boot_user=$(cd "$shared" && setpriv --reuid=1001 --regid=1001 \
      --clear-groups env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$shared/lib" \
      BPFEMU_BPFFS_DIR=/dev/shm/bpfemu-soname-1001-$$ ./bootstrap 2>/dev/null)
    setpriv --reuid=1001 --regid=1001 --clear-groups rm -rf /dev/shm/bpfemu-soname-1001-$$
    if ! diff -u "$dir/bootstrap_expected.txt" <(echo "$boot_user"); then
      echo "FAIL: bootstrap as bpfuser differs"
      status=1
    else
      echo "PASS: bootstrap as bpfuser (no bpf() permission) matches bootstrap_expected.txt"
    fi
  fi
fi
exit $status
