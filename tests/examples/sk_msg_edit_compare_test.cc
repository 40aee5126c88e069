// SPDX-License-Identifier: Apache-2.0
// tests/examples/sk_msg_edit.bpf.c attached to the kernel (BPF_SK_MSG_VERDICT
// on a SOCKMAP holding the client end of a loopback TCP pair; each
// scenario's sends from a fresh thread, whose page fragment starts empty
// as SkMsgSocket's does) and run on bpfemu through native::SkMsgSocket,
// natively and as bytecode: the same send(2) return values, the same bytes
// at the peer (passed, or redirected to its ingress by
// bpf_msg_redirect_map) and sent back by it (redirected to its egress), the
// same runs and records (sizes, data windows, helper return values, the
// bytes at data).

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/sk_msg_edit_cases.h"
#include "tests/examples/tcp_pair.h"

namespace bpfemu::examples {
namespace {

constexpr char kPath[] = "tests/examples/sk_msg_edit.bpf.o";

// Everything `fd` receives until it has been quiet for 150 ms.
std::vector<uint8_t> Drain(int fd) {
  std::vector<uint8_t> out;
  for (;;) {
    pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 150) <= 0) break;
    uint8_t buf[4096];
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

SkMsgOutcome RunOnKernel(const KernelObject& k, const SkMsgScenario& s) {
  SkMsgOutcome out;
  TcpPair p;
  if (!Connect(&p)) {
    ADD_FAILURE() << "no loopback TCP pair: " << strerror(errno);
    return out;
  }
  const uint32_t zero = 0;
  const uint64_t client = static_cast<uint64_t>(p.client);
  EXPECT_EQ(bpf_map_update_elem(k.MapFd("sock_map"), &zero, &client, BPF_ANY),
            0)
      << strerror(errno);
  // The peer, for the redirects.
  const uint32_t one = 1;
  const uint64_t server = static_cast<uint64_t>(p.server);
  EXPECT_EQ(bpf_map_update_elem(k.MapFd("sock_map"), &one, &server, BPF_ANY), 0)
      << strerror(errno);
  bpf_map_update_elem(k.MapFd("cfg"), &zero, &s.cfg, BPF_ANY);
  bpf_map_update_elem(k.MapFd("runs"), &zero, &zero, BPF_ANY);
  const SkMsgRec blank = {};
  for (uint32_t i = 0; i < kSkMsgMaxRuns; ++i) {
    bpf_map_update_elem(k.MapFd("recs"), &i, &blank, BPF_ANY);
  }
  // A new thread: its page fragment (current->task_frag) starts empty.
  std::thread sender([&] {
    for (size_t i = 0; i < s.sends.size(); ++i) {
      const std::vector<uint8_t> data = SkMsgPayload(i, s.sends[i]);
      const ssize_t n = send(p.client, data.data(), data.size(), MSG_NOSIGNAL);
      out.send_ret.push_back(n < 0 ? -errno : n);
    }
  });
  sender.join();
  // The peer reads what was passed and what was redirected to its ingress;
  // what was redirected out of the peer comes back to the client.
  out.delivered = Drain(p.server);
  out.redirected_egress = Drain(p.client);
  bpf_map_lookup_elem(k.MapFd("runs"), &zero, &out.runs);
  for (uint32_t i = 0; i < out.runs && i < kSkMsgMaxRuns; ++i) {
    SkMsgRec r;
    bpf_map_lookup_elem(k.MapFd("recs"), &i, &r);
    out.recs.push_back(r);
  }
  bpf_map_delete_elem(k.MapFd("sock_map"), &zero);
  bpf_map_delete_elem(k.MapFd("sock_map"), &one);
  return out;
}

std::string Show(const SkMsgRec& r) {
  std::string s = "size " + std::to_string(r.size_in) + " len " +
                  std::to_string(r.len_in) + " ret";
  for (int64_t v : r.ret) s += " " + std::to_string(v);
  s += " -> size " + std::to_string(r.size_out) + " len " +
       std::to_string(r.len_out) + " head";
  for (uint8_t b : r.head) s += " " + std::to_string(b);
  return s;
}

class SkMsgEditCompareTest : public KernelTest<> {};

TEST_F(SkMsgEditCompareTest, AttachedProgramAgreesWithTheModel) {
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(kPath, &kernel), 0);
  const int kprog = kernel->ProgFd("edit");
  ASSERT_GE(kprog, 0);
  ASSERT_EQ(
      bpf_prog_attach(kprog, kernel->MapFd("sock_map"), BPF_SK_MSG_VERDICT, 0),
      0)
      << strerror(errno);
  std::vector<std::unique_ptr<native::Object>> objs;
  for (const bool bytecode : {false, true}) {
    auto o = bytecode ? native::Object::OpenBytecode(kPath)
                      : native::Object::Open("sk_msg_edit");
    ASSERT_TRUE(o.ok()) << o.status();
    ASSERT_EQ((*o)->Load(), 0);
    objs.push_back(std::move(*o));
  }
  TcpPair emu;
  ASSERT_TRUE(Connect(&emu));
  int compared = 0;
  for (const SkMsgScenario& s : SkMsgScenarios()) {
    SCOPED_TRACE(s.name);
    const SkMsgOutcome k = RunOnKernel(*kernel, s);
    std::string sent;
    for (long r : k.send_ret) sent += " " + std::to_string(r);
    std::printf(
        "%-20s kernel: send%s, %zu bytes at the peer, %zu sent back by it, "
        "%u runs\n",
        s.name.c_str(), sent.c_str(), k.delivered.size(),
        k.redirected_egress.size(), k.runs);
    for (size_t face = 0; face < objs.size(); ++face) {
      SCOPED_TRACE(face == 0 ? "native" : "bytecode");
      const native::Program* prog = objs[face]->FindProgram("edit");
      ASSERT_NE(prog, nullptr);
      const SkMsgOutcome e = RunOnEmu(*objs[face], *prog, s, emu.server);
      EXPECT_EQ(e.send_ret, k.send_ret);
      std::vector<uint8_t> at_peer = e.delivered;
      at_peer.insert(at_peer.end(), e.redirected_ingress.begin(),
                     e.redirected_ingress.end());
      EXPECT_EQ(at_peer, k.delivered);
      EXPECT_EQ(e.redirected_egress, k.redirected_egress);
      EXPECT_EQ(e.runs, k.runs);
      ASSERT_EQ(e.recs.size(), k.recs.size());
      for (size_t i = 0; i < k.recs.size(); ++i) {
        EXPECT_EQ(Show(e.recs[i]), Show(k.recs[i])) << "run " << i;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 0);
  bpf_prog_detach2(kprog, kernel->MapFd("sock_map"), BPF_SK_MSG_VERDICT);
}

}  // namespace
}  // namespace bpfemu::examples
