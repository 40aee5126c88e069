// SPDX-License-Identifier: Apache-2.0
// bpf_fib_lookup (net/core/filter.c bpf_xdp_fib_lookup,
// bpf_skb_fib_lookup) over the emulated FIB of emu/fib.h, for both faces:
// a native program calls bpfemu_fib_lookup, the interpreter's table
// (loader/bytecode.cc) too. docs/semantics.md (FIB lookups).

#include <linux/bpf.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <optional>

#include "bpfemu/native_abi.h"
#include "emu/fib.h"
#include "emu/netdev.h"
#include "native/helpers.h"

namespace bpfemu::native {
// The XDP run's frame start (native/helpers.cc SetXdpFrame): non-zero
// while an XDP program runs on this thread.
extern thread_local uint64_t xdp_hard_start;
}  // namespace bpfemu::native

namespace {

// BPF_FIB_LOOKUP_MASK: DIRECT, OUTPUT, SKIP_NEIGH, TBID, SRC and MARK
// (1 << 5, newer than this machine's uapi header).
constexpr uint32_t kFibLookupMask = 0x3f;
constexpr uint32_t kVlanHlen = 4;  // VLAN_HLEN

}  // namespace

extern "C" {

long bpfemu_fib_lookup(void* ctx, struct bpf_fib_lookup* params, int plen,
                       __u32 flags, int xdp) {
  if (xdp < 0) xdp = bpfemu::native::xdp_hard_start != 0;
  // plen is compared as the kernel compares it, with the unsigned sizeof.
  if (static_cast<size_t>(plen) < sizeof(*params)) return -EINVAL;
  if (flags & ~kFibLookupMask) return -EINVAL;
  // XDP always checks the MTU; tc when tot_len is given.
  const bool check_mtu = xdp || params->tot_len != 0;
  int rc;
  if (params->family == AF_INET) {
    rc = bpfemu::FibLookupV4(params, flags, check_mtu);
  } else if (params->family == AF_INET6) {
    rc = bpfemu::FibLookupV6(params, flags, check_mtu);
  } else {
    return -EAFNOSUPPORT;
  }
  if (rc == BPF_FIB_LKUP_RET_SUCCESS && !check_mtu) {
    // is_skb_forwardable against the egress device; its MTU reported.
    const std::optional<bpfemu::Netdev> dev =
        bpfemu::NetdevByIndex(params->ifindex);
    if (!dev) return rc;
    const auto* skb = static_cast<const struct __sk_buff*>(ctx);
    if (skb->len > dev->mtu + dev->hard_header_len + kVlanHlen) {
      rc = BPF_FIB_LKUP_RET_FRAG_NEEDED;
    }
    params->mtu_result = static_cast<__u16>(dev->mtu);
  }
  return rc;
}

}  // extern "C"
