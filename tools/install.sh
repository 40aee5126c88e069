#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs bpfemu for projects outside this repository (docs/install.md):
#
#   tools/install.sh --prefix=DIR [--destdir=STAGE] [--from=ARTIFACTS]
#
# Without --from it builds `bazel build -c opt //:install_files` and
# takes the built files from bazel-bin and the headers from this checkout.
# With --from=DIR it builds nothing and takes everything from DIR, a tree with
# the repository's relative paths (a test's runfiles: //examples:examples_test,
# tools/deb.sh). --destdir stages the files under STAGE while every path
# written into them names PREFIX (for packaging).
#
# Layout (PREFIX/...):
#   bin/bpfemu                     the CLI (man page share/man/man1/bpfemu.1)
#   bin/bpfemu-native-cc           builds an unmodified .bpf.c into a native object
#   lib/libbpfemu.so.1, .so        libbpf's API over the emulator, SONAME libbpfemu.so.1
#   lib/bpfemu/libbpf.so.1         the same under libbpf's name, for LD_LIBRARY_PATH
#   lib/libbpfemu-cxx.a            the C++ API (emu/syscall.h) and the native face
#   lib/bpfemu/gen_native          the generator bpfemu-native-cc runs
#   include/bpfemu/...             the C++ API's headers and the stand-in BPF headers
#   lib/pkgconfig/{bpfemu,libbpfemu}.pc, lib/cmake/bpfemu/bpfemuConfig*.cmake
#   share/bpfemu/bazel/            an external repository for Bazel workspaces
set -euo pipefail

prefix="" destdir="" from=""
for a in "$@"; do
  case "$a" in
    --prefix=*) prefix=${a#--prefix=} ;;
    --destdir=*) destdir=${a#--destdir=} ;;
    --from=*) from=${a#--from=} ;;
    -h | --help)
      sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "install.sh: unknown argument: $a (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$prefix" || "$prefix" != /* ]]; then
  echo "install.sh: --prefix=DIR (an absolute path) is required" >&2
  exit 2
fi
prefix=${prefix%/}
[[ -z "$prefix" ]] && prefix=/

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -n "$from" ]]; then
  src=$(cd "$from" && pwd)
  bin=$src
else
  src=$(cd "$here/.." && pwd)
  (cd "$src" && bazel build -c opt //:install_files)
  bin=$(cd "$src" && bazel info -c opt bazel-bin 2>/dev/null)
fi
tpl=$src/tools/install
version=$(cat "$tpl/VERSION")
soversion=1

root=$destdir$prefix
[[ "$prefix" == / ]] && root=${destdir:-/}
P=$prefix
[[ "$P" == / ]] && P=""

put() {  # put MODE FROM TO: copy (following symlinks) with MODE
  mkdir -p "$(dirname "$3")"
  rm -f "$3"
  cp -L "$2" "$3"
  chmod "$1" "$3"
}
subst() {  # subst FROM TO: a template with @PREFIX@ and @VERSION@ filled in
  mkdir -p "$(dirname "$2")"
  sed -e "s|@PREFIX@|${P:-/usr}|g" -e "s|@VERSION@|$version|g" \
    -e "s|@SOVERSION@|$soversion|g" -e "s|@ABSL_LIBS@|$absl_libs|g" \
    -e "s|@ABSL_CMAKE@|$absl_cmake|g" "$1" > "$2"
  chmod 644 "$2"
}

# The Abseil libraries the C++ API links, in link order: the same list as
# @system_libs//:absl (third_party/system_libs.BUILD).
absl_libs=$(sed -n '/name = "absl"/,/^)/p' "$src/third_party/system_libs.BUILD" |
  grep -o -- '-labsl_[a-z0-9_]*' | tr '\n' ' ' | sed 's/ $//')
# Then Nettle (@system_libs//:nettle: program tags) and zlib (Kconfig).
absl_libs="$absl_libs -lnettle -lz"
absl_cmake=$(echo "$absl_libs" | sed 's/-l\([a-z0-9_]*\)/\1/g')

# Binaries and libraries.
put 755 "$bin/cli/bpfemu" "$root/bin/bpfemu"
put 755 "$tpl/bpfemu-native-cc" "$root/bin/bpfemu-native-cc"
put 755 "$bin/loader/gen_native" "$root/lib/bpfemu/gen_native"
put 644 "$bin/libbpfemu.so.1" "$root/lib/libbpfemu.so.$soversion"
ln -sfn "libbpfemu.so.$soversion" "$root/lib/libbpfemu.so"
put 644 "$bin/compat/soname/libbpf.so.1" "$root/lib/bpfemu/libbpf.so.1"
put 644 "$bin/libbpfemu-cxx.a" "$root/lib/libbpfemu-cxx.a"

# Headers, under their repository paths: #include "emu/syscall.h" with
# -I PREFIX/include/bpfemu; the stand-in BPF headers of the native face
# (<bpf/bpf_helpers.h>, "bpfemu/native_abi.h") under native/include.
(cd "$src" && find -L emu loader native -name '*.h' -type f) | sort |
  while read -r h; do put 644 "$src/$h" "$root/include/bpfemu/$h"; done

# pkg-config, CMake, man page.
subst "$tpl/libbpfemu.pc.in" "$root/lib/pkgconfig/libbpfemu.pc"
subst "$tpl/bpfemu.pc.in" "$root/lib/pkgconfig/bpfemu.pc"
subst "$tpl/bpfemuConfig.cmake.in" "$root/lib/cmake/bpfemu/bpfemuConfig.cmake"
subst "$tpl/bpfemuConfigVersion.cmake.in" \
  "$root/lib/cmake/bpfemu/bpfemuConfigVersion.cmake"
subst "$tpl/bpfemu.1" "$root/share/man/man1/bpfemu.1"

# A Bazel external repository over the installed tree (docs/install.md):
# local_repository(name = "bpfemu", path = "PREFIX/share/bpfemu/bazel").
# lib/ and include/ are relative links, so the tree stays relocatable. Its
# third_party/ holds offline stand-ins for the three repositories Bazel 4.2.3
# fetches when it analyses a cc_test (see third_party/README.md).
bz=$root/share/bpfemu/bazel
mkdir -p "$bz"
ln -sfn ../../../lib "$bz/lib"
ln -sfn ../../../include "$bz/include"
ln -sfn ../../../bin "$bz/bin"
subst "$tpl/bazel/WORKSPACE.in" "$bz/WORKSPACE"
subst "$tpl/bazel/BUILD.bazel.in" "$bz/BUILD.bazel"
for r in rules_cc rules_java remote_coverage_tools; do
  mkdir -p "$bz/third_party/$r"
  : > "$bz/third_party/$r/WORKSPACE"
  echo "# Offline stand-in (bpfemu): see share/bpfemu/bazel/WORKSPACE." \
    > "$bz/third_party/$r/BUILD"
done
mkdir -p "$bz/third_party/rules_cc/cc" "$bz/third_party/rules_java/java"
cat > "$bz/third_party/rules_cc/cc/BUILD" <<'B'
alias(
    name = "toolchain_type",
    actual = "@bazel_tools//tools/cpp:toolchain_type",
    visibility = ["//visibility:public"],
)
B
printf '%s = native.%s\n' cc_library cc_library cc_binary cc_binary \
  cc_test cc_test cc_import cc_import cc_toolchain cc_toolchain \
  cc_toolchain_suite cc_toolchain_suite cc_proto_library cc_proto_library \
  objc_library objc_library \
  > "$bz/third_party/rules_cc/cc/defs.bzl"
: > "$bz/third_party/rules_java/java/BUILD"
printf '%s = native.%s\n' java_binary java_binary java_library java_library \
  java_import java_import java_test java_test java_runtime java_runtime \
  java_toolchain java_toolchain java_plugin java_plugin \
  java_package_configuration java_package_configuration \
  > "$bz/third_party/rules_java/java/defs.bzl"
printf '#!/bin/sh\nexit 0\n' > "$bz/third_party/remote_coverage_tools/noop.sh"
chmod 755 "$bz/third_party/remote_coverage_tools/noop.sh"
cat > "$bz/third_party/remote_coverage_tools/BUILD" <<'B'
filegroup(
    name = "coverage_report_generator",
    srcs = ["noop.sh"],
    visibility = ["//visibility:public"],
)

filegroup(
    name = "lcov_merger",
    srcs = ["noop.sh"],
    visibility = ["//visibility:public"],
)
B
echo "installed bpfemu $version into ${destdir:+$destdir (for) }$prefix"
# The run-time loader searches /usr/lib by itself; elsewhere (/usr/local/lib)
# it needs its cache refreshed, or an RPATH (examples/make-skeleton/Makefile).
case "$P/lib" in
  /usr/lib | /lib) ;;
  *) [[ -z "$destdir" ]] &&
    echo "note: programs linked with -lbpfemu find $P/lib/libbpfemu.so.1 at run time with -Wl,-rpath,$P/lib, LD_LIBRARY_PATH or (as root) ldconfig" ;;
esac
