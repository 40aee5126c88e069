#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Programs that issue bpf(2) themselves under `bpfemu exec`, most without libbpf:
# raw_bpf.c built dynamically and statically (-static), and raw_bpf.py
# (Python ctypes); and libbpf_globals.c, a skeleton through the system's
# real libbpf, and libbpf_ringbuf.c, libbpf's ring buffer reader; and
# perfbuf_raw.c, a perf buffer read through raw system calls, and
# libbpf_perfbuf.c, libbpf's perf buffer reader; and cgroup_attach.c, cgroup
# attachment and its storages (root: it makes cgroups). Each transcript
# must equal the kernel's, recorded as root on Linux 6.18 in
# expected_raw.txt / expected_py.txt / expected_globals.txt /
# expected_ringbuf.txt / expected_perfbuf.txt / expected_libbpf_perfbuf.txt
# / expected_cgroup.txt.
# With `kernel` as $1
# and bpf() permitted, the programs also run natively on the kernel and
# must print the same. Runs as any user: the emulated runs need no bpf()
# permission.
set -u
dir=tests/exec
bpfemu=cli/bpfemu
status=0
if ! grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null; then
  echo "SKIPPED: seccomp user_notif is not available"
  exit 0
fi
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-exec.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"' EXIT

check() {  # NAME EXPECTED CMD...
  local name=$1 expected=$2
  shift 2
  if out=$("$@" 2>&1) && diff -u "$expected" <(echo "$out"); then
    echo "PASS: $name"
  else
    echo "FAIL: $name"
    echo "$out" | tail -5
    status=1
  fi
}

if [[ "${1:-}" == kernel ]]; then
  if ! "$dir/raw_bpf" | grep -q "hash create ok = 1"; then
    echo "SKIPPED kernel run: bpf() is not permitted"
    exit 0
  fi
  check "raw_bpf on the kernel" "$dir/expected_raw.txt" "$dir/raw_bpf"
  check "libbpf_globals on the kernel" "$dir/expected_globals.txt" \
    "$dir/libbpf_globals" "$dir/globals.bpf.o"
  check "libbpf_ringbuf on the kernel" "$dir/expected_ringbuf.txt" \
    "$dir/libbpf_ringbuf"
  check "perfbuf_raw on the kernel" "$dir/expected_perfbuf.txt" \
    "$dir/perfbuf_raw"
  check "libbpf_perfbuf on the kernel" "$dir/expected_libbpf_perfbuf.txt" \
    "$dir/libbpf_perfbuf"
  check "raw_bpf_static on the kernel" "$dir/expected_raw.txt" \
    "$dir/raw_bpf_static_bin"
  kpin=/sys/fs/bpf/bpfemu_exec_py_$$
  check "raw_bpf.py on the kernel" "$dir/expected_py.txt" \
    env PIN="$kpin" python3 "$dir/raw_bpf.py"
  rm -f "$kpin"
  check "cgroup_attach on the kernel" "$dir/expected_cgroup.txt" \
    "$dir/cgroup_attach"
  # The same under exec, here where cgroups can be made (the sandbox of
  # raw_test mounts /sys read-only).
  check "cgroup_attach under exec" "$dir/expected_cgroup.txt" \
    "$bpfemu" exec -- "$dir/cgroup_attach"
  # exec_test's children check their answers against the kernel's.
  for mode in faults prog perfparanoid; do
    if "$dir/exec_child" $mode; then
      echo "PASS: exec_child $mode on the kernel"
    else
      echo "FAIL: exec_child $mode on the kernel"
      status=1
    fi
  done
  # An unprivileged perf_event_open under exec (the child becomes nobody,
  # which exec_test's sandbox cannot), bpfemu answering an unprivileged
  # caller: the same answers.
  if BPFEMU_UNPRIVILEGED=1 "$bpfemu" exec -- "$dir/exec_child" perfparanoid; then
    echo "PASS: exec_child perfparanoid under exec"
  else
    echo "FAIL: exec_child perfparanoid under exec"
    status=1
  fi
  exit $status
fi
check "raw_bpf under exec" "$dir/expected_raw.txt" \
  "$bpfemu" exec -- "$dir/raw_bpf"
check "raw_bpf_static under exec" "$dir/expected_raw.txt" \
  "$bpfemu" exec -- "$dir/raw_bpf_static_bin"
check "raw_bpf.py under exec" "$dir/expected_py.txt" \
  "$bpfemu" exec -- python3 "$dir/raw_bpf.py"
# The real libbpf's skeleton load mmap()s .bss and .data (BPF_F_MMAPABLE):
# the mappings continue in the child and share the map's pages.
check "libbpf_globals under exec" "$dir/expected_globals.txt" \
  "$bpfemu" exec -- "$dir/libbpf_globals" "$dir/globals.bpf.o"
# The real libbpf's ring buffer reader: ring_buffer__new maps the ring fd
# (the file shows the kernel's user offsets) and adds it to an epoll
# instance (served: exec/ring_poll.h); ring_buffer__poll reads the records
# of test runs, a discarded, a NO_WAKEUP and wrapping ones among them.
check "libbpf_ringbuf under exec" "$dir/expected_ringbuf.txt" \
  "$bpfemu" exec -- "$dir/libbpf_ringbuf"
# Perf buffers through raw system calls: perf_event_open of BPF output
# events served (exec/perf_open.cc), their mmap continuing in the child,
# epoll readiness once per wake-up (exec/ring_poll.h), records of test runs.
check "perfbuf_raw under exec" "$dir/expected_perfbuf.txt" \
  "$bpfemu" exec -- "$dir/perfbuf_raw"
# The real libbpf's perf buffer: perf_buffer__new / __poll / __consume.
check "libbpf_perfbuf under exec" "$dir/expected_libbpf_perfbuf.txt" \
  "$bpfemu" exec -- "$dir/libbpf_perfbuf"
# Cgroup attachment (BPF_PROG_ATTACH / DETACH / QUERY) and the storages it
# links: making the cgroups needs a writable cgroup2 hierarchy (root).
if out=$("$bpfemu" exec -- "$dir/cgroup_attach" 2>&1) &&
  [[ "$out" == SKIPPED* ]]; then
  echo "SKIPPED cgroup_attach under exec: ${out#SKIPPED: }"
else
  check "cgroup_attach under exec" "$dir/expected_cgroup.txt" \
    "$bpfemu" exec -- "$dir/cgroup_attach"
fi
# 6.1's map_freeze checks no fd access: a second freeze is EBUSY there.
# 6.1 knows no BPF_F_XDP_DEV_BOUND_ONLY (6.3): EINVAL before the device.
sed -e 's/^freeze again = -1$/freeze again = -16/' \
  -e 's/^xdp dev-bound on lo = -95$/xdp dev-bound on lo = -22/' \
  "$dir/expected_raw.txt" >"$BPFEMU_BPFFS_DIR/expected_6.1.txt"
check "raw_bpf under exec --kernel=6.1 --cpus=4" \
  "$BPFEMU_BPFFS_DIR/expected_6.1.txt" \
  "$bpfemu" exec --kernel=6.1 --cpus=4 -- "$dir/raw_bpf"
# mmap of map fds: the kernel's refusals (hash: ENOTSUPP, MAP_PRIVATE and
# beyond the values: EINVAL); an mmapable array's mapping proceeds in the
# child (raw_bpf.c MmapArray checks what it shows).
printf '%s\n' "mmap hash = -524" "mmap mmapable array = 0" \
  "mmap private = -22" "mmap beyond = -22" >"$BPFEMU_BPFFS_DIR/mmap.txt"
check "mmap of map fds under exec" "$BPFEMU_BPFFS_DIR/mmap.txt" \
  "$bpfemu" exec -- "$dir/exec_child" mmap
# The exit status is the child's; a missing command is 127.
"$bpfemu" exec -- sh -c 'exit 7'
rc=$?
[[ $rc == 7 ]] && echo "PASS: exit status 7" || { echo "FAIL: exit $rc"; status=1; }
"$bpfemu" exec -- /nonexistent/command 2>/dev/null
rc=$?
[[ $rc == 127 ]] && echo "PASS: missing command 127" || { echo "FAIL: exit $rc"; status=1; }
"$bpfemu" exec -- sh -c 'kill -TERM $$'
rc=$?
[[ $rc == 143 ]] && echo "PASS: killed by SIGTERM 143" || { echo "FAIL: exit $rc"; status=1; }
exit $status
