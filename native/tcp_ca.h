// SPDX-License-Identifier: Apache-2.0
// File: tcp_ca.h
//
// Running a BPF congestion control: one member of a struct
// tcp_congestion_ops (a STRUCT_OPS program, net/ipv4/bpf_tcp_ca.c) called
// the way net/ipv4/tcp_cong.c and tcp_input.c call icsk->icsk_ca_ops
// (ssthresh(sk), cong_avoid(sk, ack, acked), set_state(sk, new_state),
// cwnd_event(sk, ev), undo_cwnd(sk), init(sk), release(sk), ...): the
// program gets the u64 argument array of the member's prototype, the
// first being the socket (struct sock *, promoted to struct tcp_sock by
// bpf_tcp_ca_is_valid_access), and may read and write the emulated
// socket's struct tcp_sock (emu/tcp_ca.h) and call bpf_tcp_send_ack and the
// tcp_cong kfuncs on it.
//
// RunTcpCaOp runs any program (a native function or a bytecode program's
// Run); RunTcpCaMember runs the program a STRUCT_OPS map registered for
// the member (BPF_MAP_UPDATE_ELEM of the map's value with program fds,
// emu/struct_ops_map.h), as the kernel's socket does once
// setsockopt(TCP_CONGESTION) chose the congestion control.

#ifndef BPFEMU_NATIVE_TCP_CA_H_
#define BPFEMU_NATIVE_TCP_CA_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "emu/tcp_ca.h"

namespace bpfemu::native {

using TcpCaProgram = std::function<uint64_t(uint64_t* ctx)>;

// Runs `prog` with ctx {&sk, args...}; its R0.
uint64_t RunTcpCaOp(const TcpCaProgram& prog, tcpca::TcpSock& sk,
                    const std::vector<uint64_t>& args);

// The member `member` ("cong_avoid", ...) of the congestion control the
// STRUCT_OPS map `map_fd` registered: 0 with the program's R0 in *ret;
// -EBADF / -EINVAL for an fd that is no STRUCT_OPS map, -ENOENT when the
// map is not registered (by this process) or has no program there (the
// kernel then calls nothing, or its own default).
int RunTcpCaMember(int map_fd, std::string_view member, tcpca::TcpSock& sk,
                   const std::vector<uint64_t>& args, uint64_t* ret);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_TCP_CA_H_
