// SPDX-License-Identifier: Apache-2.0
// File: sock_ops.h
//
// One BPF_PROG_TYPE_SOCK_OPS callback (net/core/filter.c
// sock_ops_func_proto; include/net/tcp.h tcp_call_bpf; the header option
// callbacks of net/ipv4/tcp_output.c bpf_skops_hdr_opt_len /
// bpf_skops_write_hdr_opt and net/ipv4/tcp_input.c bpf_skops_parse_hdr):
// RunSockOps builds struct bpf_sock_ops from a SockOpsInput (the op, its
// arguments, the socket's state and flags, the TCP header the callback
// sees, the room left for options, the SYN) and runs a program on it, with
// the sock_ops helpers bound to the callback:
// - bpf_sock_ops_cb_flags_set: the flags within BPF_SOCK_OPS_ALL_CB_FLAGS
//   kept, the others returned; -EINVAL on a request socket;
// - bpf_setsockopt / bpf_getsockopt: filter.c's option lists and length
//   checks (sol_socket_sockopt, sol_tcp_sockopt, sol_ip_sockopt,
//   sol_ipv6_sockopt), the TCP_BPF_* options on the model's tcp_sock
//   fields, TCP_BPF_SYN / _SYN_IP from the input's SYN; the other options
//   set and read on the input's real socket (`fd`), whose kernel answers
//   with its own errno and value; -EINVAL on a request socket;
// - bpf_sock_map_update / bpf_sock_hash_update: the real socket stored in
//   the emulated SOCKMAP / SOCKHASH (emu/sock_map.h) from the established
//   and listen callbacks, -EOPNOTSUPP from the others;
// - bpf_reserve_hdr_opt (HDR_OPT_LEN only), bpf_store_hdr_opt
//   (WRITE_HDR_OPT only) and bpf_load_hdr_opt (where a header is seen, or
//   the SYN with BPF_LOAD_HDR_OPT_TCP_SYN) over the input's header, with
//   their errnos (-EPERM, -EINVAL, -ENOSPC, -EEXIST, -ENOMSG, -EFAULT,
//   -ENOENT).
// The TCP state machine is not modelled: a test gives each callback's
// inputs (sock_ops_compare_test takes them from the kernel's callbacks).

#ifndef BPFEMU_NATIVE_SOCK_OPS_H_
#define BPFEMU_NATIVE_SOCK_OPS_H_

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace bpfemu::native {

struct SockOpsInput {
  uint32_t op = 0;
  uint32_t args[4] = {};
  uint32_t family = 2;                     // AF_INET
  uint32_t local_ip4 = 0, remote_ip4 = 0;  // network byte order
  uint32_t local_port = 0;                 // host byte order
  uint32_t remote_port = 0;                // network byte order
  bool fullsock = true;                    // false: a request socket
  uint32_t state = 0;                      // TCP_ESTABLISHED, ...
  uint32_t cb_flags = 0;                   // tp->bpf_sock_ops_cb_flags
  // The real socket setsockopt / getsockopt and the socket maps act on.
  int fd = -1;
  // [skb_data, skb_data_end): the TCP header the callback sees (empty: no
  // skb), and skb_len.
  std::vector<uint8_t> header;
  uint32_t skb_len = 0;
  // HDR_OPT_LEN / WRITE_HDR_OPT: the option room left (remaining_opt_len).
  uint32_t remaining_opt_len = 0;
  // The SYN's TCP header (syn_skb, or the saved SYN): empty when none.
  std::vector<uint8_t> syn;
  // The SYN's IP header and TCP header (TCP_BPF_SYN_IP), when known.
  std::vector<uint8_t> syn_ip;
};

struct SockOpsOutput {
  uint32_t ret = 0;  // the program's return value
  uint32_t reply = 0;
  uint32_t cb_flags = 0;
  // The header after WRITE_HDR_OPT's stores, and the room left.
  std::vector<uint8_t> header;
  uint32_t remaining_opt_len = 0;
};

using SockOpsProgram = std::function<uint32_t(struct bpf_sock_ops*)>;

SockOpsOutput RunSockOps(const SockOpsProgram& prog, const SockOpsInput& in);

// Whether `ctx` is the context of the callback RunSockOps is running on
// this thread (the sock_ops helpers act only there).
bool SockOpsRunOn(const void* ctx);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SOCK_OPS_H_
