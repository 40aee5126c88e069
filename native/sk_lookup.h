// SPDX-License-Identifier: Apache-2.0
// The socket lookup helpers (net/core/filter.c bpf_sk_lookup_tcp,
// bpf_sk_lookup_udp, bpf_skc_lookup_tcp, bpf_sk_release) over the real
// sockets of the current network namespace (native/sk_lookup.cc), for both
// faces: a native program calls the bpfemu_* entry points, the
// interpreter's table (loader/bytecode.cc) SkLookup / SkRelease.

#ifndef BPFEMU_NATIVE_SK_LOOKUP_H_
#define BPFEMU_NATIVE_SK_LOOKUP_H_

#include <linux/bpf.h>

#include <cstdint>

namespace bpfemu::native {

// What a lookup hands out: the `struct bpf_sock` a program reads (first, so
// a pointer to it is a pointer to this), and what it came from.
struct LookedUpSock {
  struct bpf_sock sk = {};
  uint64_t cookie = 0;  // the kernel's socket cookie (inet_diag idiag_cookie)
  bool full = true;     // not a timewait or request socket (sk_fullsock)
};

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
