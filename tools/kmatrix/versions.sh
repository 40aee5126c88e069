#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The kernel-version matrix for bpfemu: runs the version-sensitive LRU
# observations (lru_versions.c) and the bpfemu-unaware libbpf program
# (tests/dropin/libbpf_program.c) in Debian's 6.1 and 6.12 kernels under QEMU
# and on the host (6.18), then runs the same programs on the emulator with
# BPFEMU_KERNEL set to each version, and reports every difference:
# kernel vs host kernel (what changed between versions) and emulator vs that
# kernel (which must be none).
# Usage (as root, after tools/kmatrix/fetch-kernels.sh):
#   bash tools/kmatrix/versions.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out=.kmatrix
mkdir -p "$out/build" "$out/versions"
gcc -O2 -static tools/kmatrix/lru_versions.c -o "$out/build/lru_versions" \
  -lbpf -lelf -lz 2>/dev/null
gcc -O2 -static tests/dropin/libbpf_program.c -o "$out/build/dropin" \
  -lbpf -lelf -lz 2>/dev/null
cat > "$out/build/extra.sh" <<'SH'
#!/bin/busybox sh
echo "== lru_versions"; /lru_versions
echo "== dropin"; cd /tmp && /dropin
SH
chmod 755 "$out/build/extra.sh"
bash tools/kmatrix/build-initramfs.sh "$out/build/extra.sh" \
  "$out/build/lru_versions" "$out/build/dropin" >/dev/null
# The emulator's builds: given by the caller (kmatrix_test, which must not
# run bazel inside bazel), or built here.
emu_lru=${KMATRIX_EMU_LRU:-bazel-bin/tools/kmatrix/lru_versions_emu}
emu_dropin=${KMATRIX_EMU_DROPIN:-bazel-bin/tests/dropin/libbpf_program_emu}
if [ -z "${KMATRIX_EMU_LRU:-}" ]; then
  bazel build //tools/kmatrix:lru_versions_emu //tests/dropin:libbpf_program_emu \
    >/dev/null 2>&1 || { echo "bazel build failed"; exit 1; }
fi
emu_lru=$(readlink -f "$emu_lru")
emu_dropin=$(readlink -f "$emu_dropin")

# section FILE NAME: the lines of one program's output.
section() { sed -n "/^== $2\$/,/^== \\|^KMATRIX-END/p" "$1" |
            grep -v '^== \|^KMATRIX-END'; }

# The emulator's transcript for one version.
emulate() {
  local v=$1 dir
  dir=$(mktemp -d /dev/shm/bpfemu-kmatrix.XXXXXX)
  {
    echo "== lru_versions"; BPFEMU_KERNEL=$v "$emu_lru"
    echo "== dropin"; (cd /tmp && BPFEMU_KERNEL=$v BPFEMU_BPFFS_DIR=$dir "$emu_dropin")
  }
  rm -rf "$dir"
}

"$out/build/extra.sh" >/dev/null 2>&1 || true  # (busybox paths: not on host)
{ echo "== lru_versions"; "$out/build/lru_versions";
  echo "== dropin"; (cd /tmp && "$OLDPWD/$out/build/dropin"); } \
  > "$out/versions/host.txt" 2>&1
emulate 6.18 > "$out/versions/emu-6.18.txt" 2>&1

status=0
printf '%-24s %-28s %s\n' kernel "differs from 6.18 (lines)" "emulator at that version vs kernel"
report() {
  local name=$1 kfile=$2 efile=$3
  local vs_host vs_emu
  vs_host=$(diff <(section "$kfile" lru_versions; section "$kfile" dropin) \
                 <(section "$out/versions/host.txt" lru_versions;
                   section "$out/versions/host.txt" dropin) | grep -c '^[<>]')
  vs_emu=$(diff <(section "$kfile" lru_versions; section "$kfile" dropin) \
                <(section "$efile" lru_versions; section "$efile" dropin) |
           grep -c '^[<>]')
  printf '%-24s %-28s %s\n' "$name" "$vs_host" \
    "$([ "$vs_emu" = 0 ] && echo "0 divergences" || echo "$vs_emu lines DIFFER")"
  [ "$vs_emu" = 0 ] || status=1
}
report "6.18 (host)" "$out/versions/host.txt" "$out/versions/emu-6.18.txt"
# The guests boot side by side (each QEMU is one host thread: tcg,thread=single).
for k in "$out"/kernels/*/; do
  rel=$(basename "$k")
  bash tools/kmatrix/run.sh "$rel" > "$out/versions/$rel.txt" 2>&1 &
done
wait
for k in "$out"/kernels/*/; do
  rel=$(basename "$k")
  ver=$(echo "$rel" | cut -d. -f1,2)
  if ! grep -q "^== dropin" "$out/versions/$rel.txt"; then
    echo "$rel: the guest did not finish"; status=1; continue
  fi
  emulate "$ver" > "$out/versions/emu-$ver.txt" 2>&1
  report "$rel" "$out/versions/$rel.txt" "$out/versions/emu-$ver.txt"
  diff <(section "$out/versions/$rel.txt" lru_versions) \
       <(section "$out/versions/host.txt" lru_versions) |
    sed -n 's/^< /    '"$ver"': /p' | cut -c1-110
done
exit $status
