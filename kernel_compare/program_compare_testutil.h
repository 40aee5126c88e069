// SPDX-License-Identifier: Apache-2.0
// File: program_compare_testutil.h
//
// Inputs for the bpfemu::compare tests: Ethernet / IPv4 frames, raw
// tracepoint contexts and classic pcap files.

#ifndef BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_TESTUTIL_H_
#define BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_TESTUTIL_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kernel_compare/program_compare.h"
#include "tests/examples/packets.h"

namespace bpfemu::compare::testutil {

// Ethernet and IPv4 frames: the examples' builders (tests/examples).
using ::bpfemu::examples::EthFrame;
using ::bpfemu::examples::Ipv4Frame;

inline std::string Obj(const std::string& name) {
  return "tests/examples/" + name + ".bpf.o";
}

inline std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// `n` TCP/UDP packets over `flows` flows (a fixed pseudo-random order).
inline std::vector<Input> FlowPackets(int n, int flows, uint32_t seed = 1) {
  std::vector<Input> out;
  uint32_t x = seed;
  for (int i = 0; i < n; ++i) {
    x = x * 1103515245 + 12345;
    const int f = static_cast<int>((x >> 8) % flows);
    const size_t len = 60 + (x >> 20) % 200;
    out.push_back(Input{Ipv4Frame(0x0a000000 + f, 0x0a000101, 1000 + f, 80,
                                  f % 3 ? IPPROTO_TCP : IPPROTO_UDP, len),
                        "flow " + std::to_string(f)});
  }
  return out;
}

// A classic pcap file (little-endian, microseconds) holding `packets`.
inline void WritePcap(const std::string& path,
                      const std::vector<Input>& packets,
                      bool big_endian = false) {
  auto u32 = [&](std::string* s, uint32_t v) {
    if (big_endian) v = __builtin_bswap32(v);
    s->append(reinterpret_cast<const char*>(&v), 4);
  };
  auto u16 = [&](std::string* s, uint16_t v) {
    if (big_endian) v = __builtin_bswap16(v);
    s->append(reinterpret_cast<const char*>(&v), 2);
  };
  std::string f;
  u32(&f, 0xa1b2c3d4);
  u16(&f, 2);
  u16(&f, 4);
  u32(&f, 0);
  u32(&f, 0);
  u32(&f, 65535);
  u32(&f, 1);  // LINKTYPE_ETHERNET
  for (size_t i = 0; i < packets.size(); ++i) {
    u32(&f, static_cast<uint32_t>(i));
    u32(&f, 0);
    u32(&f, static_cast<uint32_t>(packets[i].data.size()));
    u32(&f, static_cast<uint32_t>(packets[i].data.size()));
    f.append(packets[i].data.begin(), packets[i].data.end());
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << f;
}

inline Input Ctx(uint64_t a0, uint64_t a1) {
  Input in;
  in.data.resize(16);
  std::memcpy(in.data.data(), &a0, 8);
  std::memcpy(in.data.data() + 8, &a1, 8);
  return in;
}

inline Options Emulators(const std::string& object, KernelVersion a,
                         KernelVersion b) {
  Options o;
  o.object = Obj(object);
  o.sides = {Side::Emulator(a), Side::Emulator(b)};
  return o;
}

}  // namespace bpfemu::compare::testutil

#endif  // BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_TESTUTIL_H_
