// SPDX-License-Identifier: Apache-2.0
// The XDP IPsec state kfuncs (emu/xfrm_kfuncs.h) in the interpreter without
// the kernel: a reference bpf_xdp_get_xfrm_state handed out and the program
// did not release is dropped when the run ends (the verifier refuses a
// program that can exit holding one; emu/ct_kfuncs.h EndRun does the same
// for conntrack entries), and a released one is not dropped twice. The
// kfuncs against the kernel: tests/examples/xfrm_compare_test.cc.

#include "emu/xfrm_kfuncs.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kfunc_testing.h"
#include "emu/prog.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

enum : int32_t {
  kGet = 3,  // BTF ids: 1 "int", 2 the proto, then the FUNCs
  kRelease,
};

const KernelBtf* TestBtf() {
  static const KernelBtf* btf =
      kfunctest::FuncBtf(
          {"bpf_xdp_get_xfrm_state", "bpf_xdp_xfrm_state_release"})
          .release();
  return btf;
}

constexpr uint32_t kSpi = 0x1234;

// Looks up the ESP state with SPI kSpi for 10.0.0.1 `lookups` times
// (struct bpf_xfrm_state_opts at fp-40, netns -1), releases the first
// `releases` of the states found (kept in r6-r8), and returns how many
// lookups found one.
Insns Program(int lookups, int releases) {
  xfrmk::Opts o = {};
  o.netns_id = -1;
  o.daddr[0] = htonl(0x0a000001);
  o.spi = htonl(kSpi);
  o.proto = IPPROTO_ESP;
  o.family = AF_INET;
  uint32_t w[9];
  std::memcpy(w, &o, sizeof(o));
  Insns p = {a::MovReg(9, 1), a::MovImm(0, 0)};
  for (int i = 0; i < 9; ++i) {
    p.push_back(a::St(BPF_W, 10, static_cast<int16_t>(-40 + 4 * i),
                      static_cast<int32_t>(w[i])));
  }
  p.push_back(a::MovImm(5, 0));  // lookups that found a state
  for (int i = 0; i < lookups; ++i) {
    p.push_back(a::MovReg(1, 9));
    p.push_back(a::MovReg(2, 10));
    p.push_back(a::AluImm(BPF_ADD, 2, -40));
    p.push_back(a::MovImm(3, sizeof(xfrmk::Opts)));
    p.push_back(a::Stx(BPF_DW, 10, 5, -48));
    p.push_back(a::CallKfunc(kGet));
    p.push_back(a::Ldx(BPF_DW, 5, 10, -48));
    p.push_back(a::MovReg(static_cast<uint8_t>(6 + i), 0));
    p.push_back(a::JmpImm(BPF_JEQ, 0, 0, 1));
    p.push_back(a::AluImm(BPF_ADD, 5, 1));
  }
  p.push_back(a::Stx(BPF_DW, 10, 5, -48));
  for (int i = 0; i < releases; ++i) {
    p.push_back(a::MovReg(1, static_cast<uint8_t>(6 + i)));
    p.push_back(a::CallKfunc(kRelease));
  }
  p.push_back(a::Ldx(BPF_DW, 0, 10, -48));
  p.push_back(a::Exit());
  return p;
}

TEST(XfrmKfuncsTest, ReferencesTheRunKeepsAreDroppedAtItsEnd) {
  xfrmk::XfrmState s;
  s.daddr[0] = htonl(0x0a000001);
  s.spi = htonl(kSpi);
  s.proto = IPPROTO_ESP;
  s.family = AF_INET;
  xfrmk::SetXfrmStates({s});
  const uint64_t held = xfrmk::HeldXfrmStates();
  struct Case {
    int lookups, releases;
  };
  for (const Case& c : {Case{1, 1}, Case{1, 0}, Case{3, 1}, Case{2, 2}}) {
    SCOPED_TRACE(testing::Message()
                 << c.lookups << " lookups, " << c.releases << " releases");
    const uint64_t dropped = xfrmk::DroppedXfrmStates();
    bool faulted = true;
    EXPECT_EQ(kfunctest::RunProg(TestBtf(), BPF_PROG_TYPE_XDP,
                                 Program(c.lookups, c.releases), &faulted),
              c.lookups);
    EXPECT_FALSE(faulted) << interp::LastFault();
    EXPECT_EQ(xfrmk::HeldXfrmStates(), held);
    EXPECT_EQ(xfrmk::DroppedXfrmStates() - dropped,
              static_cast<uint64_t>(c.lookups - c.releases));
  }
  xfrmk::SetXfrmStates({});
}

}  // namespace
}  // namespace bpfemu
