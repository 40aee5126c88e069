// SPDX-License-Identifier: Apache-2.0
// tests/examples/tunnel.bpf.c on the kernel (BPF_PROG_TEST_RUN of a tc
// program) and on bpfemu, natively and as bytecode: bpf_skb_set_tunnel_key,
// _get_tunnel_key, _set_tunnel_opt and _get_tunnel_opt in sequences within
// one run (the test run's skb starts without a tunnel dst; what set
// attaches, a later get in the same run reads), with every flag, the older
// struct bpf_tunnel_key sizes, IPv4 and IPv6 keys, labels, and option
// sizes up to IP_TUNNEL_OPTS_MAX: the same return values and the same
// bytes written by each get.

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

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

struct bpf_tunnel_key V4Key() {
  struct bpf_tunnel_key k = {};
  k.tunnel_id = 0x12345678;
  k.remote_ipv4 = 0x0a000001;
  k.local_ipv4 = 0xc0a80102;
  k.tunnel_tos = 0x2e;
  k.tunnel_ttl = 64;
  return k;
}

struct bpf_tunnel_key V6Key() {
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

std::vector<Case> Cases() {
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

class TunnelCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TunnelCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/tunnel.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("tunnel");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* prog = (*obj)->FindProgram("tunnel");
  ASSERT_NE(prog, nullptr);
  const int kprog = kernel->ProgFd("tunnel");
  const int kcmd = kernel->MapFd("cmd"), ncmd = (*obj)->MapFd("cmd");
  const int kout = kernel->MapFd("out"), nout = (*obj)->MapFd("out");
  const Bytes packet =
      Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, IPPROTO_UDP, 64);
  int compared = 0;
  for (const Case& k : Cases()) {
    SCOPED_TRACE(k.name);
    Cmd cmd = {};
    for (size_t i = 0; i < k.steps.size() && i < 4; ++i) {
      cmd.steps[i] = k.steps[i];
    }
    cmd.key = k.key;
    for (size_t i = 0; i < sizeof(cmd.opt); ++i) {
      cmd.opt[i] = static_cast<uint8_t>(k.opt_fill * (i * 7 + 3));
    }
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(kcmd, &zero, &cmd, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(ncmd, &zero, &cmd, BPF_ANY), 0);
    Out blank = {};
    ASSERT_EQ(bpf_map_update_elem(kout, &zero, &blank, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem(nout, &zero, &blank, BPF_ANY), 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_size_in = static_cast<uint32_t>(packet.size()));
    const int kerr = bpf_prog_test_run_opts(kprog, &opts);
    const native::PacketResult n = prog->RunSkb(packet);
    EXPECT_EQ(kerr, n.err);
    EXPECT_EQ(opts.retval, n.retval);
    Out ko, no;
    ASSERT_EQ(bpf_map_lookup_elem(kout, &zero, &ko), 0);
    ASSERT_EQ(MapLookupElem(nout, &zero, &no), 0);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ko.ret[i], no.ret[i]) << "step " << i;
      if (static_cast<size_t>(i) < k.want.size()) {
        EXPECT_EQ(ko.ret[i], k.want[i]) << "the kernel's step " << i;
      }
      const auto* kb = reinterpret_cast<const uint8_t*>(&ko.key[i]);
      const auto* nb = reinterpret_cast<const uint8_t*>(&no.key[i]);
      EXPECT_EQ(Bytes(kb, kb + kFull), Bytes(nb, nb + kFull)) << "key " << i;
      EXPECT_EQ(Bytes(ko.opt[i], ko.opt[i] + 32),
                Bytes(no.opt[i], no.opt[i] + 32))
          << "opt " << i;
    }
    ++compared;
  }
  std::printf("tunnel: %d cases compared with the kernel\n", compared);
  EXPECT_GE(compared, 50);
}

INSTANTIATE_TEST_SUITE_P(Faces, TunnelCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
