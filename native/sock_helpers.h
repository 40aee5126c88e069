// SPDX-License-Identifier: Apache-2.0
// The socket casts and accessors of net/core/filter.c (bpf_tcp_sock,
// bpf_skc_to_tcp6_sock, bpf_skc_to_tcp_sock, bpf_skc_to_tcp_timewait_sock,
// bpf_skc_to_tcp_request_sock, bpf_skc_to_udp6_sock, bpf_skc_to_unix_sock,
// bpf_skc_to_mptcp_sock, bpf_sk_cgroup_id, bpf_sk_ancestor_cgroup_id) on the
// sockets native/sk_lookup.h hands out and on a test run's skb->sk, for
// both faces: a native program calls the bpfemu_* entry points, the
// interpreter's table (loader/bytecode.cc) these functions.

#ifndef BPFEMU_NATIVE_SOCK_HELPERS_H_
#define BPFEMU_NATIVE_SOCK_HELPERS_H_

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>

namespace bpfemu::native {

// The kernel struct a bpf_skc_to_* helper casts to.
enum class SkcCast {
  kTcp6,         // bpf_skc_to_tcp6_sock: full TCP socket of AF_INET6
  kTcp,          // bpf_skc_to_tcp_sock: full TCP socket
  kTcpTimewait,  // bpf_skc_to_tcp_timewait_sock: TCP in TIME_WAIT
  kTcpRequest,   // bpf_skc_to_tcp_request_sock: TCP in NEW_SYN_RECV
  kUdp6,         // bpf_skc_to_udp6_sock: full UDP datagram socket of AF_INET6
  kUnix,         // bpf_skc_to_unix_sock: full AF_UNIX socket
  kMptcp,        // bpf_skc_to_mptcp_sock: an MPTCP subflow's connection
};

// bpf_tcp_sock: the socket's struct bpf_tcp_sock when `sk` (any address a
// socket helper gave out) is a full TCP socket, else NULL.
struct bpf_tcp_sock* TcpSock(const void* sk);
// bpf_skc_to_*: the socket's kernel-typed view (LookedUpSock::kview) when
// it is of the kind `cast` names, else NULL. *size is the view's size.
void* SkcTo(const void* sk, SkcCast cast, size_t* size);
// bpf_sk_cgroup_id / bpf_sk_ancestor_cgroup_id (__bpf_sk_cgroup_id): the
// cgroup2 cgroup the full socket was made in, or its ancestor at `level`;
// 0 for a socket that is not full and for a level past the cgroup.
uint64_t SkCgroupId(const void* sk);
uint64_t SkAncestorCgroupId(const void* sk, int level);

// bpf_tcp_gen_syncookie / bpf_tcp_check_syncookie for the listener `sk`
// (net/core/filter.c, net/ipv4/tcp_input.c tcp_get_syncookie_mss): the
// argument checks in the kernel's order, the netns's
// net.ipv4.tcp_syncookies, then the cookie of native/syncookie.cc (cookie
// in the low 32 bits, MSS above) or its check (0, else -ENOENT).
int64_t TcpGenSyncookie(const void* sk, const void* iph, uint32_t iph_len,
                        const void* th, uint32_t th_len);
long TcpCheckSyncookie(const void* sk, const void* iph, uint32_t iph_len,
                       const void* th, uint32_t th_len);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SOCK_HELPERS_H_
