#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Raw bpf(2) through ctypes, as Python BPF tools issue it: a hash map,
update / lookup / get_next_key / delete, a bad pointer, a pin and a get of
the pin. Prints "name = result" lines (result: the return value or -errno);
tests/exec runs it under `bpfemu exec` and, as root, on the kernel."""
import ctypes
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_BPF = 321
ATTR = 128


def bpf(cmd, buf):
    r = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(cmd),
                     ctypes.c_void_p(ctypes.addressof(buf)),
                     ctypes.c_long(ctypes.sizeof(buf)))
    return -ctypes.get_errno() if r < 0 else r


def addr(b):
    return ctypes.addressof(b)


def report(name, value):
    print(f"{name} = {value}", flush=True)


attr = ctypes.create_string_buffer(ATTR)
struct.pack_into("IIII", attr, 0, 1, 4, 8, 8)  # HASH, key 4, value 8, 8
struct.pack_into("16s", attr, 28, b"pyhash")
fd = bpf(0, attr)
report("create ok", fd >= 0)
if fd < 0:
    report("create", fd)
    sys.exit(1)
key = ctypes.create_string_buffer(struct.pack("I", 5), 4)
val = ctypes.create_string_buffer(struct.pack("Q", 77), 8)
out = ctypes.create_string_buffer(8)


def elem(cmd, k, v, flags=0):
    a = ctypes.create_string_buffer(ATTR)
    struct.pack_into("IIQQQ", a, 0, fd, 0, k, v, flags)
    return bpf(cmd, a)


report("update", elem(2, addr(key), addr(val)))
report("lookup", elem(1, addr(key), addr(out)))
report("value", struct.unpack("Q", out.raw)[0])
report("update bad value", elem(2, addr(key), 16))
nxt = ctypes.create_string_buffer(4)
report("next first", elem(4, 0, addr(nxt)))
report("next key", struct.unpack("I", nxt.raw)[0])
pin = os.environ.get("PIN", "/sys/fs/bpf/pyhash")
path = ctypes.create_string_buffer(pin.encode())
a = ctypes.create_string_buffer(ATTR)
struct.pack_into("QI", a, 0, addr(path), fd)
report("pin", bpf(6, a))
report("pin again", bpf(6, a))
a = ctypes.create_string_buffer(ATTR)
struct.pack_into("Q", a, 0, addr(path))
got = bpf(7, a)
report("get ok", got >= 0)
fd2 = got
a = ctypes.create_string_buffer(ATTR)
struct.pack_into("IIQQQ", a, 0, fd2, 0, addr(key), addr(out), 0)
out.raw = b"\0" * 8
report("lookup via pin", bpf(1, a))
report("value via pin", struct.unpack("Q", out.raw)[0])
report("delete", elem(3, addr(key), 0))
report("delete again", elem(3, addr(key), 0))
os.unlink(pin)
report("get after unlink", bpf(7, ctypes.create_string_buffer(
    struct.pack("Q", addr(path)), ATTR)))
