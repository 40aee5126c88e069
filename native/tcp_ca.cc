// SPDX-License-Identifier: Apache-2.0
// Runs BPF congestion control members (native/tcp_ca.h) and the native
// face of net/ipv4/bpf_tcp_ca.c bpf_tcp_send_ack (emu/tcp_ca.h).
#include "native/tcp_ca.h"

#include <cerrno>

#include "bpfemu/native_abi.h"
#include "emu/interp.h"
#include "emu/prog.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"

namespace bpfemu::native {

uint64_t RunTcpCaOp(const TcpCaProgram& prog, tcpca::TcpSock& sk,
                    const std::vector<uint64_t>& args) {
  // The u64 argument array of a trampoline (MAX_BPF_FUNC_ARGS slots).
  uint64_t ctx[12] = {};
  ctx[0] = reinterpret_cast<uint64_t>(sk.data());
  for (size_t i = 0; i < args.size() && i + 1 < 12; ++i) ctx[i + 1] = args[i];
  // The socket is kernel memory the program reaches through R1's pointer
  // (PTR_TO_BTF_ID); bpf_tcp_ca_btf_struct_access lets it write some
  // fields, bpfemu all of them (docs/native.md).
  const interp::ObjectRange range{
      reinterpret_cast<uint64_t>(sk.data()),
      reinterpret_cast<uint64_t>(sk.data()) + sk.size(), true};
  interp::SetRunObjects(&range, 1);
  const uint64_t r0 = prog(ctx);
  interp::SetRunObjects(nullptr, 0);
  return r0;
}

int RunTcpCaMember(int map_fd, std::string_view member, tcpca::TcpSock& sk,
                   const std::vector<uint64_t>& args, uint64_t* ret) {
  std::shared_ptr<Map> map = MapFromFd(map_fd);
  if (map == nullptr) return -EBADF;
  auto* st = dynamic_cast<StructOpsMap*>(map.get());
  if (st == nullptr ||
      st->desc().type->name != std::string_view("tcp_congestion_ops")) {
    return -EINVAL;
  }
  std::shared_ptr<const Prog> prog = st->MemberProg(member);
  if (prog == nullptr) return -ENOENT;
  *ret = RunTcpCaOp([&](uint64_t* ctx) { return ProgRunR0(*prog, ctx); }, sk,
                    args);
  return 0;
}

}  // namespace bpfemu::native

extern "C" long bpfemu_tcp_send_ack(void* tp, __u32 rcv_nxt) {
  bpfemu::tcpca::TcpSock* s =
      bpfemu::tcpca::TcpSock::At(reinterpret_cast<uint64_t>(tp));
  // The verifier types R1 as a struct tcp_sock: anything else stops the
  // run.
  if (s == nullptr) bpfemu::ProgAbortRun();
  return bpfemu::tcpca::SendAck(*s, rcv_nxt);
}
