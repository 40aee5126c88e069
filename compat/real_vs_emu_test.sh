#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One program built twice, against the system libbpf (<prefix>_real) and
# against libbpfemu (<prefix>_emu): both must print the same bytes. No
# bpf() calls, so this runs anywhere.
set -u
prefix=$1
shift
real=$("${prefix}_real" "$@" 2>&1)
emu=$("${prefix}_emu" "$@" 2>&1)
if [[ "$real" != "$emu" ]]; then
  diff <(echo "$real") <(echo "$emu") | head -40
  echo "FAIL: $(basename "$prefix"): libbpfemu's output differs from libbpf's"
  exit 1
fi
echo "PASS: $(basename "$prefix"): $(echo "$real" | wc -l) lines identical"
