// SPDX-License-Identifier: Apache-2.0
// The SO_REUSEPORT selection hook (net/core/sock_reuseport.c
// reuseport_select_sock -> net/core/filter.c bpf_run_sk_reuseport, struct
// sk_reuseport_kern) and its helper bpf_sk_select_reuseport
// (sk_select_reuseport), for both faces. The group is real: the sockets of
// this process bound with SO_REUSEPORT; RunReuseportHook runs the program
// for a datagram or connection the group receives and answers which socket
// it selected, and the test compares that with where the kernel delivers.

#ifndef BPFEMU_NATIVE_REUSEPORT_HOOK_H_
#define BPFEMU_NATIVE_REUSEPORT_HOOK_H_

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"

namespace bpfemu::native {

struct ReuseportAccess {
  // A socket of the group the lookup found (the context's sk): its family,
  // protocol and bound address are the group's.
  int fd = -1;
  // The skb from its transport header on (UDP: the UDP header and the
  // payload), as reuseport_select_sock hands it to the program.
  std::vector<uint8_t> data;
  uint16_t eth_protocol = 0;  // skb->protocol, network order (ETH_P_IP ...)
  uint32_t hash = 0;          // the lookup's hash (udp_ehashfn: keyed)
};

struct ReuseportOutcome {
  uint32_t verdict = 0;  // SK_PASS or SK_DROP
  // The socket bpf_sk_select_reuseport selected (its SO_COOKIE), 0 for
  // none: with SK_PASS the kernel then picks one of the group by hash.
  uint64_t selected_cookie = 0;
};

// bpf_run_sk_reuseport(): `run` runs the program on the struct
// sk_reuseport_md it is given (data, data_end over a copy of `data`; len,
// eth_protocol; ip_protocol the socket's; bind_inany whether the group is
// bound to the any address; hash; sk and migrating_sk not modelled: NULL).
ReuseportOutcome RunReuseportHook(const ReuseportAccess& access,
                                  absl::FunctionRef<uint32_t(void* ctx)> run);

// bpf_sk_select_reuseport on the hook being run: `map` a program's map
// handle, `key` its key. The map's socket (-ENOENT: none, or closed) must
// be in the hook's group: else -EPROTOTYPE (another protocol),
// -EAFNOSUPPORT (another family), -EBADFD (another address). `flags` is
// ignored, as the kernel ignores it. A SOCKMAP or SOCKHASH (also accepted
// by the kernel) is not modelled: -EOPNOTSUPP. -EINVAL outside a hook.
long SkSelectReuseport(const void* ctx, void* map, const void* key,
                       uint64_t flags);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_REUSEPORT_HOOK_H_
