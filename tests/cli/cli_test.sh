#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One process pins maps and exits; a second process (bpfemu) inspects them.
# The same steps run on the kernel with bpftool when bpf() is permitted; both
# transcripts must equal expected.txt (map ids masked).
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
  )
  for c in "${cmds[@]}"; do
    echo "\$ map-tool ${c//$p/PINS}"
    # shellcheck disable=SC2086
    out=$("$tool" $c 2>&1)
    echo "${out//$p/PINS} [exit $?]"
  done | sed -E 's/^[0-9]+: /ID: /; s/"id":[0-9]+/"id":ID/g'
}

emu_out=$(transcript "$dir/../../cli/bpfemu" "$dir/pin_writer_emu" \
  "/sys/fs/bpf/cli_$$")
if ! diff -u "$dir/expected.txt" <(echo "$emu_out"); then
  echo "FAIL: bpfemu transcript differs from expected.txt"
  status=1
else
  echo "PASS: bpfemu transcript matches expected.txt"
fi

if ! command -v bpftool >/dev/null || ! bpftool map list >/dev/null 2>&1; then
  echo "SKIPPED kernel run: bpftool cannot list maps (bpf() unavailable)"
else
  kdir=/sys/fs/bpf/bpfemu_cli_$$
  k_out=$(transcript bpftool "$dir/pin_writer_kernel" "$kdir")
  rm -rf "$kdir"
  if ! diff -u "$dir/expected.txt" <(echo "$k_out"); then
    echo "FAIL: bpftool transcript differs from expected.txt"
    status=1
  else
    echo "PASS: bpftool transcript matches expected.txt"
  fi
fi
exit $status
