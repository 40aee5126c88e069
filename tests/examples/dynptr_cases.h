// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/dynptr.bpf.c (its `cmd` and `out`, the
// packets), shared by the kernel comparison (dynptr_compare_test.cc) and
// the unprivileged check against the kernel's recorded answers
// (dynptr_test.cc), and the record's format: one line per case and packet,
// tab-separated: the name, the test run's error, the return value, the
// whole `out` value in hex and the packet after the run (data_out) in hex
// (dynptr_tc), then the error, return value and `kres` of dynptr_kfuncs.

#ifndef BPFEMU_TESTS_EXAMPLES_DYNPTR_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_DYNPTR_CASES_H_

#include <linux/if_ether.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tests/examples/packets.h"
#include "tests/examples/tunnel_cases.h"

namespace bpfemu::examples::dynptr {

using Bytes = std::vector<uint8_t>;

// dynptr.bpf.c's `cmd` and `out`.
struct Cmd {
  uint64_t flags = 0;
  uint64_t rb_flags = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  uint32_t rb_size = 0;
  uint32_t commit = 0;
};

struct Out {
  int64_t ret[13];
  uint8_t buf[32];
  uint8_t got[16];
  uint8_t rb_got[8];
};

struct Kres {
  int64_t ret[9];
  uint8_t is[4];
  uint8_t got[4];
  uint8_t buf[32];
};

struct Case {
  std::string name;
  Cmd cmd;
};

// Good and bad arguments for each call; the ring (64 KiB) is never
// consumed, so every reservation of the run stays in it.
inline std::vector<Case> Cases() {
  auto c = [](uint64_t flags, uint32_t off, uint32_t len, uint32_t rb_size,
              uint64_t rb_flags, uint32_t commit) {
    Cmd k;
    k.flags = flags;
    k.off = off;
    k.len = len;
    k.rb_size = rb_size;
    k.rb_flags = rb_flags;
    k.commit = commit;
    return k;
  };
  return {
      {"good", c(0, 4, 8, 16, 0, 1)},
      {"discard", c(0, 4, 8, 16, 0, 0)},
      {"from_mem flags", c(1, 4, 8, 16, 0, 1)},
      {"from_mem high flags", c(1ull << 63, 0, 1, 16, 0, 1)},
      {"len 0 at the end", c(0, 32, 0, 8, 0, 1)},
      {"read across the end", c(0, 28, 8, 8, 0, 1)},
      {"offset past the end", c(0, 33, 0, 8, 0, 0)},
      {"offset wraps", c(0, 0xffffffffu, 2, 8, 0, 0)},
      {"whole buffer less one", c(0, 1, 15, 8, 0, 1)},
      {"ring size 0", c(0, 0, 0, 0, 0, 1)},
      {"ring size 4", c(0, 0, 0, 4, 0, 1)},
      {"ring size 9 discarded", c(0, 0, 0, 9, 0, 0)},
      {"ring flags", c(0, 0, 0, 16, 1, 1)},
      {"ring wakeup flag as flags", c(0, 0, 0, 16, BPF_RB_NO_WAKEUP, 0)},
      {"ring larger than the map", c(0, 0, 0, 1u << 17, 0, 1)},
      {"ring DYNPTR_MAX_SIZE + 1", c(0, 0, 0, 1u << 24, 0, 1)},
      {"ring u32 max", c(0, 0, 0, 0xffffffffu, 0, 0)},
      {"ring 8 KiB", c(0, 0, 0, 8192, 0, 1)},
  };
}

// The packets each case runs on: a UDP and a TCP IPv4 frame and a minimal
// ARP frame.
inline std::vector<std::pair<std::string, Bytes>> Packets() {
  return {
      {"udp64", Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64)},
      {"tcp128",
       Ipv4Frame(0xc0a80101, 0xc0a80202, 443, 51000, IPPROTO_TCP, 128)},
      {"arp42", EthFrame(ETH_P_ARP, 42, 0x00)},
  };
}

inline std::string Format(const std::string& name, int err, uint32_t retval,
                          const Out& out, const Bytes& data_out, int kerr,
                          uint32_t kretval, const Kres& kres) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + tunnel::Hex(&out, sizeof(out)) + "\t" +
         tunnel::Hex(data_out.data(), data_out.size()) + "\t" +
         std::to_string(kerr) + "\t" + std::to_string(kretval) + "\t" +
         tunnel::Hex(&kres, sizeof(kres));
}

}  // namespace bpfemu::examples::dynptr

#endif  // BPFEMU_TESTS_EXAMPLES_DYNPTR_CASES_H_
