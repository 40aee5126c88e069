#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds bench/refactor/opbench.cc against the emu/ sources of one commit,
# for instruction counts before and after a structural change
# (docs/performance.md, "Before and after the map-ops table").
# Usage: bash bench/refactor/build_at.sh COMMIT OUTDIR
set -e
c=$1; d=$2
rm -rf "$d"; mkdir -p "$d"; git archive "$c" emu | tar -x -C "$d"
root=$PWD
cd "$d"
for f in $(ls emu/*.cc | grep -v _test.cc); do
  clang++ -std=c++20 -O2 -DNDEBUG -I. -c "$f" -o "$(basename "$f" .cc).o"
done
absl=$(sed -n '/^absl_libs=(/,/-lpthread)/p' "$root/fuzz/fuzz_test.sh" |
       tr -d '()' | sed 's/absl_libs=//' | tr '\n' ' ')
clang++ -std=c++20 -O2 -DNDEBUG -I. "$root/bench/refactor/opbench.cc" ./*.o \
  $absl -o opbench
echo "built $c in $d/opbench"
