#!/bin/bash
# Builds the static probe and .kmatrix/initramfs.cpio.gz (busybox + probe + /init).
# Usage: tools/kmatrix/build-initramfs.sh [extra [files...]]
#   extra: a static binary (or busybox script) run after the probe;
#   files: more static binaries copied to the root for the extra to run.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.kmatrix; src=tools/kmatrix
mkdir -p "$out/build"
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$src/probe.bpf.c" -o "$out/build/probe.bpf.o"
bpftool gen skeleton "$out/build/probe.bpf.o" > "$out/build/probe.skel.h"
gcc -O2 -Wall -static -I"$out/build" "$src/probe.c" -o "$out/build/probe" -lbpf -lelf -lz
root="$out/build/rootfs"
rm -rf "$root"; mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$out/busybox/bin/busybox" "$root/bin/busybox"
cp "$out/build/probe" "$root/probe"
if [ $# -ge 1 ]; then cp "$1" "$root/extra"; shift; fi
for f in "$@"; do cp "$f" "$root/"; done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmpfs /tmp
ifconfig lo 127.0.0.1 up
export GTEST_COLOR=no
echo "KMATRIX-BEGIN $(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
/probe; rc=$?
if [ -x /extra ]; then /extra; rc2=$?; else rc2=0; fi
echo "KMATRIX-END rc=$rc extra_rc=$rc2 uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"
ls -l "$out/initramfs.cpio.gz"
