// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/redirects.bpf.c (its `cmd` and `out`),
// shared by the kernel comparison (redirects_compare_test.cc) and the
// unprivileged check against the kernel's recorded answers
// (redirects_test.cc), and the record's format: one line per case,
// tab-separated: the name, the test run's error, the return value, and
// `out`'s return value and MTU.

#ifndef BPFEMU_TESTS_EXAMPLES_REDIRECTS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_REDIRECTS_CASES_H_

#include <linux/bpf.h>
#include <sys/socket.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::examples::redirects {

using Bytes = std::vector<uint8_t>;

enum Op : uint32_t {
  kPeer = 1,
  kNeigh = 2,
  kNeighNull = 3,
  kRedirect = 4,
  kClone = 5,
  kCheckMtu = 6,
};

struct Cmd {
  uint32_t op = 0;
  uint32_t ifindex = 0;
  uint64_t flags = 0;
  uint32_t plen = 0;
  uint32_t mtu_len = 0;
  int32_t len_diff = 0;
  uint32_t pad = 0;
  union {
    struct bpf_redir_neigh nh;
    uint8_t raw[32];
  };
};

struct Out {
  int64_t ret;
  uint32_t mtu_len;
  uint32_t pad;
};

// The frame every case runs on (tests/examples/packets.h Ipv4Frame).
inline constexpr size_t kFrameLen = 100;
// An ifindex no device has, on the kernel's side or bpfemu's.
inline constexpr uint32_t kNoDevice = 0x7ffffff0;
// lo's MTU plus its link-layer header: the most a packet may be.
inline constexpr int32_t kLoMax = 65536 + 14;

struct Case {
  std::string name;
  bool xdp = false;
  Cmd cmd;
  uint32_t gso_size = 0;  // in the test run's __sk_buff context
};

inline std::vector<Case> Cases() {
  std::vector<Case> c;
  auto add = [&](std::string name, uint32_t op, uint32_t ifindex,
                 uint64_t flags = 0) -> Case& {
    Case k;
    k.name = std::move(name);
    k.cmd.op = op;
    k.cmd.ifindex = ifindex;
    k.cmd.flags = flags;
    c.push_back(k);
    return c.back();
  };
  add("peer lo", kPeer, 1);
  add("peer ingress flag", kPeer, 1, BPF_F_INGRESS);
  add("peer no device", kPeer, kNoDevice);
  add("neigh null", kNeighNull, 1);
  add("neigh null flag", kNeighNull, 1, 1);
  for (uint32_t plen : {0u, 8u, 19u, 20u, 24u, 31u}) {
    Case& k = add("neigh plen " + std::to_string(plen), kNeigh, 1);
    k.cmd.plen = plen;
    k.cmd.nh.nh_family = AF_INET;
    k.cmd.nh.ipv4_nh = 0x0100007f;
  }
  Case& v6 = add("neigh v6 no device", kNeigh, kNoDevice);
  v6.cmd.plen = 20;
  v6.cmd.nh.nh_family = AF_INET6;
  v6.cmd.nh.ipv6_nh[3] = 0x01000000;
  add("neigh flag", kNeigh, 1, 4).cmd.plen = 20;
  add("redirect lo", kRedirect, 1);
  add("redirect bad flag", kRedirect, 1, 2);
  add("clone lo", kClone, 1);
  add("clone lo ingress", kClone, 1, BPF_F_INGRESS);
  add("clone bad flag", kClone, 1, 2);
  add("clone high flag", kClone, 1, uint64_t{1} << 40);
  add("clone no device", kClone, kNoDevice);
  add("clone gso", kClone, 1).gso_size = 100;
  add("clone gso no device", kClone, kNoDevice).gso_size = 100;
  // The MTU check, tc's and XDP's.
  for (bool xdp : {false, true}) {
    const std::string p = xdp ? "xdp mtu " : "mtu ";
    auto mtu = [&](const std::string& name, uint32_t ifindex, uint32_t mtu_len,
                   int32_t len_diff, uint64_t flags = 0) -> Case& {
      Case& k = add(p + name, kCheckMtu, ifindex, flags);
      k.xdp = xdp;
      k.cmd.mtu_len = mtu_len;
      k.cmd.len_diff = len_diff;
      return k;
    };
    mtu("run device", 0, 0, 0);
    mtu("lo", 1, 0, 0);
    mtu("no device", kNoDevice, 1234, 0);
    mtu("segs", 0, 0, 0, BPF_MTU_CHK_SEGS);
    mtu("segs with diff", 0, 0, 1, BPF_MTU_CHK_SEGS);
    mtu("segs with mtu_len", 0, 1000, 0, BPF_MTU_CHK_SEGS);
    mtu("bad flag", 0, 0, 0, 2);
    mtu("diff to the limit", 0, 0, kLoMax - int32_t{kFrameLen});
    mtu("diff past the limit", 0, 0, kLoMax - int32_t{kFrameLen} + 1);
    mtu("negative diff", 0, 0, -200);
    mtu("mtu_len at the limit", 0, 65536, 0);
    mtu("mtu_len past the limit", 0, 65537, 0);
    mtu("mtu_len wraps", 0, 0xfffffff5, 0);
    mtu("mtu_len and diff", 1, 60000, 5537);
    mtu("diff wraps", 0, 0, INT_MAX);
    mtu("diff min", 0, 0, INT_MIN);
    if (!xdp) {
      mtu("gso past the limit", 0, 0, 70000).gso_size = 100;
      mtu("gso segs", 0, 0, 0, BPF_MTU_CHK_SEGS).gso_size = 100;
    }
  }
  return c;
}

inline std::string Format(const std::string& name, int err, uint32_t retval,
                          const Out& out) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + std::to_string(out.ret) + "\t" + std::to_string(out.mtu_len);
}

}  // namespace bpfemu::examples::redirects

#endif  // BPFEMU_TESTS_EXAMPLES_REDIRECTS_CASES_H_
