// SPDX-License-Identifier: Apache-2.0
// File: cast_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_cast_to_kern_ctx / bpf_rdonly_cast with the
// context conversion of net/core/filter.c (bpf_convert_ctx_access: which
// struct sk_buff field each struct __sk_buff field is) read backwards, and
// the test run's skb of net/bpf/test_run.c (cast_kfuncs.h).

#include "emu/cast_kfuncs.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cstring>
#include <string_view>
#include <vector>

#include "emu/kernel_btf.h"

namespace bpfemu::castk {

namespace {

// include/linux/skbuff.h NET_SKB_PAD (x86-64: a cache line), the headroom
// bpf_test_init reserves; include/uapi/linux/if_ether.h ETH_HLEN.
constexpr uint16_t kNetSkbPad = 64;
constexpr uint16_t kEthHlen = 14;

bool SkbContext(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case BPF_PROG_TYPE_SK_SKB:
      return true;
    default:
      return false;
  }
}

// Stores `value` in member `name` of struct `id` (a byte-aligned integer
// member of 1, 2, 4 or 8 bytes; others are left 0).
void Put(const KernelBtf& btf, uint32_t id, std::vector<uint8_t>* out,
         std::string_view name, uint64_t value) {
  const KernelBtf::Field f = btf.FindMember(id, name);
  if (f.offset < 0 || f.offset + f.size > out->size()) return;
  switch (f.size) {
    case 1: {
      const auto v = static_cast<uint8_t>(value);
      std::memcpy(out->data() + f.offset, &v, 1);
      break;
    }
    case 2: {
      const auto v = static_cast<uint16_t>(value);
      std::memcpy(out->data() + f.offset, &v, 2);
      break;
    }
    case 4: {
      const auto v = static_cast<uint32_t>(value);
      std::memcpy(out->data() + f.offset, &v, 4);
      break;
    }
    case 8:
      std::memcpy(out->data() + f.offset, &value, 8);
      break;
    default:
      break;
  }
}

thread_local std::vector<uint8_t> snapshot;

}  // namespace

const void* KernCtx(const void* ctx, uint32_t prog_type, uint32_t* size) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr || !SkbContext(prog_type)) return nullptr;
  const int32_t id = btf->FindByNameKind("sk_buff", BTF_KIND_STRUCT);
  if (id <= 0) return nullptr;
  const int64_t n = btf->Size(static_cast<uint32_t>(id));
  if (n <= 0) return nullptr;
  snapshot.assign(static_cast<size_t>(n), 0);
  struct __sk_buff s;
  std::memcpy(&s, ctx, sizeof(s));
  const auto sid = static_cast<uint32_t>(id);
  Put(*btf, sid, &snapshot, "len", s.len);
  Put(*btf, sid, &snapshot, "data_len", 0);
  Put(*btf, sid, &snapshot, "queue_mapping", s.queue_mapping);
  Put(*btf, sid, &snapshot, "priority", s.priority);
  Put(*btf, sid, &snapshot, "mark", s.mark);
  Put(*btf, sid, &snapshot, "hash", s.hash);
  // __sk_buff keeps protocol and vlan_proto in network order, as sk_buff.
  Put(*btf, sid, &snapshot, "protocol", s.protocol);
  Put(*btf, sid, &snapshot, "vlan_tci", s.vlan_tci);
  Put(*btf, sid, &snapshot, "vlan_proto", s.vlan_proto);
  Put(*btf, sid, &snapshot, "tc_index", s.tc_index);
  Put(*btf, sid, &snapshot, "skb_iif", s.ingress_ifindex);
  Put(*btf, sid, &snapshot, "napi_id", s.napi_id);
  Put(*btf, sid, &snapshot, "tstamp", s.tstamp);
  Put(*btf, sid, &snapshot, "mac_header", kNetSkbPad);
  Put(*btf, sid, &snapshot, "network_header", kNetSkbPad + kEthHlen);
  Put(*btf, sid, &snapshot, "transport_header", 0xffff);
  *size = static_cast<uint32_t>(n);
  return snapshot.data();
}

uint64_t InterpCastToKernCtx(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  if (r1 != reinterpret_cast<uint64_t>(vm.ctx())) {
    vm.Fault("bpf_cast_to_kern_ctx: R1 is not the context");
  }
  uint32_t size = 0;
  const void* k = KernCtx(vm.ctx(), vm.prog_type(), &size);
  if (k == nullptr) {
    vm.Fault(
        "bpf_cast_to_kern_ctx: bpfemu does not model the kernel context of "
        "program type %u",
        vm.prog_type());
  }
  const auto addr = reinterpret_cast<uint64_t>(k);
  vm.AddRegion(addr, size, false);
  return addr;
}

// The object itself: the verifier types it (untrusted, read-only); the
// interpreter's reads through it are checked as any other.
uint64_t InterpRdonlyCast(interp::Vm&, uint64_t r1, uint64_t, uint64_t,
                          uint64_t, uint64_t) {
  return r1;
}

}  // namespace bpfemu::castk
