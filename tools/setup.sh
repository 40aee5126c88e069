#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what bpfemu builds and tests with, from Debian's packages only
# (the build itself never downloads anything), and mounts bpffs when root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  bazel-bootstrap   # Bazel 4.2.3, used offline (see third_party/)
  g++ clang         # host compiler; clang -target bpf for BPF objects
  clang-19          # BPF objects with __arena pointers (address_space(1),
                    # addr_space_cast: clang >= 18), e.g. tests/examples/
                    # arena_list.bpf.c (bpf_object(bpf_compiler = "clang-19"))
  lld               # links libbpfemu.so under its version script (compat/)
  libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev
  libbpf-dev libelf-dev zlib1g-dev
  nettle-dev        # SHA-1 of program tags (emu/prog.cc)
  bpftool           # tests/cli, tests/exec (bpftool under bpfemu exec)
  python3           # .ci/run's result counter; tests/exec's ctypes script
  clang-format      # //tools:format_test
  cmake make pkg-config  # examples/ (//examples:examples_test)
  dpkg-dev          # dpkg-shlibdeps for tools/deb.sh's Depends
  linux-source-6.12 # the kernel's map selftests, built at test time by
                    # //tests/selftests:selftests_test (which skips without it)
  golang-go golang-github-cilium-ebpf-dev  # //tests/exec:cilium_test: the Go
  golang-github-frankban-quicktest-dev     # library's own tests under
  golang-github-google-go-cmp-dev          # bpfemu exec (skips without them)
)
# The kernel-version matrix (//tools/kmatrix:kmatrix_test) boots Debian's
# 6.1 and 6.12 kernels under QEMU: CI sets it up, others opt in with
# BPFEMU_KMATRIX=1 (the test skips, with the reason, without it).
KMATRIX=0
if [ "${CI:-}" = true ] || [ "${BPFEMU_KMATRIX:-}" = 1 ]; then
  KMATRIX=1
  PACKAGES+=(qemu-system-x86 cpio)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

if [ "$KMATRIX" = 1 ] && ! ls "$(dirname "$0")"/../.kmatrix/kernels/*/vmlinuz >/dev/null 2>&1; then
  # Debian's kernel packages, downloaded and unpacked under .kmatrix/ only.
  bash "$(dirname "$0")/kmatrix/fetch-kernels.sh" >/dev/null 2>&1 ||
    { $SUDO apt-get update -q >/dev/null &&
      bash "$(dirname "$0")/kmatrix/fetch-kernels.sh" >/dev/null; } ||
    echo "setup: fetching the matrix kernels failed; kmatrix_test will skip"
fi

# bpffs for the pinning tests (root only; harmless when already mounted).
if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
  mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
