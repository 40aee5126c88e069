#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One program built twice, against the system libbpf (<prefix>_real) and
# against libbpfemu (<prefix>_emu): both must print the same bytes. Most
# make no bpf() calls, so they run anywhere; one that needs the kernel
# prints a line starting "SKIPPED" from the real library without it, and
# is skipped.
set -u
prefix=$1
shift
real=$("${prefix}_real" "$@" 2>&1)
if [[ "$real" == SKIPPED* ]]; then
  echo "$real"
  exit 0
fi
emu=$("${prefix}_emu" "$@" 2>&1)
if [[ "$real" != "$emu" ]]; then
  diff <(echo "$real") <(echo "$emu") | head -40
  echo "FAIL: $(basename "$prefix"): libbpfemu's output differs from libbpf's"
  exit 1
fi
echo "PASS: $(basename "$prefix"): $(echo "$real" | wc -l) lines identical"
