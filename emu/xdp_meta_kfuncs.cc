// SPDX-License-Identifier: Apache-2.0
// The XDP metadata kfuncs (net/core/xdp.c bpf_xdp_metadata_rx_timestamp,
// bpf_xdp_metadata_rx_hash, bpf_xdp_metadata_rx_vlan_tag):
// emu/xdp_meta_kfuncs.h.

#include "emu/xdp_meta_kfuncs.h"

#include <cerrno>

namespace bpfemu::xdpmeta {
namespace {

// include/linux/errno.h: EOPNOTSUPP is the uapi's 95.
constexpr int kEopnotsupp = EOPNOTSUPP;

void NeedCtx(const interp::Vm& vm, uint64_t r1, const char* name) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("%s: arg#0 expected pointer to ctx", name);
  }
}

void NeedOut(const interp::Vm& vm, uint64_t p, uint64_t size, int arg,
             const char* name) {
  if (!vm.Writable(p, size)) {
    vm.Fault("%s: arg#%d is not %llu writable bytes", name, arg,
             static_cast<unsigned long long>(size));
  }
}

}  // namespace

bool IsDevBoundKfunc(std::string_view name) {
  return name == "bpf_xdp_metadata_rx_timestamp" ||
         name == "bpf_xdp_metadata_rx_hash" ||
         name == "bpf_xdp_metadata_rx_vlan_tag";
}

int RxTimestamp(const void*, uint64_t*) { return -kEopnotsupp; }
int RxHash(const void*, uint32_t*, uint32_t*) { return -kEopnotsupp; }
int RxVlanTag(const void*, uint16_t*, uint16_t*) { return -kEopnotsupp; }

uint64_t InterpRxTimestamp(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t) {
  const char* name = "bpf_xdp_metadata_rx_timestamp";
  NeedCtx(vm, r1, name);
  NeedOut(vm, r2, 8, 1, name);
  return static_cast<uint64_t>(static_cast<int64_t>(
      RxTimestamp(vm.ctx(), reinterpret_cast<uint64_t*>(r2))));
}

uint64_t InterpRxHash(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t, uint64_t) {
  const char* name = "bpf_xdp_metadata_rx_hash";
  NeedCtx(vm, r1, name);
  NeedOut(vm, r2, 4, 1, name);
  NeedOut(vm, r3, 4, 2, name);  // enum xdp_rss_hash_type
  return static_cast<uint64_t>(
      static_cast<int64_t>(RxHash(vm.ctx(), reinterpret_cast<uint32_t*>(r2),
                                  reinterpret_cast<uint32_t*>(r3))));
}

uint64_t InterpRxVlanTag(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t, uint64_t) {
  const char* name = "bpf_xdp_metadata_rx_vlan_tag";
  NeedCtx(vm, r1, name);
  NeedOut(vm, r2, 2, 1, name);
  NeedOut(vm, r3, 2, 2, name);
  return static_cast<uint64_t>(
      static_cast<int64_t>(RxVlanTag(vm.ctx(), reinterpret_cast<uint16_t*>(r2),
                                     reinterpret_cast<uint16_t*>(r3))));
}

}  // namespace bpfemu::xdpmeta
