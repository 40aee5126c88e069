// SPDX-License-Identifier: Apache-2.0
// File: sock_kfuncs.cc
//
// kfy48: bpf_sk_assign_tcp_reqsk (sock_kfuncs.h). Mirrors
// net/core/filter.c bpf_sk_assign_tcp_reqsk's checks before the request
// socket is made (include/linux/skbuff.h skb_at_tc_ingress).

#include "emu/sock_kfuncs.h"

#include <cerrno>
#include <cstring>

namespace bpfemu::sockk {

int SkAssignTcpReqsk(const void* attrs, int32_t attrs_sz) {
  if (attrs_sz != static_cast<int32_t>(sizeof(TcpReqAttrs))) return -EINVAL;
  TcpReqAttrs a;
  std::memcpy(&a, attrs, sizeof(a));
  if (a.reserved[0] != 0 || a.reserved[1] != 0 || a.reserved[2] != 0) {
    return -EINVAL;
  }
  // skb_at_tc_ingress(): a test run's skb never is.
  return -EINVAL;
}

uint64_t InterpSkAssignTcpReqsk(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                uint64_t r3, uint64_t r4, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_sk_assign_tcp_reqsk: R1 is not the context");
  }
  if (r2 == 0) {
    vm.Fault(
        "bpf_sk_assign_tcp_reqsk: Possibly NULL pointer passed to "
        "trusted arg1");
  }
  const auto sz = static_cast<int32_t>(r4);
  if (sz < 0 || (sz > 0 && !vm.Readable(r3, static_cast<uint64_t>(sz)))) {
    vm.Fault("bpf_sk_assign_tcp_reqsk: R3 is not %d readable bytes", sz);
  }
  const int ret = SkAssignTcpReqsk(reinterpret_cast<void*>(r3), sz);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::sockk
