// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/tunnel.bpf.c (its ops, `cmd` and `out`, the
// steps and keys), shared by the kernel comparison
// (tunnel_compare_test.cc) and the unprivileged check against the kernel's
// recorded answers (tunnel_test.cc), and the record's format: one line per
// case, tab-separated: the name, the test run's error, the return value
// and the whole `out` value in hex.

#ifndef BPFEMU_TESTS_EXAMPLES_TUNNEL_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_TUNNEL_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace bpfemu::examples::tunnel {

using Bytes = std::vector<uint8_t>;

// tunnel.bpf.c's ops, `cmd` and `out`.
enum Op : uint32_t { kSetKey = 1, kGetKey = 2, kSetOpt = 3, kGetOpt = 4 };

struct Step {
  uint32_t op = 0;
  uint32_t size = 0;
  uint64_t flags = 0;
};

struct Cmd {
  Step steps[4];
  struct bpf_tunnel_key key;
  uint8_t opt[260];
};

struct Out {
  int64_t ret[4];
  struct bpf_tunnel_key key[4];
  uint8_t opt[4][32];
};

constexpr uint64_t kV6 = BPF_F_TUNINFO_IPV6;
constexpr uint64_t kZeroCsum = BPF_F_ZERO_CSUM_TX;
constexpr uint64_t kDf = BPF_F_DONT_FRAGMENT;
constexpr uint64_t kSeq = BPF_F_SEQ_NUMBER;
constexpr uint64_t kNoKey = 1 << 4;               // BPF_F_NO_TUNNEL_KEY (set)
constexpr uint64_t kFlags = BPF_F_TUNINFO_FLAGS;  // (get)
constexpr uint32_t kFull = sizeof(struct bpf_tunnel_key);

struct Case {
  std::string name;
  std::vector<Step> steps;
  struct bpf_tunnel_key key = {};
  uint32_t opt_fill = 0;
  // The kernel's step results, where the case pins them.
  std::vector<int64_t> want;
};

inline struct bpf_tunnel_key V4Key() {
  struct bpf_tunnel_key k = {};
  k.tunnel_id = 0x12345678;
  k.remote_ipv4 = 0x0a000001;
  k.local_ipv4 = 0xc0a80102;
  k.tunnel_tos = 0x2e;
  k.tunnel_ttl = 64;
  return k;
}

inline struct bpf_tunnel_key V6Key() {
  struct bpf_tunnel_key k = {};
  k.tunnel_id = 0xfedcba98;
  for (int i = 0; i < 4; ++i) {
    k.remote_ipv6[i] = htonl(0x20010db8 + i);
    k.local_ipv6[i] = htonl(0xfe800000 + i * 7);
  }
  k.tunnel_tos = 1;
  k.tunnel_ttl = 255;
  k.tunnel_label = 0xfff12345;  // past the 20-bit flow label
  return k;
}

inline std::vector<Case> Cases() {
  std::vector<Case> c;
  auto add = [&](std::string name, std::vector<Step> steps,
                 struct bpf_tunnel_key key = V4Key()) {
    Case k;
    k.name = std::move(name);
    k.steps = std::move(steps);
    k.key = key;
    c.push_back(std::move(k));
    return &c.back();
  };
  // Without a tunnel dst.
  add("get without set", {{kGetKey, kFull}})->want = {-EINVAL};
  add("get v6 without set", {{kGetKey, kFull, kV6}})->want = {-EINVAL};
  add("get opt without set", {{kGetOpt, 16}})->want = {-ENOENT};
  add("set opt without set", {{kSetOpt, 8}})->want = {-EINVAL};
  // Set then get, IPv4.
  add("set get", {{kSetKey, kFull}, {kGetKey, kFull}})->want = {0, 0};
  add("set get flags", {{kSetKey, kFull}, {kGetKey, kFull, kFlags}});
  add("set get v6 of v4", {{kSetKey, kFull}, {kGetKey, kFull, kV6}})->want = {
      0, -EPROTO};
  add("set get bad flag", {{kSetKey, kFull}, {kGetKey, kFull, 1 << 5}});
  add("set all flags", {{kSetKey, kFull, kZeroCsum | kDf | kSeq | kNoKey},
                        {kGetKey, kFull, kFlags}});
  add("set zero csum", {{kSetKey, kFull, kZeroCsum}, {kGetKey, kFull, kFlags}});
  add("set df", {{kSetKey, kFull, kDf}, {kGetKey, kFull, kFlags}});
  add("set seq", {{kSetKey, kFull, kSeq}, {kGetKey, kFull, kFlags}});
  add("set no key", {{kSetKey, kFull, kNoKey}, {kGetKey, kFull, kFlags}});
  add("set unknown flag", {{kSetKey, kFull, 1 << 5}, {kGetKey, kFull}});
  add("set twice", {{kSetKey, kFull, kDf},
                    {kSetKey, kFull, kSeq},
                    {kGetKey, kFull, kFlags}});
  // The older layouts, both ways.
  for (uint32_t size : {8u, 22u, 24u, 28u}) {
    add("set size " + std::to_string(size),
        {{kSetKey, size}, {kGetKey, kFull, kFlags}});
    add("get size " + std::to_string(size),
        {{kSetKey, kFull}, {kGetKey, size}, {kGetKey, size, kFlags}});
  }
  for (uint32_t size : {1u, 4u, 20u, 43u}) {
    add("set size " + std::to_string(size), {{kSetKey, size}});
    add("get size " + std::to_string(size),
        {{kSetKey, kFull}, {kGetKey, size}});
  }
  {
    struct bpf_tunnel_key k = V4Key();
    k.tunnel_label = 5;
    add("v4 with a label", {{kSetKey, kFull}, {kGetKey, kFull}}, k);
    add("v4 with a label, short", {{kSetKey, 24}, {kGetKey, kFull}}, k);
    k = V4Key();
    k.tunnel_ext = 1;
    add("tunnel_ext set", {{kSetKey, kFull}, {kGetKey, kFull}}, k);
    add("tunnel_ext set, short", {{kSetKey, 22}, {kGetKey, kFull}}, k);
  }
  // IPv6.
  add("v6 set get", {{kSetKey, kFull, kV6}, {kGetKey, kFull, kV6 | kFlags}},
      V6Key());
  add("v6 get as v4", {{kSetKey, kFull, kV6}, {kGetKey, kFull}}, V6Key())
      ->want = {0, -EPROTO};
  add("v6 get size 8", {{kSetKey, kFull, kV6}, {kGetKey, 8, kV6}}, V6Key());
  add("v6 get size 28", {{kSetKey, kFull, kV6}, {kGetKey, 28, kV6}}, V6Key());
  add("v6 set size 24", {{kSetKey, 24, kV6}, {kGetKey, kFull, kV6}}, V6Key());
  add("v6 set size 8", {{kSetKey, 8, kV6}, {kGetKey, kFull, kV6}}, V6Key());
  add("v6 then v4", {{kSetKey, kFull, kV6}, {kSetKey, kFull}, {kGetKey, kFull}},
      V6Key());
  // Options.
  auto opts = [&](std::string name, std::vector<Step> steps) {
    Case* k = add(std::move(name), std::move(steps));
    k->opt_fill = 1;
    return k;
  };
  opts("opt 8", {{kSetKey, kFull}, {kSetOpt, 8}, {kGetOpt, 16}})->want = {0, 0,
                                                                          8};
  opts("opt 8 flags",
       {{kSetKey, kFull}, {kSetOpt, 8}, {kGetKey, kFull, kFlags}});
  opts("opt get short", {{kSetKey, kFull}, {kSetOpt, 8}, {kGetOpt, 4}})
      ->want = {0, 0, -ENOMEM};
  opts("opt get exact", {{kSetKey, kFull}, {kSetOpt, 32}, {kGetOpt, 32}});
  opts("opt unaligned", {{kSetKey, kFull}, {kSetOpt, 6}, {kGetOpt, 16}});
  opts("opt 252", {{kSetKey, kFull}, {kSetOpt, 252}, {kGetOpt, 16}});
  opts("opt 256", {{kSetKey, kFull}, {kSetOpt, 256}, {kGetOpt, 16}})->want = {
      0, -ENOMEM, -ENOENT};
  opts("opt 260", {{kSetKey, kFull}, {kSetOpt, 260}});
  opts("opt 4 then 12",
       {{kSetKey, kFull}, {kSetOpt, 4}, {kSetOpt, 12}, {kGetOpt, 32}});
  opts("opt then key again",
       {{kSetKey, kFull}, {kSetOpt, 8}, {kSetKey, kFull}, {kGetOpt, 16}});
  opts("opt on v6", {{kSetKey, kFull, kV6}, {kSetOpt, 16}, {kGetOpt, 16}});
  return c;
}

inline std::string Hex(const void* p, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<const uint8_t*>(p)[i]);
    out += buf;
  }
  return out;
}

inline std::string Format(const std::string& name, int err, uint32_t retval,
                          const Out& out) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + Hex(&out, sizeof(out));
}

}  // namespace bpfemu::examples::tunnel

#endif  // BPFEMU_TESTS_EXAMPLES_TUNNEL_CASES_H_
