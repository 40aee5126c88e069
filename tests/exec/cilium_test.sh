#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Go library cilium/ebpf's own tests (Debian's golang-github-cilium-ebpf-dev
# 0.9.1: the root package's map, batch, pinning, program and BTF tests, and
# the ringbuf and perf readers), built unchanged with Debian's Go and run
# under `bpfemu exec` by any user; as root with bpf() also natively on the
# kernel. Every test that passes on the kernel must pass under exec unless
# cilium_known.txt lists it with its reason (docs/exec.md).
set -u
R=$PWD
bpfemu=$R/cli/bpfemu
known=$R/tests/exec/cilium_known.txt
src=/usr/share/gocode/src/github.com/cilium/ebpf
for dep in "$src" /usr/share/gocode/src/github.com/frankban/quicktest \
    /usr/share/gocode/src/github.com/google/go-cmp; do
  if [ ! -d "$dep" ]; then
    echo "SKIPPED: $dep is absent (tools/setup.sh installs golang-github-cilium-ebpf-dev and its test dependencies)"
    exit 0
  fi
done
if ! command -v go >/dev/null; then
  echo "SKIPPED: go is not installed (tools/setup.sh installs golang-go)"
  exit 0
fi
if ! grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null; then
  echo "SKIPPED: seccomp user_notif is not available"
  exit 0
fi
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/cilium.XXXXXX")
export BPFEMU_BPFFS_DIR="$(mktemp -d /dev/shm/bpfemu-cilium.XXXXXX)"
trap 'rm -rf "$BPFEMU_BPFFS_DIR"; [ -n "${TEST_TMPDIR:-}" ] || rm -rf "$work"' EXIT
# Debian's Go packages are a GOPATH tree; nothing is fetched.
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$work/gocache \
  HOME=$work GOTMPDIR=$work CGO_ENABLED=0
pkgs=(ebpf ringbuf perf)
start=$SECONDS
for p in "${pkgs[@]}"; do
  imp=github.com/cilium/ebpf
  [ "$p" = ebpf ] || imp=$imp/$p
  if ! go test -c -o "$work/$p.test" "$imp" >"$work/$p.build" 2>&1; then
    echo "FAIL: building the $p tests:"; tail -20 "$work/$p.build"; exit 1
  fi
done
echo "built ${pkgs[*]} tests in $((SECONDS - start)) s"

# run PKG COLUMN: the test binary in its package directory (testdata is
# relative), verbose; "PKG/Name RESULT" lines in $work/COLUMN.PKG.res.
run() {
  local p=$1 col=$2 dir=$src rc
  [ "$p" = ebpf ] || dir=$src/$p
  if [ "$col" = exec ]; then
    (cd "$dir" && timeout -k 5 300 "$bpfemu" exec -- "$work/$p.test" -test.v \
      -test.timeout 240s) >"$work/$col.$p.out" 2>&1
  else
    (cd "$dir" && timeout -k 5 300 "$work/$p.test" -test.v -test.timeout 240s) \
      >"$work/$col.$p.out" 2>&1
  fi
  rc=$?
  sed -nE "s/^ *--- (PASS|FAIL|SKIP): ([^ ]+) .*/$p\/\2 \1/p" "$work/$col.$p.out" \
    >"$work/$col.$p.res"
  if [ $rc -gt 1 ] || ! tail -3 "$work/$col.$p.out" | grep -qE '^(PASS|FAIL)$'; then
    echo "FAIL: the $p tests did not finish on $col (exit $rc):"
    tail -15 "$work/$col.$p.out"
    return 1
  fi
}

status=0
kernel=0
if [ "$(id -u)" = 0 ] && (cd "$src" && "$work/ebpf.test" -test.run '^TestMap$' >/dev/null 2>&1); then
  kernel=1
else
  echo "SKIPPED kernel column: not root, or bpf() is not permitted; exec results are checked against cilium_known.txt"
fi
for p in "${pkgs[@]}"; do
  run "$p" exec || status=1
  [ $kernel = 1 ] && { run "$p" kernel || status=1; }
done
cat "$work"/exec.*.res >"$work/exec.res"
[ $kernel = 1 ] && cat "$work"/kernel.*.res >"$work/kernel.res"

declare -A listed kfails unpriv kres
while read -r first rest; do
  [[ -z "$first" || "$first" == \#* ]] && continue
  case $first in
    kernel) kfails[${rest%% *}]=1 ;;
    unprivileged) unpriv[${rest%% *}]=1 ;;
    *) listed[$first]=1 ;;
  esac
done <"$known"
if [ $kernel = 1 ]; then
  while read -r n r; do kres[$n]=$r; done <"$work/kernel.res"
fi
epass=0 etotal=0 kpass=0
while read -r n r; do
  etotal=$((etotal + 1))
  [ "$r" = PASS ] && epass=$((epass + 1))
  [ $kernel = 1 ] && [ "${kres[$n]:-}" = PASS ] && kpass=$((kpass + 1))
  if [ "$r" = FAIL ]; then
    if [ $kernel = 1 ] && [ "${kres[$n]:-}" != PASS ]; then
      echo "  $n: fails on the kernel too"
    elif [ -n "${listed[$n]:-}" ]; then
      echo "  $n: listed divergence"
    elif [ $kernel = 0 ] && [ -n "${kfails[$n]:-}" ]; then
      echo "  $n: fails on the kernel too (cilium_known.txt)"
    elif [ "$(id -u)" != 0 ] && [ -n "${unpriv[$n]:-}" ]; then
      echo "  $n: fails without root (cilium_known.txt)"
    else
      echo "FAIL: $n passes on the kernel but fails under bpfemu exec, and is not in cilium_known.txt:"
      grep -B8 -E "^ *--- FAIL: ${n#*/} " "$work/exec.${n%%/*}.out" | sed 's/^/    /' | tail -10
      status=1
    fi
  elif [ "$r" = SKIP ] && [ $kernel = 1 ] && [ "${kres[$n]:-}" = PASS ] &&
    [ -z "${listed[$n]:-}" ]; then
    # A test that skips itself under exec (an answer it takes for a
    # missing kernel feature) but passes on the kernel is a difference too.
    echo "FAIL: $n passes on the kernel but skips under bpfemu exec, and is not in cilium_known.txt:"
    grep -B3 -E "^ *--- SKIP: ${n#*/} " "$work/exec.${n%%/*}.out" | sed 's/^/    /' | tail -4
    status=1
  elif [ "$r" = PASS ] && [ -n "${listed[$n]:-}" ]; then
    echo "FAIL: $n is listed in cilium_known.txt but passes under bpfemu exec: remove it"
    status=1
  fi
done <"$work/exec.res"
if [ $kernel = 1 ]; then
  echo "cilium/ebpf 0.9.1: kernel: $kpass/$etotal pass, exec: $epass/$etotal pass ($((SECONDS - start)) s)"
else
  echo "cilium/ebpf 0.9.1: exec: $epass/$etotal pass ($((SECONDS - start)) s)"
fi
[ $status = 0 ] && echo PASS
exit $status
