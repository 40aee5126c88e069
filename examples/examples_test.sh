#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bpfemu used from outside its repository (issue 28), from this build's
# artifacts (//:install_files, no nested build of bpfemu):
#  1. tools/install.sh --from lays the tree out in a temporary prefix; no
#     installed file names this checkout or bazel-out, every ELF's libraries
#     resolve, pkg-config and the CMake package answer from the prefix;
#  2. tools/deb.sh builds the .deb, which installs into a scratch dpkg root
#     (--root, never the machine's), runs there, and removes leaving nothing;
#  3. each project under examples/ is copied out and built from scratch
#     against the prefix, and its tests run: as bpfuser (uid 1001, no bpf()
#     permission) when this test runs as root.
# Needs no bpf() permission. A missing build tool skips that part, with the
# reason (tools/setup.sh installs them all).
set -u
R=$PWD
start=$(date +%s)
status=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; status=1; }
skip() { echo "SKIPPED: $*"; }

# Who builds the examples. As root: bpfuser, in a directory under /tmp that
# user can reach (the test's own TEST_TMPDIR sits under root's home). The
# prefix is always under /tmp, never under TEST_TMPDIR: that lies inside
# Bazel's output base, which the installed files must not name.
as_user=()
if [[ $(id -u) -ne 0 ]]; then
  work=$(mktemp -d /tmp/bpfemu-examples.XXXXXX)
  who="uid $(id -u) (unprivileged already)"
elif ! id bpfuser >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
  work=$(mktemp -d /tmp/bpfemu-examples.XXXXXX)
  who="root"
  skip "unprivileged run: no user bpfuser or no setpriv; the examples run as root"
elif ! setpriv --reuid=1001 --regid=1001 --clear-groups true 2>/dev/null; then
  work=$(mktemp -d /tmp/bpfemu-examples.XXXXXX)
  who="root"
  skip "unprivileged run: uid 1001 is not mapped here; the examples run as root"
else
  work=$(mktemp -d /tmp/bpfemu-examples.XXXXXX)
  chmod 755 "$work"
  who="bpfuser (uid 1001)"
  as_user=(setpriv --reuid=1001 --regid=1001 --clear-groups)
fi
cleanup() { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
prefix=$work/prefix

# ---- 1. the installed tree ------------------------------------------------
if ! bash tools/install.sh --prefix="$prefix" --from="$R" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  fail "tools/install.sh --from"
  exit 1
fi
chmod -R a+rX "$prefix"
pass "tools/install.sh --from laid out $(find "$prefix" -type f | wc -l) files in $(($(date +%s) - start)) s"
for f in bin/bpfemu bin/bpfemu-native-cc lib/libbpfemu.so.1 lib/libbpfemu.so \
  lib/bpfemu/libbpf.so.1 lib/libbpfemu-cxx.a include/bpfemu/emu/syscall.h \
  include/bpfemu/loader/object.h include/bpfemu/native/include/bpf/bpf_helpers.h \
  lib/pkgconfig/libbpfemu.pc lib/pkgconfig/bpfemu.pc \
  lib/cmake/bpfemu/bpfemuConfig.cmake lib/cmake/bpfemu/bpfemuConfigVersion.cmake \
  share/man/man1/bpfemu.1 share/bpfemu/bazel/BUILD.bazel; do
  [[ -e "$prefix/$f" ]] || fail "installed tree lacks $f"
done
soname() { readelf -d "$1" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p'; }
[[ $(soname "$prefix/lib/libbpfemu.so.1") == libbpfemu.so.1 ]] ||
  fail "lib/libbpfemu.so.1 SONAME is '$(soname "$prefix/lib/libbpfemu.so.1")'"
[[ $(soname "$prefix/lib/bpfemu/libbpf.so.1") == libbpf.so.1 ]] ||
  fail "lib/bpfemu/libbpf.so.1 SONAME is '$(soname "$prefix/lib/bpfemu/libbpf.so.1")'"
# Nothing installed may point back into the build: the checkout (found from
# this script's runfiles link), Bazel's output base (where bazel-out and the
# runfiles live) or a runfiles tree. (A -g build's archive records the
# compiler's options, -frandom-seed=bazel-out/..., relative and harmless.)
checkout=$(dirname "$(dirname "$(readlink -f "$R/examples/examples_test.sh")")")
outbase=${R%%/execroot/*}
[[ "$outbase" == "$R" ]] && outbase=${R%%/sandbox/*}
[[ "$outbase" == "$R" ]] && outbase="$R"
leaks=$(grep -rlaF -e "$checkout/" -e "$outbase/" -e .runfiles/ "$prefix" 2>/dev/null)
if [[ -n "$leaks" ]]; then
  fail "installed files name the build tree: $(echo $leaks)"
else
  pass "no installed file names $checkout/, $outbase/ or a runfiles tree"
fi
elfs=0
while read -r f; do
  head -c4 "$f" | grep -q ELF || continue
  elfs=$((elfs + 1))
  out=$(ldd "$f" 2>&1)
  if grep -q 'not found' <<<"$out"; then
    fail "ldd $f: $(grep 'not found' <<<"$out" | head -1)"
  fi
  if readelf -d "$f" | grep -qE 'R(UN)?PATH'; then
    fail "$f carries an RPATH/RUNPATH: $(readelf -d "$f" | grep -E 'R(UN)?PATH')"
  fi
done < <(find "$prefix/bin" "$prefix/lib" -type f ! -name '*.a')
pass "$elfs installed ELF files: every library resolves, no RPATH"
"$prefix/bin/bpfemu" kernel >"$work/kernel.out" 2>&1 &&
  grep -q '^version 6\.' "$work/kernel.out" &&
  pass "installed bpfemu runs: $(head -1 "$work/kernel.out")" ||
  fail "installed bpfemu kernel: $(cat "$work/kernel.out")"
"$prefix/bin/bpfemu" --help >"$work/help.out" 2>/dev/null &&
  grep -q '^Usage: bpfemu' "$work/help.out" ||
  fail "bpfemu --help: no usage on stdout, or a nonzero exit"
# bpfemu-native-cc on bad input: a reason and a nonzero exit, no temporary
# directory left behind.
ncc=$prefix/bin/bpfemu-native-cc
mkdir -p "$work/ncc"
printf 'int broken(void) { return }\n' > "$work/ncc/broken.bpf.c"
bad=0
TMPDIR=$work/ncc "$ncc" "$work/ncc/missing.bpf.c" 2>"$work/ncc.err"
[[ $? -eq 1 ]] && grep -q 'no such file' "$work/ncc.err" || { bad=1; fail "bpfemu-native-cc on a missing file: $(cat "$work/ncc.err")"; }
TMPDIR=$work/ncc "$ncc" --name a-b "$work/ncc/broken.bpf.c" 2>"$work/ncc.err"
[[ $? -eq 2 ]] && grep -q 'C identifier' "$work/ncc.err" || { bad=1; fail "bpfemu-native-cc --name a-b: $(cat "$work/ncc.err")"; }
TMPDIR=$work/ncc "$ncc" -o "$work/ncc/x.o" 2>/dev/null
[[ $? -eq 2 ]] || { bad=1; fail "bpfemu-native-cc without a source: not a usage error"; }
if command -v clang >/dev/null; then
  TMPDIR=$work/ncc "$ncc" -o "$work/ncc/broken.o" "$work/ncc/broken.bpf.c" 2>/dev/null &&
    { bad=1; fail "bpfemu-native-cc accepted a source that does not compile"; }
fi
if compgen -G "$work/ncc/bpfemu-native-cc.*" >/dev/null || [[ -e "$work/ncc/broken.o" ]]; then
  bad=1
  fail "bpfemu-native-cc left files behind: $(ls "$work/ncc")"
fi
[[ $bad -eq 0 ]] && pass "bpfemu-native-cc: missing file, bad --name, no source and a broken source each fail with a reason, leaving nothing"
if command -v pkg-config >/dev/null; then
  pc=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs libbpfemu)
  [[ "$pc" == *"-I$prefix/include"*"-L$prefix/lib -lbpfemu"* ]] &&
    pass "pkg-config --cflags --libs libbpfemu: $pc" ||
    fail "pkg-config libbpfemu: '$pc'"
  pc=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs bpfemu)
  [[ "$pc" == *"-I$prefix/include/bpfemu"*"-lbpfemu-cxx -labsl_"* ]] ||
    fail "pkg-config bpfemu: '$pc'"
else
  skip "pkg-config checks: no pkg-config"
fi

# ---- 2. the Debian package ------------------------------------------------
t0=$(date +%s)
if ! command -v dpkg-deb >/dev/null || ! command -v dpkg >/dev/null; then
  skip "Debian package: no dpkg-deb"
elif ! deb=$(bash tools/deb.sh --from="$R" --out="$work/deb" --compress=gzip 2>"$work/deb.err"); then
  fail "tools/deb.sh: $(tail -3 "$work/deb.err")"
else
  depends=$(dpkg-deb -f "$deb" Depends)
  [[ "$depends" == *libabsl* && "$depends" == *libstdc++6* && "$depends" == *libc6* ]] ||
    fail "$(basename "$deb") Depends lacks a runtime library: $depends"
  droot=$work/dpkgroot
  mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates" \
    "$droot/var/lib/dpkg/triggers"
  touch "$droot/var/lib/dpkg/status" "$droot/var/lib/dpkg/available"
  # --force-depends: the scratch root's database knows none of the machine's
  # packages. Nothing outside $droot is written (--root, --log=/dev/null).
  dpkgr=(dpkg --root="$droot" --log=/dev/null --force-not-root)
  if ! "${dpkgr[@]}" --force-depends -i "$deb" >"$work/dpkg.log" 2>&1; then
    fail "dpkg -i: $(tail -3 "$work/dpkg.log")"
  elif ! "$droot/usr/bin/bpfemu" kernel >/dev/null 2>&1; then
    fail "bpfemu from the installed package does not run"
  elif [[ "$("${dpkgr[@]}" -L bpfemu | grep -c 'libbpfemu.so.1$')" -ne 1 ]]; then
    fail "dpkg -L lists no /usr/lib/libbpfemu.so.1"
  elif ! "${dpkgr[@]}" -r bpfemu >>"$work/dpkg.log" 2>&1; then
    fail "dpkg -r: $(tail -3 "$work/dpkg.log")"
  else
    left=$(cd "$droot" && find . -mindepth 1 ! -path './var/lib/dpkg*' ! -path ./var/lib ! -path ./var)
    if [[ -n "$left" ]]; then
      fail "dpkg -r left: $(echo $left)"
    else
      pass "$(basename "$deb") (built in $(($(date +%s) - t0)) s, $(du -k "$deb" | cut -f1) KiB; Depends: $depends) installs, runs and removes cleanly under a scratch dpkg root"
    fi
  fi
fi

# ---- 3. the examples, built from scratch ----------------------------------
# A sanitizer build (--config=asan/tsan/ubsan) installs instrumented
# libraries that only a program linked with the same sanitizer can use.
san=$(readelf -d "$prefix/bin/bpfemu" | grep -o 'lib[atu][bs]*san[^]]*' | head -1)
if [[ -n "$san" ]]; then
  skip "examples: this is a sanitizer build ($san); the examples link uninstrumented"
  echo "examples_test: $(($(date +%s) - start)) s in all"
  exit $status
fi
ex=$work/ex
mkdir -p "$ex/home" "$ex/bpffs"
cp -rL "$R/examples/make-skeleton" "$R/examples/cmake-native" "$ex/"
# examples/bazel-workspace is hidden from this workspace (.bazelignore): read
# it from the checkout.
cp -r "$checkout/examples/bazel-workspace" "$ex/" 2>/dev/null
chmod -R u+w "$ex"
[[ ${#as_user[@]} -gt 0 ]] && chown -R 1001:1001 "$ex"
run() {  # run LOG CMD...: as the example user, with a clean environment
  local log=$1
  shift
  "${as_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
    HOME="$ex/home" TMPDIR="$ex/home" BPFEMU_BPFFS_DIR="$ex/bpffs" \
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" "$@" >"$log" 2>&1
}
tools_for() {  # the missing ones of the named commands
  local m=()
  for t in "$@"; do command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || m+=("$t"); done
  echo "${m[*]}"
}

t0=$(date +%s)
missing=$(tools_for make clang bpftool pkg-config cc)
[[ -e /usr/include/bpf/libbpf.h ]] || missing="$missing libbpf-dev"
if [[ -n "$missing" ]]; then
  skip "make-skeleton: missing $missing"
elif run "$ex/make.log" make -C "$ex/make-skeleton" test; then
  pass "make-skeleton as $who in $(($(date +%s) - t0)) s: $(grep -c PASS "$ex/make.log") runs passed (-lbpfemu, and -lbpf with LD_LIBRARY_PATH=lib/bpfemu)"
else
  fail "make-skeleton as $who:"; tail -20 "$ex/make.log"
fi

t0=$(date +%s)
missing=$(tools_for cmake clang c++ make)
if [[ -n "$missing" ]]; then
  skip "cmake-native: missing $missing"
elif [[ ! -e /usr/lib/x86_64-linux-gnu/cmake/GTest ]] && [[ -z $(find /usr/lib* -name GTestConfig.cmake 2>/dev/null | head -1) ]]; then
  skip "cmake-native: no libgtest-dev (GTestConfig.cmake)"
elif run "$ex/cmake.log" sh -c "cd '$ex/cmake-native' &&
    cmake -S . -B build -DCMAKE_PREFIX_PATH='$prefix' &&
    cmake --build build && cd build && ctest --output-on-failure"; then
  pass "cmake-native as $who in $(($(date +%s) - t0)) s: $(grep 'tests passed' "$ex/cmake.log")"
else
  fail "cmake-native as $who:"; tail -30 "$ex/cmake.log"
fi

t0=$(date +%s)
bz=$prefix/share/bpfemu/bazel
if ! command -v bazel >/dev/null; then
  skip "bazel-workspace: no bazel"
elif [[ ! -f "$ex/bazel-workspace/WORKSPACE" ]]; then
  skip "bazel-workspace: the checkout's examples/bazel-workspace is not readable here"
# A Bazel of its own: output under the work directory, one-shot (--batch, so
# no server outlives the test), and every repository local.
elif run "$ex/bazel.log" sh -c "cd '$ex/bazel-workspace' &&
    bazel --batch --nohome_rc --output_user_root='$ex/bazel-root' test \
      --override_repository=bpfemu='$bz' \
      --override_repository=rules_cc='$bz/third_party/rules_cc' \
      --override_repository=rules_java='$bz/third_party/rules_java' \
      --override_repository=remote_coverage_tools='$bz/third_party/remote_coverage_tools' \
      --spawn_strategy=local --noshow_progress //:hash_test"; then
  pass "bazel-workspace as $who in $(($(date +%s) - t0)) s: $(grep -o '//:hash_test *PASSED' "$ex/bazel.log")"
else
  fail "bazel-workspace as $who:"; tail -30 "$ex/bazel.log"
fi

echo "examples_test: $(($(date +%s) - start)) s in all"
exit $status
