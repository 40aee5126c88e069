// SPDX-License-Identifier: Apache-2.0
// File: sockopt_lists.h
//
// What bpf_setsockopt / bpf_getsockopt accept, shared by the sock_ops
// (native/sock_ops.cc) and cgroup sock_addr (native/cgroup_hooks.cc) faces:
// net/core/filter.c sol_socket_sockopt's and sol_tcp_sockopt's lists of the
// int-valued options they pass on to the socket, and usecs_to_jiffies()
// for the bpf-only TCP timeouts.

#ifndef BPFEMU_NATIVE_SOCKOPT_LISTS_H_
#define BPFEMU_NATIVE_SOCKOPT_LISTS_H_

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdint>

namespace bpfemu::native {

inline constexpr int kSoTxrehash = 74;  // SO_TXREHASH (5.18)

// sol_socket_sockopt's list: the options that take an int.
inline bool SolSocketIntOption(int optname) {
  switch (optname) {
    case SO_REUSEADDR:
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_KEEPALIVE:
    case SO_PRIORITY:
    case SO_REUSEPORT:
    case SO_RCVLOWAT:
    case SO_MARK:
    case SO_MAX_PACING_RATE:
    case SO_BINDTOIFINDEX:
    case kSoTxrehash:
      return true;
    default:
      return false;
  }
}

// sol_tcp_sockopt's list of the int options passed on to the TCP stack.
inline bool SolTcpIntOption(int optname) {
  switch (optname) {
    case TCP_NODELAY:
    case TCP_MAXSEG:
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
    case TCP_SYNCNT:
    case TCP_WINDOW_CLAMP:
    case TCP_THIN_LINEAR_TIMEOUTS:
    case TCP_USER_TIMEOUT:
    case TCP_NOTSENT_LOWAT:
    case TCP_SAVE_SYN:
      return true;
    default:
      return false;
  }
}

// usecs_to_jiffies() with HZ 250 (Debian's CONFIG_HZ): rounded up; past
// MAX_JIFFY_OFFSET's microseconds, MAX_JIFFY_OFFSET.
inline uint64_t UsecsToJiffies(uint32_t u) {
  constexpr uint64_t kUsecPerJiffy = 1000000 / 250;
  constexpr uint64_t kMaxJiffyOffset = ((~0UL >> 1) - 1);
  if (uint64_t{u} > kMaxJiffyOffset / 250 * 1000000) return kMaxJiffyOffset;
  return (uint64_t{u} + kUsecPerJiffy - 1) / kUsecPerJiffy;
}

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SOCKOPT_LISTS_H_
