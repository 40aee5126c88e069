#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One process pins maps and exits; a second process (bpfemu) inspects them.
# The same steps run on the kernel with bpftool when bpf() is permitted.
# bpfemu's transcript with the default build profile must equal expected.txt
# (map ids masked), which was recorded on the build the defaults come from.
# bpftool's transcript must equal bpfemu's with the profile calibrated from
# the running kernel (memlock figures depend on the kernel build).
set -u
dir=tests/cli
status=0
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-cli.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"' EXIT

# transcript TOOL WRITER PINDIR: the writer, then TOOL's map commands.
transcript() {
  local tool=$1 writer=$2 p=$3
  "$writer" "$p" || echo "writer failed: $?"
  local cmds=(
    "map show pinned $p/h" "-j map show pinned $p/h"
    "map dump pinned $p/h" "-j map dump pinned $p/h"
    "map dump pinned $p/pc" "-j map dump pinned $p/pc"
    "map dump pinned $p/big" "-j map dump pinned $p/big"
    "map lookup pinned $p/h key 1 0 0 0" "map lookup pinned $p/h key 9 0 0 0"
    "-j map lookup pinned $p/h key 1 0 0 0"
    "map update pinned $p/h key 3 0 0 0 value 1 2 3 4 5 6 7 8"
    "map update pinned $p/h key 3 0 0 0 value 1 2 3 4 5 6 7 8 noexist"
    "map lookup pinned $p/h key hex 03 00 00 00"
    "map delete pinned $p/h key 3 0 0 0" "map delete pinned $p/h key 3 0 0 0"
    "map show pinned $p/nope"
    # Strict parsing: bpftool's messages and exit codes for bad input.
    "map show id abc" "-j map show id 1x" "map show id 0x" "map show id"
    "map show id 1 extra" "map show foo bar" "map dump id abc"
    "map lookup pinned $p/h key 1x 0 0 0" "map lookup pinned $p/h key 08 0 0 0"
    "map lookup pinned $p/h key hex 1g 0 0 0" "map lookup pinned $p/h key 1 0 0"
    "map lookup pinned $p/h key 1 0 0 0 junk" "-j map lookup pinned $p/h key 1 0 0 0 junk"
    "map lookup pinned $p/h" "map delete pinned $p/h key 1 0 0 0 junk"
    "map update pinned $p/h key 1 0 0 0 value 1 0 0 0 0 0 0 0 foo"
    "map update pinned $p/h key 1 0 0 0 value 1 0 0 0 0 0 0 0 any any"
    "map update pinned $p/h key 1 0 0 0"
    "map pin pinned $p/h"
    # LPM_TRIE: no special code; keys are prefixlen then address bytes.
    "map show pinned $p/lpm" "-j map show pinned $p/lpm"
    "map dump pinned $p/lpm" "-j map dump pinned $p/lpm"
    "map lookup pinned $p/lpm key 32 0 0 0 192 168 1 7"
    "map lookup pinned $p/lpm key 32 0 0 0 11 0 0 1"
    "map update pinned $p/lpm key 33 0 0 0 10 0 0 0 value 1 0 0 0 0 0 0 0"
    "map update pinned $p/lpm key 8 0 0 0 10 0 0 0 value 1 0 0 0 0 0 0 0 noexist"
    "map update pinned $p/lpm key 8 0 0 0 10 0 0 0 value 9 0 0 0 0 0 0 0 exist"
    "map delete pinned $p/lpm key 16 0 0 0 192 168 0 0"
    "map delete pinned $p/lpm key 16 0 0 0 192 168 0 0"
    "map dump pinned $p/lpm"
    # Keyless maps: bpftool's peek/push/pop/enqueue/dequeue; a walk they
    # refuse ends the dump with its errno after the count.
    "map show pinned $p/q" "-j map show pinned $p/q"
    "map dump pinned $p/q" "-j map dump pinned $p/q"
    "map peek pinned $p/q" "-j map peek pinned $p/q" "map lookup pinned $p/q"
    "map peek pinned $p/q key 1" "map pop pinned $p/q" "-j map dequeue pinned $p/q"
    "map dequeue pinned $p/q" "-j map pop pinned $p/q" "map pop pinned $p/q x"
    "map enqueue pinned $p/q value 9 0 0 0" "map push pinned $p/q value 9 0 0"
    "map push pinned $p/q" "map push pinned $p/q value 1 0 0 0 value 1 0 0 0"
    "map push pinned $p/q value 7 0 0 0 exist" "map push pinned $p/q value 7 0 0 0 noexist"
    "map delete pinned $p/q" "map getnext pinned $p/q" "map dump pinned $p/q"
    "map show pinned $p/st" "map pop pinned $p/st" "map peek pinned $p/st"
    "-j map peek pinned $p/st" "map push pinned $p/st value 1 2 3 4 5 6 7 8"
    "map push pinned $p/st value hex 0a 0b 0c 0d 0e 0f 10 11" "map pop pinned $p/st"
    "-j map pop pinned $p/st"
    "map show pinned $p/bloom" "-j map show pinned $p/bloom" "map dump pinned $p/bloom"
    "-j map dump pinned $p/bloom" "map push pinned $p/bloom value 6 0 0 0"
    "map push pinned $p/bloom value 6 0 0 0 exist"
    # Filled by programs and perf events only: empty, and how each command
    # answers.
    "map show pinned $p/stacks" "-j map show pinned $p/stacks"
    "map dump pinned $p/stacks" "map lookup pinned $p/stacks key 0 0 0 0"
    "map delete pinned $p/stacks key 0 0 0 0" "map delete pinned $p/stacks key 9 0 0 0"
    "map getnext pinned $p/stacks"
    "map update pinned $p/stacks key 0 0 0 0 value 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
    "map show pinned $p/events" "-j map show pinned $p/events"
    "map dump pinned $p/events" "-j map dump pinned $p/events"
    "map lookup pinned $p/events key 0 0 0 0"
    "map update pinned $p/events key 0 0 0 0 value 1 0 0 0"
    "map delete pinned $p/events key 1 0 0 0" "map delete pinned $p/events key 2 0 0 0"
    "map getnext pinned $p/events" "map getnext pinned $p/events key 1 0 0 0"
    "-j map getnext pinned $p/events key 0 0 0 0"
    "map show pinned $p/cmds" "-j map show pinned $p/cmds" "map dump pinned $p/cmds"
    "map peek pinned $p/cmds" "map pop pinned $p/cmds"
    # getnext and freeze on the hash: every later write is EPERM.
    "map getnext pinned $p/h" "map getnext pinned $p/h key 9 0 0 0"
    "map getnext pinned $p/h key 1 0 0" "map freeze" "map freeze pinned"
    "map freeze pinned $p/h x" "map freeze pinned $p/h" "-j map freeze pinned $p/h"
    "map update pinned $p/h key 1 0 0 0 value 1 0 0 0 0 0 0 0"
    "map delete pinned $p/h key 1 0 0 0" "map show pinned $p/h" "-j map show pinned $p/h"
    "map update pinned $p/pc key 0 0 0 0 value 1 2 3 4" "map dump pinned $p/pc"
    "map update pinned $p/lpm value 5 0 0 0 0 0 0 0 key 24 0 0 0 10 1 2 0"
    "map lookup pinned $p/lpm key 24 0 0 0 10 1 2 0 key 1"
    # Maps with BTF: btf_id, and elements through bpftool's btf_dumper.
    "map show pinned $p/rec" "-j map show pinned $p/rec" "-p map show pinned $p/rec"
    "map dump pinned $p/rec" "-j map dump pinned $p/rec" "-p map dump pinned $p/rec"
    "map lookup pinned $p/rec key 1 0 0 0" "-j map lookup pinned $p/rec key 2 0 0 0"
    "map lookup pinned $p/rec key 9 0 0 0"
    "map dump pinned $p/pcpu_btf" "-j map dump pinned $p/pcpu_btf"
    "map dump pinned $p/sec" "-j map dump pinned $p/sec" "-p map lookup pinned $p/sec key 0 0 0 0"
    # -p on maps without BTF, and on an error.
    "-p map dump pinned $p/h" "-p map dump pinned $p/pc" "-p map show id abc"
    "-p map lookup pinned $p/h key 9 0 0 0"
    # The BTF of a map: its key and value types, raw, JSON and as C.
    "btf dump map pinned $p/rec" "btf dump map pinned $p/rec value"
    "btf dump map pinned $p/rec k format raw" "-j btf dump map pinned $p/rec kv"
    "-p btf dump map pinned $p/rec key" "btf dump map pinned $p/rec format c"
    "btf dump map pinned $p/rec all" "btf dump map pinned $p/sec"
    "btf dump map pinned $p/sec value format c"
    "btf dump map pinned $p/pcpu_btf kv format c" "btf dump map pinned $p/h"
    "btf dump map pinned $p/rec junk" "btf dump map pinned $p/rec key format"
    "btf dump map pinned $p/nope" "btf dump map id 1x" "btf dump id 0"
    "-j btf dump id 0" "btf dump id 1x"
    # Maps holding kernel objects (issue 25): redirect maps, cgroup array,
    # local storages. A key or value that is an fd names one of bpftool's
    # own: 1 (its stdout, a pipe) or 200 (not open).
    "map show pinned $p/dev" "-j map show pinned $p/dev" "map dump pinned $p/dev" "-j map dump pinned $p/dev"
    "map show pinned $p/devh" "-j map show pinned $p/devh" "map dump pinned $p/devh" "-j map dump pinned $p/devh"
    "map show pinned $p/cpus" "-j map show pinned $p/cpus" "map dump pinned $p/cpus" "-j map dump pinned $p/cpus"
    "map show pinned $p/xsks" "-j map show pinned $p/xsks" "map dump pinned $p/xsks" "-j map dump pinned $p/xsks"
    "map show pinned $p/cg" "-j map show pinned $p/cg" "map dump pinned $p/cg" "-j map dump pinned $p/cg"
    "map show pinned $p/sk_stg" "-j map show pinned $p/sk_stg" "map dump pinned $p/sk_stg" "-j map dump pinned $p/sk_stg"
    "map show pinned $p/task_stg" "-j map show pinned $p/task_stg" "map dump pinned $p/task_stg" "-j map dump pinned $p/task_stg"
    "map show pinned $p/cgrp_stg" "-j map show pinned $p/cgrp_stg" "map dump pinned $p/cgrp_stg" "-j map dump pinned $p/cgrp_stg"
    "map show pinned $p/cg_stg" "-j map show pinned $p/cg_stg" "map dump pinned $p/cg_stg" "-j map dump pinned $p/cg_stg"
    "map lookup pinned $p/dev key 0 0 0 0"
    "map lookup pinned $p/dev key 1 0 0 0"
    "map lookup pinned $p/dev key 9 0 0 0"
    "map update pinned $p/dev key 1 0 0 0 value 1 0 0 0"
    "map update pinned $p/dev key 2 0 0 0 value 99 0 0 0"
    "map update pinned $p/dev key 4 0 0 0 value 1 0 0 0"
    "map update pinned $p/dev key 2 0 0 0 value 1 0 0 0 noexist"
    "map update pinned $p/dev key 1 0 0 0 value 1 0 0 0 exist"
    "map getnext pinned $p/dev"
    "map getnext pinned $p/dev key 3 0 0 0"
    "map delete pinned $p/dev key 1 0 0 0"
    "map delete pinned $p/dev key 1 0 0 0"
    "map dump pinned $p/dev"
    "map lookup pinned $p/devh key 7 0 0 0"
    "map update pinned $p/devh key 8 0 0 0 value 1 0 0 0 0 0 0 0"
    "map update pinned $p/devh key 9 0 0 0 value 1 0 0 0 1 0 0 0"
    "map update pinned $p/devh key 9 0 0 0 value 77 0 0 0 0 0 0 0"
    "map update pinned $p/devh key 7 0 0 0 value 1 0 0 0 0 0 0 0 noexist"
    "-j map dump pinned $p/devh"
    "map getnext pinned $p/devh key 5 0 0 0"
    "map delete pinned $p/devh key 8 0 0 0"
    "map delete pinned $p/devh key 8 0 0 0"
    "map lookup pinned $p/cpus key 0 0 0 0"
    "map update pinned $p/cpus key 1 0 0 0 value 0 1 0 0"
    "map update pinned $p/cpus key 1 0 0 0 value 0 0 1 0"
    "map update pinned $p/cpus key 2 0 0 0 value 64 0 0 0"
    "map update pinned $p/cpus key 1 0 0 0 value 64 0 0 0 noexist"
    "map dump pinned $p/cpus"
    "map update pinned $p/cpus key 1 0 0 0 value 0 0 0 0"
    "map dump pinned $p/cpus"
    "map delete pinned $p/cpus key 0 0 0 0"
    "map delete pinned $p/cpus key 0 0 0 0"
    "map lookup pinned $p/xsks key 0 0 0 0"
    "map update pinned $p/xsks key 0 0 0 0 value 1 0 0 0"
    "map delete pinned $p/xsks key 0 0 0 0"
    "map getnext pinned $p/xsks"
    "map lookup pinned $p/cg key 0 0 0 0"
    "map update pinned $p/cg key 1 0 0 0 value 1 0 0 0"
    "map delete pinned $p/cg key 0 0 0 0"
    "map delete pinned $p/cg key 0 0 0 0"
    "map getnext pinned $p/cg key 1 0 0 0"
    "map lookup pinned $p/sk_stg key 1 0 0 0"
    "map update pinned $p/sk_stg key 1 0 0 0 value 1 0 0 0 0 0 0 0"
    "map delete pinned $p/sk_stg key 1 0 0 0"
    "map getnext pinned $p/sk_stg"
    "map lookup pinned $p/task_stg key 1 0 0 0"
    "map lookup pinned $p/task_stg key 200 0 0 0"
    "map getnext pinned $p/task_stg"
    "map lookup pinned $p/cgrp_stg key 1 0 0 0"
    "map delete pinned $p/cgrp_stg key 200 0 0 0"
    "map getnext pinned $p/cgrp_stg"
    "map lookup pinned $p/cg_stg key 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
    "map update pinned $p/cg_stg key 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 value 1 0 0 0 0 0 0 0"
    "map delete pinned $p/cg_stg key 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
    "map getnext pinned $p/cg_stg"
  )
  for c in "${cmds[@]}"; do
    echo "\$ map-tool ${c//$p/PINS}"
    # shellcheck disable=SC2086
    out=$("$tool" $c 2>&1)
    echo "${out//$p/PINS} [exit $?]"
  # Debian 12's bpftool (7.1) predates CGRP_STORAGE and calls it "type 32";
  # bpfemu names it as later bpftools do.
  done | sed -E 's/^[0-9]+: /ID: /; s/"id": ?[0-9]+/"id":ID/g;
      s/btf_id [0-9]+/btf_id ID/; s/"btf_id": ?[0-9]+/"btf_id":ID/g;
      s/^ID: type 32 /ID: cgrp_storage /; s/"type": ?32,/"type":"cgrp_storage",/'
}

unset BPFEMU_KERNEL_BUILD
emu_out=$(transcript "$dir/../../cli/bpfemu" "$dir/pin_writer_emu" \
  "/sys/fs/bpf/cli_$$")
# BPFEMU_CLI_RECORD=FILE writes the transcript there (to renew expected.txt
# after a deliberate change; review the diff).
[[ -n "${BPFEMU_CLI_RECORD:-}" ]] && echo "$emu_out" >"$BPFEMU_CLI_RECORD"
if ! diff -u "$dir/expected.txt" <(echo "$emu_out"); then
  echo "FAIL: bpfemu transcript differs from expected.txt"
  status=1
else
  echo "PASS: bpfemu transcript matches expected.txt"
fi

PATH=$PATH:/usr/sbin:/sbin  # Debian installs bpftool in /usr/sbin
if ! command -v bpftool >/dev/null || ! bpftool map list >/dev/null 2>&1; then
  echo "SKIPPED kernel run: bpftool cannot list maps (bpf() unavailable)"
else
  kdir=/sys/fs/bpf/bpfemu_cli_$$
  k_out=$(transcript bpftool "$dir/pin_writer_kernel" "$kdir")
  rm -rf "$kdir"
  if ! profile=$(testing/calibrate_profile); then
    echo "FAIL: cannot calibrate the build profile from the running kernel"
    status=1
  fi
  echo "calibrated build profile: $profile"
  cal_out=$(BPFEMU_KERNEL_BUILD=$profile transcript "$dir/../../cli/bpfemu" \
    "$dir/pin_writer_emu" "/sys/fs/bpf/cli_cal_$$")
  if ! diff -u <(echo "$cal_out") <(echo "$k_out"); then
    echo "FAIL: bpftool transcript differs from bpfemu's (calibrated profile)"
    status=1
  else
    echo "PASS: bpftool transcript matches bpfemu's (calibrated profile)"
  fi
fi
# `bpfemu kernel` names the profile in force and where it came from.
kernel_out=$(BPFEMU_KERNEL=6.12 BPFEMU_KERNEL_BUILD=htab=896 \
  "$dir/../../cli/bpfemu" kernel)
if [[ "$kernel_out" != *"version 6.12 "* ||
      "$kernel_out" != *"build profile (environment): htab=896,htab_elem=48,"* ]]; then
  echo "FAIL: bpfemu kernel printed: $kernel_out"
  status=1
else
  echo "PASS: bpfemu kernel shows the version and the environment's profile"
fi
exit $status
