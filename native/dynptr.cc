// SPDX-License-Identifier: Apache-2.0
// The dynptr constructors among the helpers (bpfemu/native_abi.h):
// kernel/bpf/helpers.c bpf_dynptr_from_mem (a local dynptr over program
// memory) and kernel/bpf/ringbuf.c bpf_ringbuf_reserve_dynptr /
// bpf_ringbuf_submit_dynptr / bpf_ringbuf_discard_dynptr (a ring buffer
// record held by a dynptr). The dynptr is the kernel's struct
// bpf_dynptr_kern (native/bound_map.h); every failure leaves it null.
// Also the native face's packet dynptr kfuncs (net/core/filter.c
// bpf_dynptr_from_skb / _from_xdp, kernel/bpf/helpers.c bpf_dynptr_slice /
// _slice_rdwr; the work is emu/kfunc.h's) and the packet access those
// reach (emu/kfunc.h DynptrPacketOps, for both faces).

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "emu/dynptr_kfuncs.h"
#include "emu/kfunc.h"
#include "emu/prog.h"
#include "emu/ringbuf.h"
#include "native/bound_map.h"
#include "native/helpers.h"

using bpfemu::native::internal::BoundMap;
using bpfemu::native::internal::BoundOf;
using bpfemu::native::internal::kDynptrSizeMask;
using bpfemu::native::internal::kDynptrTypeLocal;

namespace {

// enum bpf_dynptr_type's BPF_DYNPTR_TYPE_RINGBUF, in the type bits.
constexpr __u32 kDynptrTypeRingbuf = 2u << 28;

bpfemu_dynptr* Kern(struct bpf_dynptr* p) {
  return reinterpret_cast<bpfemu_dynptr*>(p);
}

// bpf_dynptr_set_null().
void SetNull(struct bpf_dynptr* p) { *Kern(p) = bpfemu_dynptr{}; }

// bpf_dynptr_check_size(): sizes above DYNPTR_MAX_SIZE do not fit.
bool SizeFits(__u32 size) { return size <= kDynptrSizeMask; }

// bpf_ringbuf_submit_dynptr / _discard_dynptr: nothing on a null dynptr,
// else the record committed and the dynptr nulled.
// Another type's dynptr (the verifier refuses the program) is left alone.
void CommitDynptr(struct bpf_dynptr* p, __u64 flags, bool discard) {
  void* sample = Kern(p)->data;
  if (sample == nullptr) return;
  if (bpfemu::native::internal::DynptrType(*Kern(p)) !=
      bpfemu::native::internal::kDynptrRingbuf) {
    return;
  }
  if (auto* ring = bpfemu::RingbufMap::FromSample(sample)) {
    if (discard) {
      ring->Discard(sample, flags);
    } else {
      ring->Submit(sample, flags);
    }
  }
  SetNull(p);
}

// skb_header_pointer() / skb_pointer_if_linear() on the test run's skb,
// which is linear: the bytes are in [data, data_end) or not in the packet
// (skb_copy_bits fails; the buffer is not touched).
void* SkbSlice(void* skb, __u32 offset, void*, __u32 len) {
  const auto* s = static_cast<const struct __sk_buff*>(skb);
  if (uint64_t{offset} + len > uint64_t{s->data_end} - s->data) {
    return nullptr;
  }
  return reinterpret_cast<uint8_t*>(uintptr_t{s->data}) + offset;
}

uint32_t XdpBuffLen(void* xdp) {
  return static_cast<uint32_t>(bpfemu_xdp_get_buff_len(xdp));
}

constexpr bpfemu::DynptrPacketOps kPacketOps = {
    XdpBuffLen, SkbSlice, bpfemu::native::internal::XdpSlice};

[[maybe_unused]] const bool kPacketOpsSet =
    (bpfemu::SetDynptrPacketOps(&kPacketOps), true);

// What bpf_dynptr_copy / bpf_dynptr_memset (emu/dynptr_kfuncs.h) need of
// a dynptr, for both faces: the slices above (bpf_dynptr_slice /
// _slice_rdwr without a buffer) and the dynptr read / write of
// native/helpers.cc (__bpf_dynptr_read / __bpf_dynptr_write, flags 0).
void* OpsSlice(const void* ptr, uint32_t off, uint32_t len, bool rdwr) {
  return rdwr ? bpfemu::DynptrSliceRdwr(ptr, off, nullptr, len)
              : bpfemu::DynptrSlice(ptr, off, nullptr, len);
}
long OpsRead(void* dst, uint32_t len, const void* src, uint32_t off) {
  return bpfemu_dynptr_read(dst, len,
                            static_cast<const struct bpf_dynptr*>(src), off, 0);
}
long OpsWrite(const void* dst, uint32_t off, const void* src, uint32_t len) {
  return bpfemu_dynptr_write(static_cast<const struct bpf_dynptr*>(dst), off,
                             const_cast<void*>(src), len, 0);
}
constexpr bpfemu::dynk::DynptrIo kOpsIo = {OpsSlice, OpsRead, OpsWrite};
[[maybe_unused]] const bool kOpsIoSet =
    (bpfemu::dynk::SetDynptrIo(&kOpsIo), true);

}  // namespace

extern "C" {

long bpfemu_dynptr_from_mem(void* data, __u32 size, __u64 flags,
                            struct bpf_dynptr* ptr) {
  long err = 0;
  if (!SizeFits(size)) {
    err = -E2BIG;
  } else if (flags != 0) {
    err = -EINVAL;
  }
  if (err != 0) {
    SetNull(ptr);
    return err;
  }
  *Kern(ptr) = bpfemu_dynptr{data, size | kDynptrTypeLocal, 0};
  return 0;
}

long bpfemu_ringbuf_reserve_dynptr(void* ringbuf, __u32 size, __u64 flags,
                                   struct bpf_dynptr* ptr) {
  BoundMap* b = ringbuf != nullptr ? BoundOf(ringbuf) : nullptr;
  void* sample = nullptr;
  const long err = b != nullptr && b->ring != nullptr
                       ? b->ring->ReserveDynptr(size, flags, &sample)
                       : -EINVAL;  // the verifier refuses other maps
  if (err != 0) {
    SetNull(ptr);
    return err;
  }
  *Kern(ptr) = bpfemu_dynptr{sample, size | kDynptrTypeRingbuf, 0};
  return 0;
}

void bpfemu_ringbuf_submit_dynptr(struct bpf_dynptr* ptr, __u64 flags) {
  CommitDynptr(ptr, flags, /*discard=*/false);
}

void bpfemu_ringbuf_discard_dynptr(struct bpf_dynptr* ptr, __u64 flags) {
  CommitDynptr(ptr, flags, /*discard=*/true);
}

// The kfuncs a source declares `extern ... __ksym`. A native program has
// no load-time specialization: bpf_dynptr_from_skb asks the run which
// program type it is (bpf_dynptr_from_skb_rdonly's choice).
int bpf_dynptr_from_skb(struct __sk_buff* skb, __u64 flags,
                        struct bpf_dynptr* ptr) {
  return bpfemu::DynptrFromSkb(skb, flags, ptr, bpfemu::RunningProgType());
}

int bpf_dynptr_from_xdp(struct xdp_md* xdp, __u64 flags,
                        struct bpf_dynptr* ptr) {
  return bpfemu::DynptrFromXdp(xdp, flags, ptr);
}

void* bpf_dynptr_slice(const struct bpf_dynptr* p, __u32 offset, void* buffer,
                       __u32 len) {
  return bpfemu::DynptrSlice(p, offset, buffer, len);
}

void* bpf_dynptr_slice_rdwr(const struct bpf_dynptr* p, __u32 offset,
                            void* buffer, __u32 len) {
  return bpfemu::DynptrSliceRdwr(p, offset, buffer, len);
}

}  // extern "C"
