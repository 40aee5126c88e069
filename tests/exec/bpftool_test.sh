#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian's bpftool, unmodified, under `bpfemu exec`: map create (hash, array,
# per-CPU array, pinned), update, lookup, dump (plain and -j), show, freeze,
# delete; then prog load of a .bpf.o with pinmaps, prog run on packet data
# and its maps read back. The transcript (map ids masked, hash dumps sorted: the kernel's
# hash order depends on a random seed) must equal expected_bpftool.txt, which
# is bpftool's own transcript on the kernel with the emulator's default
# build profile. With `kernel` as $1 and bpf() permitted, the same commands
# also run as they are on the kernel, and that transcript must equal the
# emulated one made with the profile calibrated from the running kernel
# (memlock figures depend on the kernel build).
set -u
dir=tests/exec
bpfemu=cli/bpfemu
status=0
PATH=$PATH:/usr/sbin:/sbin  # Debian installs bpftool in /usr/sbin
if ! command -v bpftool >/dev/null; then
  echo "SKIPPED: bpftool is not installed (tools/setup.sh installs it)"
  exit 0
fi
if ! grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null; then
  echo "SKIPPED: seccomp user_notif is not available"
  exit 0
fi
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-exec.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"' EXIT

# transcript PREFIX PINPATH: the commands, each run as PREFIX bpftool ...
transcript() {
  local p=$2
  $1 mkdir "$p" || echo "mkdir $p failed"
  local cmds=(
    "map create $p/h type hash key 4 value 8 entries 16 name exh"
    "map create $p/a type array key 4 value 4 entries 4 name exa"
    "map create $p/pa type percpu_array key 4 value 4 entries 2 name expa"
    "map create $p/h type hash key 4 value 8 entries 16 name again"
    "map create $p/bad type hash key 0 value 8 entries 16"
    "map update pinned $p/h key 1 0 0 0 value 2 0 0 0 0 0 0 0"
    "map update pinned $p/h key 3 0 0 0 value 4 0 0 0 0 0 0 0"
    "map update pinned $p/h key 3 0 0 0 value 4 0 0 0 0 0 0 0 noexist"
    "map update pinned $p/a key 1 0 0 0 value 9 0 0 0"
    "map update pinned $p/a key 9 0 0 0 value 9 0 0 0"
    "map update pinned $p/pa key 1 0 0 0 value 5 0 0 0"
    "map lookup pinned $p/h key 1 0 0 0"
    "map lookup pinned $p/h key 2 0 0 0"
    "-j map lookup pinned $p/h key 3 0 0 0"
    "map lookup pinned $p/pa key 1 0 0 0"
    "map dump pinned $p/h"
    "-j map dump pinned $p/h"
    "map dump pinned $p/a"
    "-j map dump pinned $p/a"
    "map dump pinned $p/pa"
    "map show pinned $p/h"
    "-j map show pinned $p/a"
    "map show pinned $p/pa"
    "map freeze pinned $p/a"
    "map freeze pinned $p/a"
    "map update pinned $p/a key 1 0 0 0 value 9 0 0 0"
    "map show pinned $p/a"
    "-j map show pinned $p/a"
    "map delete pinned $p/h key 1 0 0 0"
    "map delete pinned $p/h key 1 0 0 0"
    "map dump pinned $p/h"
    "map show pinned $p/nope"
  )
  for c in "${cmds[@]}"; do
    echo "\$ bpftool ${c//$p/PINS}"
    # shellcheck disable=SC2086
    out=$($1 bpftool $c 2>&1)
    rc=$?
    # Hash dumps are sorted: the order follows the hash seed.
    if [[ "$c" == "-j map dump pinned $p/h" ]]; then
      out=$(echo "$out" | sed 's/},{/}\n{/g' | tr -d '[]' | sort)
    elif [[ "$c" == "map dump pinned $p/h" ]]; then
      out=$(echo "$out" | sort)
    fi
    echo "${out//$p/PINS} [exit $rc]"
  done | sed -E 's/^[0-9]+: /ID: /; s/"id":[0-9]+/"id":ID/g'
}

# prog_transcript PREFIX PINDIR: a .bpf.o loaded with its maps pinned, run
# on a packet, its maps read back: one shell under PREFIX (program pins
# live as long as the supervisor). On CPU 0 (taskset), as a kernel test run
# counts on the CPU it runs on; durations and ids masked.
prog_transcript() {
  local p=$2
  # shellcheck disable=SC2016
  taskset -c 0 $1 bash -c '
    p=$1 obj=$2 pkt=$3
    mkdir $p && mkdir $p/maps || echo "mkdir failed"
    run() { echo "\$ bpftool $*"; bpftool "$@" 2>&1 | grep -v "^libbpf: Failed to bump RLIMIT_MEMLOCK"; echo "[exit ${PIPESTATUS[0]}]"; }
    run prog load $obj $p/prog pinmaps $p/maps
    run prog load $obj $p/prog
    run prog run pinned $p/prog data_in $pkt repeat 5
    run prog run pinned $p/prog data_in $pkt
    run -j map dump pinned $p/maps/packets_by_proto
    run -j map lookup pinned $p/maps/bytes key 0 0 0 0
    run -j map show pinned $p/maps/bytes
    run -j map show pinned $p/maps/packets_by_proto
  ' sh "$p" tests/examples/percpu_bytes.bpf.o "$dir/packet.bin" |
    sed -E "s|$p|PINS|g; s/duration( \(average\))?: [0-9]+ns/duration\1: Nns/" |
    sed -E 's/^[0-9]+: /ID: /; s/"id":[0-9]+/"id":ID/g; s/"btf_id":[0-9]+/"btf_id":ID/g'
}

unset BPFEMU_KERNEL_BUILD
emu_out=$(transcript "$bpfemu exec --" "/sys/fs/bpf/exec_$$"
  prog_transcript "$bpfemu exec --" "/sys/fs/bpf/exec_prog_$$")
if ! diff -u "$dir/expected_bpftool.txt" <(echo "$emu_out"); then
  echo "FAIL: the transcript under bpfemu exec differs from expected_bpftool.txt"
  status=1
else
  echo "PASS: bpftool under bpfemu exec matches expected_bpftool.txt"
fi

if [[ "${1:-}" == kernel ]]; then
  if ! bpftool map list >/dev/null 2>&1; then
    echo "SKIPPED kernel run: bpftool cannot list maps (bpf() unavailable)"
  else
    kpins=/sys/fs/bpf/bpfemu_exec_$$
    k_out=$(transcript "" "$kpins"
      prog_transcript "" "${kpins}_prog")
    rm -rf "$kpins" "${kpins}_prog"
    if ! profile=$(testing/calibrate_profile); then
      echo "FAIL: cannot calibrate the build profile from the running kernel"
      exit 1
    fi
    echo "calibrated build profile: $profile"
    cal_out=$(
      export BPFEMU_KERNEL_BUILD=$profile
      transcript "$bpfemu exec --" "/sys/fs/bpf/exec_cal_$$"
      prog_transcript "$bpfemu exec --" "/sys/fs/bpf/exec_cal_prog_$$"
    )
    if ! diff -u <(echo "$k_out") <(echo "$cal_out"); then
      echo "FAIL: bpftool on the kernel differs from bpftool under bpfemu exec"
      status=1
    else
      echo "PASS: bpftool on the kernel matches bpftool under bpfemu exec"
    fi
  fi
fi
exit $status
