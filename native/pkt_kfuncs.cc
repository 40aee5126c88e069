// SPDX-License-Identifier: Apache-2.0
// The native face of net/core/filter.c bpf_dynptr_from_skb_meta and
// bpf_xdp_pull_data (6.18; emu/pkt_kfuncs.h), and the packet work both
// faces share (emu/pkt_kfuncs.h PktOps, registered here): the skb's
// metadata area, the local dynptr over it (native/dynptr.cc
// bpfemu_dynptr_from_mem) and bpf_xdp_pull_data's pull on the test run's
// XDP frame (native/helpers.h SetXdpFrame).

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/pkt_kfuncs.h"
#include "native/bound_map.h"

namespace {

using bpfemu::native::internal::CurrentXdpFrame;
using bpfemu::native::internal::XdpFrameRef;

// sizeof(struct xdp_frame) on 64-bit kernels: the head of the frame's
// headroom, which the data may not move into.
constexpr int64_t kXdpFrameSize = 40;

uint8_t* At(uint32_t addr) {
  return reinterpret_cast<uint8_t*>(uintptr_t{addr});
}

// skb_metadata_end() - skb_metadata_len(): the metadata ends where the
// packet data starts. The test runs' skb carries none (6.18's
// bpf_prog_test_run_skb takes no metadata, and bpfemu's leaves data_meta
// 0): an empty area at data.
void SkbMeta(const void* ctx, void** data, uint32_t* len) {
  const auto* skb = static_cast<const struct __sk_buff*>(ctx);
  if (skb->data_meta != 0 && skb->data_meta <= skb->data) {
    *data = At(skb->data_meta);
    *len = skb->data - skb->data_meta;
  } else {
    *data = At(skb->data);
    *len = 0;
  }
}

long LocalDynptr(void* data, uint32_t size, void* ptr) {
  return bpfemu_dynptr_from_mem(data, size, 0,
                                static_cast<struct bpf_dynptr*>(ptr));
}

// bpf_xdp_pull_data(): the checks and moves of net/core/filter.c on the
// frame SetXdpFrame describes (the test run keeps the metadata, so the
// moved area starts at data_meta).
int XdpPull(void* ctx, uint32_t len) {
  auto* md = static_cast<struct xdp_md*>(ctx);
  const int64_t data_len = int64_t{md->data_end} - md->data;
  if (int64_t{len} <= data_len) return 0;
  const XdpFrameRef f = CurrentXdpFrame();
  if (f.hard_start == 0) return -EINVAL;  // no frame: not a test run's
  int64_t buff_len = data_len;
  if (f.frags != nullptr) {
    for (const auto& frag : *f.frags) {
      buff_len += static_cast<int64_t>(frag.size());
    }
  }
  if (int64_t{len} > buff_len) return -EINVAL;
  const int64_t start = md->data_meta;
  const int64_t headroom =
      start - static_cast<int64_t>(f.hard_start) - kXdpFrameSize;
  const int64_t tailroom =
      static_cast<int64_t>(f.hard_end) - int64_t{md->data_end};
  int64_t delta = int64_t{len} - data_len;
  if (delta > tailroom + headroom) return -EINVAL;
  const int64_t shift = delta - tailroom;
  if (shift > 0) {
    std::memmove(At(md->data_meta) - shift, At(md->data_meta),
                 md->data_end - md->data_meta);
    md->data_meta -= static_cast<uint32_t>(shift);
    md->data -= static_cast<uint32_t>(shift);
    md->data_end -= static_cast<uint32_t>(shift);
  }
  // The bytes come out of the fragments in order: an emptied fragment is
  // freed, a partly used one loses its front.
  size_t freed = 0;
  if (f.frags != nullptr) {
    for (auto& frag : *f.frags) {
      if (delta == 0) break;
      const auto shrink =
          static_cast<size_t>(std::min<int64_t>(delta, frag.size()));
      std::memcpy(At(md->data_end), frag.data(), shrink);
      md->data_end += static_cast<uint32_t>(shrink);
      delta -= static_cast<int64_t>(shrink);
      if (shrink == frag.size()) {
        ++freed;
      } else {
        frag.erase(frag.begin(),
                   frag.begin() + static_cast<std::ptrdiff_t>(shrink));
      }
    }
    f.frags->erase(f.frags->begin(),
                   f.frags->begin() + static_cast<std::ptrdiff_t>(freed));
  }
  return 0;
}

constexpr bpfemu::pktk::PktOps kOps = {SkbMeta, LocalDynptr, XdpPull};
[[maybe_unused]] const bool kOpsSet = (bpfemu::pktk::SetPktOps(&kOps), true);

}  // namespace

extern "C" {

int bpf_dynptr_from_skb_meta(struct __sk_buff* skb, uint64_t flags,
                             struct bpf_dynptr* ptr__uninit) {
  return bpfemu::pktk::DynptrFromSkbMeta(skb, flags, ptr__uninit);
}

int bpf_xdp_pull_data(struct xdp_md* x, uint32_t len) {
  return bpfemu::pktk::XdpPullData(x, len);
}

}  // extern "C"
