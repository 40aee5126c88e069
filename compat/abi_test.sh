#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# libbpfemu's exported ABI against the system libbpf.so.1 (issue 22). Fails on
#   * any name libbpfemu exports that libbpf does not (the four libc calls of
#     compat/fs_hooks.cc under GLIBC_2.2.5 excepted),
#   * any name exported under another version node than libbpf's,
#   * any libbpf name libbpfemu lacks that compat/abi_not_yet.txt does not
#     list, and any name that list has that libbpfemu does export (so the
#     list only shrinks).
# Checks both builds: //compat:libbpfemu.so and //compat/soname:libbpf.so.1.
set -u
system=${LIBBPF_SO:-/usr/lib/x86_64-linux-gnu/libbpf.so.1}
if [[ ! -e "$system" ]]; then
  echo "SKIPPED: $system is absent (apt-get install libbpf1)"; exit 0
fi
if ! command -v objdump >/dev/null; then
  echo "SKIPPED: objdump is not installed (binutils)"; exit 0
fi
tmp=${TEST_TMPDIR:-$(mktemp -d)}
not_yet=compat/abi_not_yet.txt

# "version name" for each defined dynamic symbol (version nodes' own
# absolute symbols left out).
exports() {
  objdump -T "$1" | awk '$0 !~ /\*UND\*/ && NF >= 6 && $NF !~ /^(LIBBPF_|GLIBC_)[0-9.]*$/ {
    v = $(NF-1); gsub(/[()]/, "", v); print v, $NF }' | sort -u
}

exports "$system" > "$tmp/libbpf"
awk '$1 !~ /^#/ && NF {print $1}' "$not_yet" | sort > "$tmp/not_yet"
if [[ $(sort -u "$tmp/not_yet" | wc -l) -ne $(wc -l < "$tmp/not_yet") ]]; then
  echo "FAIL: $not_yet lists a name twice"; exit 1
fi
bad_lines=$(awk '$1 !~ /^#/ && NF && $2 !~ /^#[0-9]+$/' "$not_yet")
if [[ -n "$bad_lines" ]]; then
  echo "FAIL: $not_yet lines need 'name #issue reason':"; echo "$bad_lines"; exit 1
fi
status=0
for lib in compat/libbpfemu.so compat/soname/libbpf.so.1; do
  exports "$lib" > "$tmp/emu"
  hooks=$(awk '$1 == "GLIBC_2.2.5"' "$tmp/emu" | awk '{print $2}' | sort | tr '\n' ' ')
  if [[ "$hooks" != "close mkdir rmdir unlink " ]]; then
    echo "FAIL: $lib: the fs_hooks under GLIBC_2.2.5 are '$hooks'"; status=1
  fi
  grep -v '^GLIBC_2.2.5 ' "$tmp/emu" > "$tmp/emu_api"
  # Names libbpf does not export at all.
  extra=$(comm -23 <(awk '{print $2}' "$tmp/emu_api" | sort -u) \
    <(awk '{print $2}' "$tmp/libbpf" | sort -u))
  # Names under another version than libbpf's.
  wrong=$(comm -23 "$tmp/emu_api" "$tmp/libbpf" | awk '{print $2}' |
    grep -vxF -f <(echo "$extra") | sort -u)
  missing=$(comm -13 <(awk '{print $2}' "$tmp/emu_api" | sort -u) \
    <(awk '{print $2}' "$tmp/libbpf" | sort -u))
  unlisted=$(comm -23 <(echo "$missing" | sed '/^$/d') "$tmp/not_yet")
  listed_but_there=$(comm -12 <(awk '{print $2}' "$tmp/emu_api" | sort -u) "$tmp/not_yet")
  for what in extra wrong unlisted listed_but_there; do
    if [[ -n "${!what}" ]]; then
      status=1
      case $what in
        extra) echo "FAIL: $lib exports names libbpf.so.1 does not:" ;;
        wrong) echo "FAIL: $lib exports names under another version than libbpf.so.1:" ;;
        unlisted) echo "FAIL: $lib lacks libbpf names that $not_yet does not list:" ;;
        listed_but_there) echo "FAIL: $lib exports names $not_yet still lists (remove them):" ;;
      esac
      echo "${!what}" | sed 's/^/  /'
    fi
  done
  echo "$lib: $(wc -l < "$tmp/emu_api") of $(wc -l < "$tmp/libbpf") libbpf names, $(echo "$missing" | sed '/^$/d' | wc -l) on the not-yet list"
done
[[ $status -eq 0 ]] && echo "PASS"
exit $status
