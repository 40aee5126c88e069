// SPDX-License-Identifier: Apache-2.0
// The socket lookup helpers (net/core/filter.c bpf_sk_lookup_tcp,
// bpf_sk_lookup_udp, bpf_skc_lookup_tcp, bpf_sk_release) over the real
// sockets of the current network namespace (native/sk_lookup.cc), for both
// faces: a native program calls the bpfemu_* entry points, the
// interpreter's table (loader/bytecode.cc) SkLookup / SkRelease.

#ifndef BPFEMU_NATIVE_SK_LOOKUP_H_
#define BPFEMU_NATIVE_SK_LOOKUP_H_

#include <linux/bpf.h>
#include <linux/tcp.h>

#include <cstdint>
#include <vector>

namespace bpfemu::native {

// What sock_diag says of a socket besides inet_diag_msg.
struct SockExtra {
  struct tcp_info info = {};  // INET_DIAG_INFO of a TCP socket
  bool has_info = false;
  uint64_t cgroup_id = 0;  // INET_DIAG_CGROUP_ID (sk_cgrp_data's cgroup)
  bool v6only = false;     // INET_DIAG_SKV6ONLY (of a listener)
  // A listener's accept queue length and limit (tcp_diag_get_info's
  // idiag_rqueue / idiag_wqueue).
  uint32_t ack_backlog = 0, max_ack_backlog = 0;
};

// What a lookup hands out: the `struct bpf_sock` a program reads (first, so
// a pointer to it is a pointer to this), and what it came from.
struct LookedUpSock {
  struct bpf_sock sk = {};
  uint64_t cookie = 0;  // the kernel's socket cookie (inet_diag idiag_cookie)
  bool full = true;     // not a timewait or request socket (sk_fullsock)
  SockExtra extra;
  // bpf_tcp_sock's answer for a full TCP socket (native/sock_helpers.cc).
  struct bpf_tcp_sock tcp = {};
  // The bytes of the kernel's own struct (tcp_sock, tcp6_sock, udp_sock,
  // udp6_sock, tcp_timewait_sock or tcp_request_sock, sized and laid out by
  // the kernel BTF) that the bpf_skc_to_* casts return; empty without BTF.
  std::vector<uint8_t> kview;
};

// Fills `tcp` and `kview` of a socket from its other fields
// (native/sock_helpers.cc).
void FillSockModel(LookedUpSock* sk);
// The socket one of the addresses above belongs to (its struct bpf_sock,
// struct bpf_tcp_sock or kernel view), while it is not released; else
// nullptr.
const LookedUpSock* SkOfAlias(const void* p);

// __bpf_skc_lookup / __bpf_sk_lookup: `tuple` of `len` bytes (the ipv4 or
// ipv6 half of struct bpf_sock_tuple, else NULL), netns BPF_F_CURRENT_NETNS
// or any negative s32, flags 0. proto is IPPROTO_TCP or IPPROTO_UDP; `skc`
// keeps timewait and request sockets (bpf_skc_lookup_tcp). NULL when
// nothing matches.
struct bpf_sock* SkLookup(const void* tuple, uint32_t len, uint64_t netns,
                          uint64_t flags, int proto, bool skc);
// The socket behind a pointer a lookup returned and nobody released, or
// nullptr.
const LookedUpSock* SkLookedUp(const void* sk);
// bpf_sk_fullsock: `sk` itself when it is a full socket (not timewait or
// request), else NULL; NULL too for a pointer no lookup returned.
struct bpf_sock* SkFullsock(void* sk);
// bpf_get_listener_sock: `sk` when it is a TCP listener, else NULL (a
// request socket's listener is what bpf_sk_lookup_tcp already returns).
struct bpf_sock* SkListener(void* sk);
// bpf_sk_release: 0; a pointer no lookup returned is left alone.
long SkRelease(void* sk);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_SK_LOOKUP_H_
