// SPDX-License-Identifier: Apache-2.0
// The packet dynptr cases of tests/examples/dynptr.bpf.c (its `pcmd` and
// `pres`, the programs and packets), shared by the kernel comparison
// (dynptr_compare_test.cc) and the unprivileged check against the kernel's
// recorded answers (dynptr_test.cc), and the record's format: one line per
// program, case and packet, tab-separated: the name, the test run's error,
// the return value, the whole `pres` value in hex and the packet after the
// run (data_out) in hex.

#ifndef BPFEMU_TESTS_EXAMPLES_DYNPTR_PKT_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_DYNPTR_PKT_CASES_H_

#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "loader/object.h"
#include "tests/examples/packets.h"
#include "tests/examples/tunnel_cases.h"

namespace bpfemu::examples::dynptr_pkt {

using Bytes = std::vector<uint8_t>;

// dynptr.bpf.c's `pcmd` and `pres`.
struct Cmd {
  uint64_t flags = 0;
  uint64_t wflags = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  uint32_t start = 0;
  uint32_t end = 0;
};

struct Res {
  int64_t ret[16];
  uint8_t is[4];
  uint8_t where[4];
  uint8_t got[16];
  uint8_t sl[8];
  uint8_t sl2[8];
  uint8_t cl[4];
};

struct Case {
  std::string name;
  Cmd cmd;
};

// The programs the kernel loads (dynptr_rdwr it refuses: kRefused).
inline std::vector<std::string> Programs() {
  return {"dynptr_skb",       "dynptr_sock",       "dynptr_xdp",
          "dynptr_xdp_frags", "dynptr_skb_shrunk", "dynptr_xdp_shrunk"};
}
inline constexpr const char* kRefused = "dynptr_rdwr";

// Good and bad arguments for each call: flags of the constructor and of
// bpf_dynptr_write (BPF_F_RECOMPUTE_CSUM 1, BPF_F_INVALIDATE_HASH 2),
// offsets at, across and past the packet's end (the skb dynptr of a socket
// filter starts at the network header: 14 bytes shorter), across the XDP
// frame's linear part and its first fragment (3520 bytes of linear data in
// the test run), adjusted clones in and out of range.
inline std::vector<Case> Cases() {
  auto c = [](uint64_t flags, uint64_t wflags, uint32_t off, uint32_t len,
              uint32_t start, uint32_t end) {
    Cmd k;
    k.flags = flags;
    k.wflags = wflags;
    k.off = off;
    k.len = len;
    k.start = start;
    k.end = end;
    return k;
  };
  return {
      {"good", c(0, 0, 14, 8, 2, 10)},
      {"from flags", c(1, 0, 14, 8, 2, 10)},
      {"from high flags", c(1ull << 63, 0, 0, 4, 0, 4)},
      {"read 15 at 0", c(0, 0, 0, 15, 0, 4)},
      {"across the end of 64", c(0, 0, 60, 8, 60, 64)},
      {"last 8 of 64", c(0, 0, 56, 8, 56, 64)},
      {"offset wraps", c(0, 0, 0xfffffffcu, 8, 0, 4)},
      {"len 0 at 64", c(0, 0, 64, 0, 64, 64)},
      {"write recompute csum", c(0, 1, 20, 4, 0, 8)},
      {"write invalidate hash", c(0, 2, 20, 4, 0, 8)},
      {"write both flags", c(0, 3, 30, 2, 0, 8)},
      {"write bad flags", c(0, 4, 20, 4, 0, 8)},
      {"adjust start past end", c(0, 0, 8, 8, 10, 2)},
      {"adjust past the size", c(0, 0, 8, 8, 0, 0x10000)},
      {"across linear and fragment", c(0, 0, 3516, 8, 3518, 3530)},
      {"in the fragment", c(0, 0, 3520, 8, 3600, 3700)},
      {"last 8 of 5000", c(0, 0, 4992, 8, 4990, 5000)},
  };
}

// An IPv4 UDP frame of `len` bytes whose bytes past the UDP header count
// up, so each offset reads something different.
inline Bytes Numbered(size_t len) {
  Bytes f = Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, len);
  for (size_t i = 42; i < f.size(); ++i) {
    f[i] = static_cast<uint8_t>(i * 13 + 1);
  }
  return f;
}

// The packets each case runs on: 64 and 128 bytes, a minimal ARP frame,
// and 5000 bytes (past the skb test run's limit; an XDP frame with a
// fragment, which only the xdp.frags program may take).
inline std::vector<std::pair<std::string, Bytes>> Packets() {
  return {
      {"udp64", Numbered(64)},
      {"udp128", Numbered(128)},
      {"arp42", EthFrame(ETH_P_ARP, 42, 0x00)},
      {"udp5000", Numbered(5000)},
  };
}

inline std::string Format(const std::string& name, int err, uint32_t retval,
                          const Res& res, const Bytes& data_out) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + tunnel::Hex(&res, sizeof(res)) + "\t" +
         tunnel::Hex(data_out.data(), data_out.size());
}

// Loads `obj` without the program the kernel refuses (as KernelObject
// skips it): 0 or the load's -errno.
inline int LoadAllButRefused(native::Object& obj) {
  native::Object::LoadSettings s = obj.DefaultSettings();
  const std::vector<std::string> names = obj.ProgramNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == kRefused) s.progs[i].autoload = false;
  }
  return obj.Load(s);
}

// Loads only the refused program: 0 or the load's -errno.
inline int LoadOnlyRefused(native::Object& obj) {
  native::Object::LoadSettings s = obj.DefaultSettings();
  const std::vector<std::string> names = obj.ProgramNames();
  for (size_t i = 0; i < names.size(); ++i) {
    s.progs[i].autoload = names[i] == kRefused;
  }
  return obj.Load(s);
}

}  // namespace bpfemu::examples::dynptr_pkt

#endif  // BPFEMU_TESTS_EXAMPLES_DYNPTR_PKT_CASES_H_
