#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package bpfemu_<version>_<arch>.deb from the installed
# tree (tools/install.sh --prefix=/usr), with dpkg-deb and no network:
#
#   tools/deb.sh [--out=DIR] [--from=ARTIFACTS] [--compress=xz|gzip]
#
# --from is passed to install.sh (build nothing, take the files from
# ARTIFACTS); --compress=gzip trades size for time (xz takes over a minute
# on a sanitizer build's 40 MB; examples_test uses gzip). Depends is computed from the binaries' NEEDED libraries with
# dpkg-shlibdeps (or, without it, `dpkg -S` on their ldd paths).
# Install it with `apt-get install ./bpfemu_*.deb`; test: //examples:examples_test.
set -euo pipefail

out=$PWD from=() compress=(-Zxz)
for a in "$@"; do
  case "$a" in
    --out=*) out=${a#--out=} ;;
    --from=*) from=("$a") ;;
    --compress=xz) compress=(-Zxz) ;;
    --compress=gzip) compress=(-Zgzip -z1) ;;
    *) echo "deb.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/bpfemu-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
bash "$here/install.sh" --prefix=/usr --destdir="$root" "${from[@]}" >/dev/null

src=$here/..
[[ ${#from[@]} -gt 0 ]] && src=${from[0]#--from=}
version=$(cat "$src/tools/install/VERSION")
arch=$(dpkg --print-architecture)

elfs=("$root/usr/bin/bpfemu" "$root/usr/lib/libbpfemu.so.1"
      "$root/usr/lib/bpfemu/libbpf.so.1" "$root/usr/lib/bpfemu/gen_native")
depends=""
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$stage/debian"
  printf 'Source: bpfemu\n\nPackage: bpfemu\nArchitecture: any\n' \
    > "$stage/debian/control"
  depends=$(cd "$stage" && dpkg-shlibdeps -O -xbpfemu "${elfs[@]}" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
fi
if [[ -z "$depends" ]]; then
  # The packages owning each NEEDED library, as ldd resolves them here.
  depends=$(for f in "${elfs[@]}"; do ldd "$f"; done |
    awk '/=> \//{print $3}' | sort -u |
    while read -r lib; do
      dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null
    done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')
fi

mkdir -p "$root/DEBIAN" "$root/usr/share/doc/bpfemu"
cat > "$root/usr/share/doc/bpfemu/copyright" <<'C'
bpfemu: Linux BPF maps and programs in userspace.
License: Apache-2.0 (see /usr/share/common-licenses/Apache-2.0).
C
cat > "$root/DEBIAN/control" <<C
Package: bpfemu
Version: $version
Architecture: $arch
Maintainer: bpfemu developers <bpfemu@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Recommends: clang, libbpf-dev, libabsl-dev, pkg-config
Suggests: bpftool, cmake, libgtest-dev
Section: devel
Priority: optional
Description: Linux BPF maps and programs in userspace, for tests
 bpfemu reimplements the kernel's BPF maps, commands and programs in
 userspace with the kernel's errno values, so BPF code is tested without
 bpf() permission. This package holds the bpfemu CLI, libbpfemu (libbpf's
 API over the emulator, also as libbpf.so.1 for LD_LIBRARY_PATH), the C++
 API with pkg-config and CMake files, and bpfemu-native-cc, which builds an
 unmodified BPF C source into a native object a test links.
C
find "$root" -type d -exec chmod 755 {} +
mkdir -p "$out"
deb=$out/bpfemu_${version}_${arch}.deb
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
