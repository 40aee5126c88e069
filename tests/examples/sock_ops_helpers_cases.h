// SPDX-License-Identifier: Apache-2.0
// File: sock_ops_helpers_cases.h
//
// tests/examples/sock_ops_helpers.bpf.c's record of one callback, and
// RunCallback: one callback on bpfemu through native::RunSockOps, its
// record read back. sock_ops_helpers_compare_test replays the kernel's
// callbacks with it; sock_ops_helpers_test runs hand-made ones.

#ifndef BPFEMU_TESTS_EXAMPLES_SOCK_OPS_HELPERS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SOCK_OPS_HELPERS_CASES_H_

#include <linux/bpf.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/sock_ops.h"

namespace bpfemu::examples {

inline constexpr int kSockOpsRets = 27;  // NRET

struct SockOpsRec {  // struct rec of sock_ops_helpers.bpf.c
  uint32_t op, args0, args1, fullsock;
  uint32_t state, cb_flags_in, skb_len, hdr_len;
  uint32_t local_port, remote_port, family, pad;
  uint8_t hdr[64];
  uint8_t syn[64];
  int64_t ret[kSockOpsRets];
  uint32_t cb_flags_out, nodelay, mark, tos;
  uint32_t cbopt, hdr_len_out, pad2, pad3;
  uint8_t hdr_out[64];
  uint8_t loaded[8];
  uint8_t syn_short[8];
  char cc[16];
};

// The callback a record describes, as RunSockOps's input (the socket's fd,
// the option room and the SYN's IP header are the caller's).
inline native::SockOpsInput InputOf(const SockOpsRec& r) {
  native::SockOpsInput in;
  in.op = r.op;
  in.args[0] = r.args0;
  in.args[1] = r.args1;
  in.family = r.family;
  in.local_port = r.local_port;
  in.remote_port = r.remote_port;
  in.fullsock = r.fullsock != 0;
  in.state = r.state;
  in.cb_flags = r.cb_flags_in;
  in.skb_len = r.skb_len;
  if (r.hdr_len != 0) in.header.assign(r.hdr, r.hdr + std::min(r.hdr_len, 64u));
  if (r.ret[0] > 0)
    in.syn.assign(r.syn, r.syn + std::min<int64_t>(r.ret[0], 64));
  return in;
}

// One callback on bpfemu: the program's record of it.
inline SockOpsRec RunCallback(const native::Object& obj,
                              const native::Program& prog,
                              const native::SockOpsInput& in) {
  const uint32_t zero = 0;
  EXPECT_EQ(MapUpdateElem(obj.MapFd("count"), &zero, &zero, BPF_ANY), 0);
  SockOpsRec blank = {};
  EXPECT_EQ(MapUpdateElem(obj.MapFd("recs"), &zero, &blank, BPF_ANY), 0);
  native::RunSockOps(
      [&prog](struct bpf_sock_ops* ctx) { return prog.Run(ctx); }, in);
  SockOpsRec r = {};
  EXPECT_EQ(MapLookupElem(obj.MapFd("recs"), &zero, &r), 0);
  return r;
}

// A record as text, field by field, for comparisons that name the field.
inline std::string ShowRec(const SockOpsRec& r) {
  auto bytes = [](const uint8_t* p, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += " " + std::to_string(p[i]);
    return s;
  };
  std::string s =
      "op " + std::to_string(r.op) + " args " + std::to_string(r.args0) + "," +
      std::to_string(r.args1) + " fullsock " + std::to_string(r.fullsock) +
      " state " + std::to_string(r.state) + " cb " +
      std::to_string(r.cb_flags_in) + "->" + std::to_string(r.cb_flags_out) +
      " hdr_len " + std::to_string(r.hdr_len) + "->" +
      std::to_string(r.hdr_len_out) + "\n ret";
  for (int64_t v : r.ret) s += " " + std::to_string(v);
  s += "\n nodelay " + std::to_string(r.nodelay) + " mark " +
       std::to_string(r.mark) + " tos " + std::to_string(r.tos) + " cbopt " +
       std::to_string(r.cbopt) + " cc " +
       std::string(r.cc, strnlen(r.cc, sizeof(r.cc)));
  s += "\n hdr_out" + bytes(r.hdr_out, sizeof(r.hdr_out));
  s += "\n loaded" + bytes(r.loaded, sizeof(r.loaded)) + " syn_short" +
       bytes(r.syn_short, sizeof(r.syn_short));
  s += "\n syn" + bytes(r.syn, sizeof(r.syn));
  return s;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_SOCK_OPS_HELPERS_CASES_H_
