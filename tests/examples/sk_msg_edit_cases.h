// SPDX-License-Identifier: Apache-2.0
// File: sk_msg_edit_cases.h
//
// The scenarios of tests/examples/sk_msg_edit.bpf.c: a configuration (the
// program's edits, apply / cork bytes, verdict) and the sends a socket
// makes, and what came of them (send's return values, the bytes the peer
// received, the program's runs and records). RunOnEmu plays a scenario on
// bpfemu through native::SkMsgSocket (the model of net/ipv4/tcp_bpf.c's
// send path); sk_msg_edit_compare_test plays it on the kernel too, with the
// program attached to a SOCKMAP holding one end of a loopback TCP pair.

#ifndef BPFEMU_TESTS_EXAMPLES_SK_MSG_EDIT_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SK_MSG_EDIT_CASES_H_

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/sk_msg.h"

namespace bpfemu::examples {

enum SkMsgOpKind : uint32_t { kNone, kPull, kPush, kPop, kPushMany };

struct SkMsgOp {  // struct op of sk_msg_edit.bpf.c
  uint32_t kind = kNone, a = 0, b = 0, flags = 0;
};
struct SkMsgCfg {  // struct cfg
  SkMsgOp ops[3];
  uint32_t apply = 0, cork = 0, verdict = SK_PASS;
  uint32_t redirect = 0;  // not 0: to slot 1 with flags redirect - 1
};
struct SkMsgRec {  // struct rec
  uint32_t size_in, len_in;
  int64_t ret[3];
  uint32_t size_out, len_out;
  uint8_t head[8];
  int64_t redirect_ret;
  bool operator==(const SkMsgRec& o) const {
    return std::memcmp(this, &o, sizeof(o)) == 0;
  }
};
static_assert(sizeof(SkMsgRec) == 56);
inline constexpr uint32_t kSkMsgMaxRuns = 16;  // MAX_RUNS

struct SkMsgScenario {
  std::string name;
  SkMsgCfg cfg;
  std::vector<uint32_t> sends;  // the size of each send(2)
};

struct SkMsgOutcome {
  std::vector<long> send_ret;  // bytes taken, or -errno
  std::vector<uint8_t> delivered;
  // Redirected to slot 1's socket (the peer): what it then sends out
  // (egress) or receives (BPF_F_INGRESS).
  std::vector<uint8_t> redirected_egress, redirected_ingress;
  uint32_t runs = 0;
  std::vector<SkMsgRec> recs;  // the first min(runs, 16)
};

// The bytes of send number `k` (of `n` bytes).
inline std::vector<uint8_t> SkMsgPayload(size_t k, uint32_t n) {
  std::vector<uint8_t> out(n);
  for (uint32_t j = 0; j < n; ++j) out[j] = static_cast<uint8_t>(k * 64 + j);
  return out;
}

inline SkMsgOp Pull(uint32_t s, uint32_t e, uint32_t f = 0) {
  return {kPull, s, e, f};
}
inline SkMsgOp Push(uint32_t s, uint32_t n, uint32_t f = 0) {
  return {kPush, s, n, f};
}
inline SkMsgOp Pop(uint32_t s, uint32_t n, uint32_t f = 0) {
  return {kPop, s, n, f};
}

inline std::vector<SkMsgScenario> SkMsgScenarios() {
  auto edits = [](std::string name, SkMsgOp a, SkMsgOp b = {}, SkMsgOp c = {}) {
    SkMsgScenario s;
    s.name = std::move(name);
    s.cfg.ops[0] = a;
    s.cfg.ops[1] = b;
    s.cfg.ops[2] = c;
    s.sends = {40};
    return s;
  };
  std::vector<SkMsgScenario> out = {
      edits("pull", Pull(0, 8), Pull(10, 30), Pull(39, 40)),
      edits("pull_bad", Pull(8, 8), Pull(0, 41), Pull(40, 41)),
      edits("flags", Pull(0, 8, 1), Push(0, 4, 2), Pop(0, 4, 4)),
      edits("push_pull", Push(0, 4), Push(10, 3), Pull(0, 47)),
      edits("push_end", Push(40, 4), Push(45, 2), Push(0, 0)),
      edits("pop", Pop(0, 4), Pop(10, 4), Pop(26, 6)),
      edits("pop_bounds", Pop(30, 10), Pop(30, 1), Pop(0, 0)),
      edits("pop_bounds2", Pop(0, 41), Pop(40, 1), Pop(39, 1)),
      edits("push_pop_across", Push(10, 4), Pop(8, 8), Pull(0, 20)),
      edits("pop_whole_slot", Push(20, 8), Pop(0, 20), Pull(0, 8)),
      edits("pop_push", Pop(5, 30), Push(5, 2), Pull(0, 12)),
      edits("pull_across", Push(12, 2), Pull(10, 20), Pop(0, 3)),
      edits("push_many", {kPushMany, 1, 20, 0}, Pop(2, 30), Pull(0, 50)),
      edits("push_many_pop", {kPushMany, 0, 18, 0}, Pop(3, 2), Push(7, 3)),
  };
  SkMsgScenario s;
  s.name = "apply_small";
  s.cfg.apply = 10;
  s.sends = {40};
  out.push_back(s);
  s.name = "apply_across_sends";
  s.cfg.apply = 100;
  s.sends = {40, 40, 40};
  out.push_back(s);
  s.name = "apply_drop";
  s.cfg.apply = 10;
  s.cfg.verdict = SK_DROP;
  s.sends = {40, 40};
  out.push_back(s);
  s = {};
  s.name = "drop";
  s.cfg.verdict = SK_DROP;
  s.sends = {40, 20};
  out.push_back(s);
  s = {};
  s.name = "cork";
  s.cfg.cork = 50;
  s.sends = {40, 40};
  out.push_back(s);
  s.name = "cork_long";
  s.cfg.cork = 100;
  s.sends = {30, 30, 30, 30, 20};
  out.push_back(s);
  s.name = "cork_drop";
  s.cfg.cork = 50;
  s.cfg.verdict = SK_DROP;
  s.sends = {40, 40};
  out.push_back(s);
  s = {};
  s.name = "push_header_apply";
  s.cfg.ops[0] = Push(0, 4);
  s.cfg.apply = 20;
  s.sends = {40};
  out.push_back(s);
  s = {};
  s.name = "pop_each_send";
  s.cfg.ops[0] = Pop(0, 10);
  s.sends = {40, 40};
  out.push_back(s);
  s = {};
  s.name = "cork_then_edit";
  s.cfg.ops[0] = Push(30, 6);
  s.cfg.ops[1] = Pop(50, 10);
  s.cfg.cork = 60;
  s.sends = {40, 40};
  out.push_back(s);
  s = {};
  s.name = "redirect_ingress";
  s.cfg.redirect = 1 + BPF_F_INGRESS;
  s.sends = {40, 20};
  out.push_back(s);
  s.name = "redirect_egress";
  s.cfg.redirect = 1;
  out.push_back(s);
  s.name = "redirect_bad_flags";
  s.cfg.redirect = 1 + 4;
  out.push_back(s);
  s.name = "redirect_apply";
  s.cfg.redirect = 1 + BPF_F_INGRESS;
  s.cfg.apply = 15;
  s.sends = {40};
  out.push_back(s);
  s.name = "redirect_cork";
  s.cfg.apply = 0;
  s.cfg.cork = 50;
  s.sends = {40, 40, 10};
  out.push_back(s);
  s = {};
  s.name = "redirect_push";
  s.cfg.ops[0] = Push(0, 4);
  s.cfg.redirect = 1 + BPF_F_INGRESS;
  s.sends = {40};
  out.push_back(s);
  return out;
}

// One scenario on bpfemu: `prog` is sk_msg_edit's `edit` of `obj`;
// `peer`, an established TCP socket, is put in sock_map's slot 1 for the
// redirects.
inline SkMsgOutcome RunOnEmu(const native::Object& obj,
                             const native::Program& prog,
                             const SkMsgScenario& s, int peer) {
  SkMsgOutcome out;
  const uint32_t zero = 0, one = 1;
  const uint64_t peer_fd = static_cast<uint64_t>(peer);
  EXPECT_EQ(MapUpdateElem(obj.MapFd("sock_map"), &one, &peer_fd, BPF_ANY), 0);
  EXPECT_EQ(MapUpdateElem(obj.MapFd("cfg"), &zero, &s.cfg, BPF_ANY), 0);
  EXPECT_EQ(MapUpdateElem(obj.MapFd("runs"), &zero, &zero, BPF_ANY), 0);
  const SkMsgRec blank = {};
  for (uint32_t i = 0; i < kSkMsgMaxRuns; ++i) {
    EXPECT_EQ(MapUpdateElem(obj.MapFd("recs"), &i, &blank, BPF_ANY), 0);
  }
  native::SkMsgSocket sock(
      [&prog](struct sk_msg_md* md) { return prog.Run(md); });
  for (size_t k = 0; k < s.sends.size(); ++k) {
    out.send_ret.push_back(sock.Send(SkMsgPayload(k, s.sends[k])));
  }
  out.delivered = sock.delivered();
  for (const native::SkMsgSocket::Redirected& r : sock.redirected()) {
    auto& to = (r.flags & BPF_F_INGRESS) ? out.redirected_ingress
                                         : out.redirected_egress;
    to.insert(to.end(), r.bytes.begin(), r.bytes.end());
  }
  EXPECT_EQ(MapDeleteElem(obj.MapFd("sock_map"), &one), 0);
  EXPECT_EQ(MapLookupElem(obj.MapFd("runs"), &zero, &out.runs), 0);
  for (uint32_t i = 0; i < out.runs && i < kSkMsgMaxRuns; ++i) {
    SkMsgRec r;
    EXPECT_EQ(MapLookupElem(obj.MapFd("recs"), &i, &r), 0);
    out.recs.push_back(r);
  }
  return out;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_SK_MSG_EDIT_CASES_H_
