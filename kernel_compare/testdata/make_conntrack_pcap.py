#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes conntrack.pcap (classic pcap, Ethernet): 400 packets of about 100
flows for kernel_compare/progs/tcp_conntrack.bpf.c - TCP handshakes, data,
FIN and RST, UDP, ICMP, 802.1Q tags, IPv4 options, truncated headers, ARP
and IPv6. Deterministic (fixed seed): `python3 make_conntrack_pcap.py >
conntrack.pcap` rebuilds the committed file byte for byte."""
import random
import struct
import sys

rng = random.Random(27)
SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08


def eth(proto, vlan=None):
    h = bytes([2, 0, 0, 0, 0, 2]) + bytes([2, 0, 0, 0, 0, 1])
    if vlan is not None:
        return h + struct.pack(">HHH", 0x8100, vlan, proto)
    return h + struct.pack(">H", proto)


def ipv4(proto, src, dst, payload, options=b""):
    ihl = 5 + len(options) // 4
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) +
                       len(payload), rng.randrange(65536), 0, 64, proto, 0,
                       bytes(src), bytes(dst)) + options + payload


def tcp(sport, dport, seq, flags, data=b""):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags,
                       1024, 0, 0) + data


def udp(sport, dport, data=b""):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


flows = []
for i in range(100):
    kind = "tcp" if i % 4 else "udp"
    flows.append((kind, [10, 1, i // 50, i % 50 + 1], [192, 168, 0, 1 + i % 3],
                  20000 + i, [80, 443, 53, 22, 8080, 25, 123, 6379, 9000,
                              5432][i % 10], None if i % 7 else 100 + i))
state = {}
packets = []
while len(packets) < 400:
    r = rng.random()
    if r < 0.03:
        packets.append(eth(0x0806) + bytes(28))  # ARP
        continue
    if r < 0.05:
        packets.append(eth(0x86DD) + bytes(40))  # IPv6
        continue
    if r < 0.07:
        packets.append(eth(0x0800) + bytes([0x45, 0, 0]))  # truncated IPv4
        continue
    if r < 0.09:
        packets.append(eth(0x0800) + ipv4(1, [10, 9, 9, 9],
                                                    [192, 168, 0, 1],
                                                    bytes(8)))
        continue
    f = rng.randrange(len(flows)) if rng.random() < 0.6 else rng.randrange(30)
    kind, src, dst, sport, dport, vlan = flows[f]
    data = bytes(rng.randrange(0, 64))
    opts = bytes([1, 1, 1, 0]) if f % 11 == 0 else b""  # NOP NOP NOP EOL
    if kind == "udp":
        l4 = udp(sport, dport, data)
        proto = 17
    else:
        n = state.get(f, 0)
        flags = [SYN, ACK, PSH | ACK, PSH | ACK, FIN | ACK][min(n, 4)]
        if rng.random() < 0.04:
            flags = RST
        state[f] = n + 1
        l4 = tcp(sport, dport, 1000 * f + n, flags, data)
        proto = 6
    pkt = eth(0x0800, vlan) + ipv4(proto, src, dst, l4, opts)
    if rng.random() < 0.02:
        pkt = pkt[:14 + 20 + len(opts) + 3]  # L4 header cut short
    packets.append(pkt)

out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
for i, p in enumerate(packets):
    out.append(struct.pack("<IIII", 1764800000 + i // 10, (i % 10) * 100000,
                           len(p), len(p)) + p)
sys.stdout.buffer.write(b"".join(out))
