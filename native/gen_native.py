#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Emits the native build wrapper of one BPF source.

Reads the same source's `clang -target bpf` object (ELF symbol table and
.BTF) to learn which globals are maps (symbols in ".maps"), which functions
are programs (global functions in executable sections other than .text, with
their SEC() names) and which fields each map definition has. Writes a C file
that includes the source with every global renamed into a per-object
namespace (so several objects link into one binary) and registers tables
whose attributes come from sizeof over libbpf's type encodings.

Usage: gen_native.py --object X.bpf.o --source path/X.bpf.c --name X
"""

import argparse
import struct
import sys

SHT_SYMTAB = 2
SHF_EXECINSTR = 0x4
STB_GLOBAL, STB_WEAK = 1, 2
STT_OBJECT, STT_FUNC = 1, 2
SHN_UNDEF, SHN_LORESERVE = 0, 0xFF00

# BTF kinds and the size of the data that follows each type record.
BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION = 2, 4, 5
BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT = (
    8, 9, 10, 11)
BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_TYPE_TAG = 14, 15, 18
MODIFIERS = (BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST,
             BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG)


def trailing_bytes(kind, vlen):
    fixed = {1: 4, 3: 12, 14: 4, 17: 4}
    per_member = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}
    return fixed.get(kind, 0) + per_member.get(kind, 0) * vlen


def cstr(blob, off):
    return blob[off:blob.index(b"\0", off)].decode()


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit("gen_native: not a little-endian ELF64 object")
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        self.sections = []
        for i in range(shnum):
            (name, typ, flags, _addr, off, size, link, _info, _align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", data,
                                           shoff + i * shentsize)
            self.sections.append(dict(name_off=name, type=typ, flags=flags,
                                      off=off, size=size, link=link,
                                      entsize=entsize))
        strtab = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = cstr(data, strtab["off"] + s["name_off"])

    def section(self, name):
        for s in self.sections:
            if s["name"] == name:
                return self.data[s["off"]:s["off"] + s["size"]]
        return None

    def symbols(self):
        for s in self.sections:
            if s["type"] != SHT_SYMTAB:
                continue
            strs = self.sections[s["link"]]
            for off in range(s["off"], s["off"] + s["size"], 24):
                name, info, _other, shndx, _value, _size = struct.unpack_from(
                    "<IBBHQQ", self.data, off)
                yield dict(name=cstr(self.data, strs["off"] + name),
                           bind=info >> 4, type=info & 0xF, shndx=shndx)


class Btf:
    def __init__(self, blob):
        magic, _ver, _flags, hdr_len, type_off, type_len, str_off, _sl = (
            struct.unpack_from("<HBBIIIII", blob, 0))
        if magic != 0xEB9F:
            sys.exit("gen_native: bad .BTF magic")
        self.strs = blob[hdr_len + str_off:]
        self.types = [None]  # ids start at 1
        pos, end = hdr_len + type_off, hdr_len + type_off + type_len
        while pos < end:
            name_off, info, size_type = struct.unpack_from("<III", blob, pos)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            members = []
            if kind in (BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_DATASEC):
                for i in range(vlen):
                    a, b, c = struct.unpack_from("<III", blob,
                                                 pos + 12 + 12 * i)
                    members.append((a, b, c))
            elem = None
            if kind == 3:  # BTF_KIND_ARRAY: struct btf_array follows
                elem, = struct.unpack_from("<I", blob, pos + 12)
            self.types.append(dict(kind=kind, name=self.name(name_off),
                                   ref=size_type, members=members, elem=elem))
            pos += 12 + trailing_bytes(kind, vlen)

    def name(self, off):
        return cstr(self.strs, off)

    def resolve(self, tid):
        while self.types[tid]["kind"] in MODIFIERS:
            tid = self.types[tid]["ref"]
        return self.types[tid]

    def map_fields(self):
        """{map variable name: {field name: member type id}}."""
        out = {}
        for t in self.types[1:]:
            if t["kind"] != BTF_KIND_DATASEC or t["name"] != ".maps":
                continue
            for var_id, _off, _size in t["members"]:
                var = self.types[var_id]
                if var["kind"] != BTF_KIND_VAR:
                    continue
                st = self.resolve(var["ref"])
                out[var["name"]] = {self.name(m[0]): m[1]
                                    for m in st["members"]}
        return out

    def inner_map_fields(self, values_id):
        """For `__array(values, struct inner)`: the inner definition's field
        names, or None (e.g. a PROG_ARRAY's array of function pointers)."""
        arr = self.resolve(values_id)
        if arr["kind"] != 3 or arr["elem"] is None:
            return None
        ptr = self.resolve(arr["elem"])
        if ptr["kind"] != BTF_KIND_PTR:
            return None
        st = self.resolve(ptr["ref"])
        if st["kind"] != BTF_KIND_STRUCT:
            return None
        return {self.name(m[0]): m[1] for m in st["members"]}

    def spin_lock_member(self, value_ptr_id):
        """The value struct's member of type struct bpf_spin_lock, or None."""
        ptr = self.resolve(value_ptr_id)
        if ptr["kind"] != BTF_KIND_PTR:
            return None
        st = self.resolve(ptr["ref"])
        if st["kind"] != BTF_KIND_STRUCT:
            return None
        for name_off, tid, _off in st["members"]:
            m = self.resolve(tid)
            if m["kind"] == BTF_KIND_STRUCT and m["name"] == "bpf_spin_lock":
                return self.name(name_off)
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--object", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()
    with open(args.object, "rb") as f:
        elf = Elf(f.read())
    btf_blob = elf.section(".BTF")
    if btf_blob is None:
        sys.exit("gen_native: %s has no .BTF (build it with -g)" % args.object)
    btf = Btf(btf_blob)
    fields = btf.map_fields()

    secs = elf.sections
    maps, progs, globals_ = [], [], []
    for sym in elf.symbols():
        if sym["bind"] not in (STB_GLOBAL, STB_WEAK):
            continue
        if sym["shndx"] == SHN_UNDEF or sym["shndx"] >= SHN_LORESERVE:
            continue
        sec = secs[sym["shndx"]]
        globals_.append(sym["name"])
        if sym["type"] == STT_OBJECT and sec["name"] == ".maps":
            maps.append(sym["name"])
        elif (sym["type"] == STT_FUNC and sec["flags"] & SHF_EXECINSTR and
              sec["name"] != ".text"):
            progs.append((sym["name"], sec["name"]))

    prefix = "bpfemu_%s__" % args.name
    out = []
    w = out.append
    w("/* Generated by native/gen_native.py from %s: do not edit. */"
      % args.object.split("/")[-1])
    w("#include <linux/types.h>")
    w("#include <linux/bpf.h>")
    w("#include <bpf/bpf_helpers.h>")
    w("#include \"bpfemu/native_abi.h\"")
    w("")
    w("/* The source's globals, renamed into this object's namespace. */")
    for g in sorted(set(globals_)):
        w("#define %s %s%s" % (g, prefix, g))
    w("#include \"%s\"" % args.source)
    w("")
    w("#define BPFEMU_UINT(f) ((__u32)(sizeof(*(f)) / sizeof((*(f))[0])))")
    w("")

    def attr(m, f, name, size_field=None):
        if name in f:
            if name in ("key", "value"):
                return "sizeof(*%s.%s)" % (m, name)
            return "BPFEMU_UINT(%s.%s)" % (m, name)
        if size_field and size_field in f:
            return "BPFEMU_UINT(%s.%s)" % (m, size_field)
        return "0"

    w("static const struct bpfemu_map_def bpfemu_maps[] = {")
    for m in maps:
        f = fields.get(m, {})
        value_size = attr(m, f, "value", "value_size")
        if "values" in f:  # __array(values, ...): ids or fds, 4 bytes
            value_size = "4"
        lock = btf.spin_lock_member(f["value"]) if "value" in f else None
        lock_off = ("(__s32)__builtin_offsetof(typeof(*%s.value), %s)"
                    % (m, lock)) if lock else "-1"
        inner = "0, 0, 0, 0, 0"
        inner_fields = btf.inner_map_fields(f["values"]) if "values" in f else None
        if inner_fields is not None:
            t = "(*%s.values[0])" % m
            inner = ", ".join(attr(t, inner_fields, n, sz) for n, sz in (
                ("type", None), ("key", "key_size"), ("value", "value_size"),
                ("max_entries", None), ("map_flags", None)))
        w("  {\"%s\", &%s, %s, %s, %s, %s, %s, %s, %s, %s, %s}," % (
            m, m, attr(m, f, "type"), attr(m, f, "key", "key_size"),
            value_size, attr(m, f, "max_entries"), attr(m, f, "map_flags"),
            attr(m, f, "numa_node"), attr(m, f, "pinning"), lock_off, inner))
    if not maps:
        w("  {0},")
    w("};")
    w("")
    w("static const struct bpfemu_prog_def bpfemu_progs[] = {")
    for name, sec in progs:
        w("  {\"%s\", \"%s\", (int (*)(void *))%s}," % (name, sec, name))
    if not progs:
        w("  {0},")
    w("};")
    w("")
    lic = "LICENSE" if "LICENSE" in globals_ else None
    w("static const struct bpfemu_object_def bpfemu_object = {")
    w("  \"%s\", bpfemu_maps, %d, bpfemu_progs, %d, %s," % (
        args.name, len(maps), len(progs), lic if lic else "\"\""))
    w("};")
    w("")
    w("__attribute__((constructor)) static void bpfemu_register(void) {")
    w("  bpfemu_register_object(&bpfemu_object);")
    w("}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
