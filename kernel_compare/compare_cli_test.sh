#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `bpfemu compare` transcript: the third-party style program
# progs/tcp_conntrack.bpf.o driven by testdata/conntrack.pcap on the
# emulator at three versions, a planted difference found, shrunk to one
# input and replayed, JSON output and bad usage. Timings and temporary paths
# are masked; the transcript must equal testdata/compare_cli_expected.txt.
# When bpf() is permitted the same pcap also runs against this kernel and
# must be identical (that part is not in the transcript).
set -u
dir=kernel_compare
bpfemu=cli/bpfemu
export BPFEMU_COMPARE="$PWD/$dir/bpfemu-compare"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
obj=$dir/tcp_conntrack.bpf.o
pcap=$dir/testdata/conntrack.pcap
# One UDP packet whose destination MAC starts with 0xee (the planted
# fault's marker): 10.7.7.7:4000 -> 192.168.0.1:53.
printf '\xee\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00'\
'\x45\x00\x00\x1c\x00\x01\x00\x00\x40\x11\x00\x00\x0a\x07\x07\x07'\
'\xc0\xa8\x00\x01\x0f\xa0\x00\x35\x00\x08\x00\x00' >"$tmp/marked.bin"

run() {
  echo "\$ bpfemu $*" | sed -e "s#$tmp#TMP#g"
  "$bpfemu" "$@" 2>&1 | sed -e "s#$tmp#TMP#g" -e 's/, [0-9.]* s$/, S s/' \
    -e 's/"seconds":[0-9.]*/"seconds":S/g'
  echo "[exit ${PIPESTATUS[0]}]"
}

# The key a planted fault hides first follows the hash's walk order, which
# is seeded per map: masked.
run_masked() {
  run "$@" | sed -e 's/at key \[.*\]/at key [KEY]/' \
    -e 's/^\(  emu-6.18: *\)[0-9a-f ]*$/\1VALUE/'
}

out="$tmp/transcript.txt"
{
  run compare
  run compare $obj --input $pcap --emulator-only --cpus=2 --kernel=6.1,6.12,6.18 \
    --no-shrink --replay-out "$tmp/versions.replay"
  run compare --replay "$tmp/versions.replay.0" --cpus=2
  run compare $obj --input $pcap --emulator-only --cpus=2 --kernel=6.12,6.18 --json
  run_masked compare $obj --input $pcap "$tmp/marked.bin" --emulator-only \
    --kernel=6.18,6.18 --plant-fault=1:conns:238 --replay-out "$tmp/p.replay"
  run compare --replay "$tmp/p.replay" --json --cpus=2
  run compare $obj --input $pcap --cpus=2
  run compare $obj --input $pcap --program nope --emulator-only --cpus=2 --kernel=6.1,6.18
  run compare $obj --input "$tmp/missing.pcap"
  run compare $obj --input $pcap --kernel=5.10
  run compare $obj --input $pcap --emulator-only --cpus=2 --kernel=6.1
  run compare $obj --input $pcap --repeat 0
  run compare --replay $pcap
} >"$out"
status=0
if ! diff -u $dir/testdata/compare_cli_expected.txt "$out"; then
  echo "FAIL: transcript differs (see the diff above)"
  status=1
fi

# A kernel version other than the running one needs a QEMU guest, run by
# tools/kmatrix/program_compare.sh of a source tree (not in the runfiles:
# exit 2 with the reason; tools/kmatrix:kmatrix_test runs the guests).
other=6.1
[ "$(uname -r | cut -d. -f1-2)" = 6.1 ] && other=6.18
env -u BPFEMU_SOURCE_DIR "$bpfemu" compare $obj --input $pcap --kernel=$other \
  2>"$tmp/guest.txt"
rc=$?
if [ $rc != 2 ] || ! grep -q "a guest column needs" "$tmp/guest.txt"; then
  echo "FAIL: --kernel=$other"; cat "$tmp/guest.txt"; status=1
fi

# Progress on stderr when asked for (a terminal turns it on by default).
"$bpfemu" compare $obj --input $pcap --emulator-only --cpus=2 --kernel=6.12,6.18 \
  --progress 2>"$tmp/progress.txt" >/dev/null
if ! grep -q "400/400 inputs, [0-9]* inputs/s, ETA 0 s" "$tmp/progress.txt"; then
  echo "FAIL: no progress line"; cat "$tmp/progress.txt"; status=1
fi

# The tool found next to bpfemu's build without $BPFEMU_COMPARE.
if ! env -u BPFEMU_COMPARE "$bpfemu" compare $obj --input $pcap \
    --emulator-only --cpus=2 --kernel=6.12,6.18 | grep -q '^identical$'; then
  echo "FAIL: bpfemu compare without BPFEMU_COMPARE"; status=1
fi

# Against the running kernel, when bpf() is permitted.
k=$("$bpfemu" compare $obj --input $pcap 2>&1)
rc=$?
if echo "$k" | grep -q "kernel side unavailable"; then
  echo "kernel part skipped: $(echo "$k" | head -1)"
elif [ $rc -ne 0 ] || ! echo "$k" | grep -q '^identical$'; then
  echo "FAIL: kernel vs emulator on $pcap (exit $rc):"; echo "$k"; status=1
else
  echo "kernel part: $(echo "$k" | head -1)"
fi
exit $status
