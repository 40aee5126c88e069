// SPDX-License-Identifier: Apache-2.0
// net/core/filter.c bpf_dynptr_from_skb_meta and bpf_xdp_pull_data (6.18):
// emu/pkt_kfuncs.h.

#include "emu/pkt_kfuncs.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "emu/dynptr_kern.h"

namespace bpfemu::pktk {
namespace {

std::atomic<const PktOps*> pkt_ops{nullptr};

// struct bpf_dynptr_kern: 16 bytes, all zero when null
// (bpf_dynptr_set_null).
constexpr uint64_t kDynptrBytes = 16;

void SetNull(void* ptr) { std::memset(ptr, 0, kDynptrBytes); }

}  // namespace

void SetPktOps(const PktOps* ops) {
  pkt_ops.store(ops, std::memory_order_release);
}

int DynptrFromSkbMeta(void* skb, uint64_t flags, void* ptr) {
  const PktOps* ops = pkt_ops.load(std::memory_order_acquire);
  if (flags != 0 || ops == nullptr) {
    SetNull(ptr);
    return -EINVAL;
  }
  void* data = nullptr;
  uint32_t len = 0;
  ops->skb_meta(skb, &data, &len);
  // The metadata is at most 255 bytes (skb_shared_info.meta_len): the
  // local dynptr takes any such size.
  const long err = ops->local_dynptr(data, len, ptr);
  if (err != 0) SetNull(ptr);
  return static_cast<int>(err);
}

int XdpPullData(void* xdp, uint32_t len) {
  const PktOps* ops = pkt_ops.load(std::memory_order_acquire);
  if (ops == nullptr) return -EINVAL;
  return ops->xdp_pull(xdp, len);
}

// R1 the context (KF_TRUSTED_ARGS; only SCHED_CLS and SCHED_ACT, whose
// context is a struct __sk_buff, are offered the kfunc), R3 the 16 bytes
// that become an initialized dynptr (a null one too), as
// bpf_dynptr_from_skb's binding in emu/kfunc.cc.
uint64_t InterpDynptrFromSkbMeta(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                 uint64_t r3, uint64_t, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_dynptr_from_skb_meta: R1 is not the context");
  }
  if (!vm.Writable(r3, kDynptrBytes)) {
    vm.Fault("bpf_dynptr_from_skb_meta: R3 is not a writable 16-byte dynptr");
  }
  const int ret = DynptrFromSkbMeta(reinterpret_cast<void*>(r1), r2,
                                    reinterpret_cast<void*>(r3));
  dynptr::Mark(vm, r3);  // a dynptr (a null one too) the Vm now watches
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

// R1 the context (XDP only); the packet's bounds are re-read afterwards.
uint64_t InterpXdpPullData(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                           uint64_t, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_xdp_pull_data: R1 is not the context");
  }
  const int ret =
      XdpPullData(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2));
  vm.ReloadPacket();
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::pktk
