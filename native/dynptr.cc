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

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "emu/dynptr_kfuncs.h"
#include "emu/interp.h"
#include "emu/kfunc.h"
#include "emu/prog.h"
#include "emu/ringbuf.h"
#include "native/bound_map.h"
#include "native/helpers.h"
#include "native/task_model.h"

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

// The memory reads of the user-copy kfuncs (emu/dynptr_kfuncs.h CopyKind),
// for both faces, over the probe reads (native/helpers.h ProbeRead /
// ProbeReadStr: the interpreter's regions are kernel memory, the rest of
// the process user memory) and the task model (CopyFromUserTask). Each
// reads into a scratch copy and hands the caller only what the kernel's
// function leaves in its buffer.
using bpfemu::dynk::CopyKind;
using bpfemu::native::ProbeSpace;

// The thread a task argument stands for: a task view, or the current
// task (bpf_get_current_task_btf natively); -1 for none.
long TaskTid(const void* task) {
  long tid = -1;
  if (!bpfemu::native::TaskViewTid(task, &tid) && task != nullptr &&
      task == bpfemu_get_current_task_btf()) {
    tid = gettid();
  }
  return tid;
}

// One memory the copies read: `n` bytes at `addr`, all or nothing.
struct Reader {
  const bpfemu::native::OwnedMemory* owned;
  ProbeSpace space;
  long tid;  // the task kinds: the task's thread (-1: none)
  bool task;
  // 0, or the read's error (-EFAULT, -ERANGE for a kernel read of a user
  // address).
  long Read(uint64_t addr, uint32_t n, void* out) const {
    if (task) {
      if (tid < 0) return -EFAULT;
      return bpfemu::native::CopyFromUserTask(out, n, addr, tid, 0, owned);
    }
    return bpfemu::native::ProbeRead(space, out, n, addr, owned);
  }
  // How many of the `n` bytes at `addr` can be read before the first that
  // cannot (copied to out), as a faulting copy leaves them.
  uint32_t Prefix(uint64_t addr, uint32_t n, uint8_t* out) const {
    // Whole pages while they read (a failed read zeroes what it was
    // given: a scratch copy), then the bytes of the page that does not.
    uint8_t page[4096];
    uint32_t i = 0;
    while (i < n) {
      const auto chunk = static_cast<uint32_t>(
          std::min<uint64_t>(n - i, 4096 - ((addr + i) & 4095)));
      if (Read(addr + i, chunk, page) != 0) break;
      std::memcpy(out + i, page, chunk);
      i += chunk;
    }
    for (; i < n; ++i) {
      uint8_t c;
      if (Read(addr + i, 1, &c) != 0) break;
      out[i] = c;
    }
    return i;
  }
};

// lib/strncpy_from_user.c do_strncpy_from_user (x86-64: word at a time,
// unaligned): whole 8-byte words while 8 bytes may be copied, the word
// holding the NUL stored with the NUL and every byte after it zeroed;
// a word that cannot be read, and the tail, a byte at a time.
long StrncpyFromUser(const Reader& r, uint8_t* dst, uint64_t src,
                     uint32_t count) {
  constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - 4096;
  if (count == 0) return 0;
  if (src >= kTaskSizeMax) return -EFAULT;
  uint64_t max = std::min<uint64_t>(count, kTaskSizeMax - src);
  uint32_t res = 0;
  while (max >= 8) {
    uint8_t w[8];
    if (r.Read(src + res, 8, w) != 0) break;
    for (int i = 0; i < 8; ++i) {
      if (w[i] == 0) {
        for (int j = i; j < 8; ++j) w[j] = 0;
        std::memcpy(dst + res, w, 8);
        return res + static_cast<uint32_t>(i);
      }
    }
    std::memcpy(dst + res, w, 8);
    res += 8;
    max -= 8;
  }
  for (; max != 0; --max, ++res) {
    uint8_t c;
    if (r.Read(src + res, 1, &c) != 0) return -EFAULT;
    dst[res] = c;
    if (c == 0) return res;
  }
  return res >= count ? static_cast<long>(res) : -EFAULT;
}

long UserCopy(const bpfemu::interp::Vm* vm, CopyKind kind, void* dst,
              uint64_t src, uint32_t size, const void* task) {
  auto regions = [vm](uint64_t addr, uint64_t len) {
    return vm->Readable(addr, std::max<uint64_t>(len, 1));
  };
  const bpfemu::native::OwnedMemory owned_fn = regions;
  Reader r{vm != nullptr ? &owned_fn : nullptr, ProbeSpace::kUser, -1, false};
  if (kind == CopyKind::kKernelNofault || kind == CopyKind::kKernelStrNofault) {
    r.space = ProbeSpace::kKernel;
  }
  if (kind == CopyKind::kTask || kind == CopyKind::kTaskStrRaw) {
    r.task = true;
    r.tid = TaskTid(task);
  }
  auto* d = static_cast<uint8_t*>(dst);
  std::vector<uint8_t> tmp(size + 8u);
  switch (kind) {
    case CopyKind::kUserNofault:
    case CopyKind::kKernelNofault:
    case CopyKind::kUser:
    case CopyKind::kTask: {
      // A faulting copy leaves the bytes before the fault; copy_from_user
      // also zeroes the rest. Each answers -EFAULT (measured on 6.18:
      // bpf_copy_from_user_dynptr too, not copy_from_user's count).
      if (size == 0) {
        // copy_from_kernel_nofault_allowed() comes before the length.
        uint8_t c;
        return kind == CopyKind::kKernelNofault && r.Read(src, 1, &c) == -ERANGE
                   ? -ERANGE
                   : 0;
      }
      const long err = r.Read(src, size, tmp.data());
      if (err == 0) {
        std::memcpy(d, tmp.data(), size);
        return 0;
      }
      if (err != -EFAULT) return err;  // -ERANGE: nothing read
      const uint32_t n = r.Prefix(src, size, d);
      if (kind == CopyKind::kUser) std::memset(d + n, 0, size - n);
      return -EFAULT;
    }
    case CopyKind::kUserStrNofault: {
      // mm/maccess.c strncpy_from_user_nofault.
      if (size == 0) return 0;
      long ret = StrncpyFromUser(r, d, src, size);
      if (ret >= static_cast<long>(size)) {
        ret = size;
        d[ret - 1] = 0;
      } else if (ret > 0) {
        ++ret;
      }
      return ret;
    }
    case CopyKind::kKernelStrNofault: {
      // mm/maccess.c strncpy_from_kernel_nofault: a byte at a time; the
      // byte where a read faults is made the NUL.
      if (size == 0) return 0;
      uint8_t c;
      const long first = r.Read(src, 1, &c);
      if (first == -ERANGE) return -ERANGE;
      uint32_t i = 0;
      for (;;) {
        if (r.Read(src + i, 1, &c) != 0) {
          d[i] = 0;
          return -EFAULT;
        }
        d[i++] = c;
        if (c == 0 || i >= size) break;
      }
      d[i - 1] = 0;
      return i;
    }
    case CopyKind::kUserStrRaw:
      return StrncpyFromUser(r, d, src, size);
    case CopyKind::kTaskStrRaw: {
      // mm/memory.c copy_remote_vm_str: at most size - 1 bytes and a NUL,
      // always terminated; the length without the NUL, or -EFAULT (the
      // byte that could not be read made the NUL). Within the source's
      // page it copies with strscpy, a word at a time while 8 bytes fit:
      // the word holding the NUL is stored with the bytes after it zeroed.
      if (size == 0) return 0;
      uint32_t n = 0;
      for (; n + 1 < size; ++n) {
        uint8_t c = 0;
        if (r.Read(src + n, 1, &c) != 0) {
          d[n] = 0;
          return -EFAULT;
        }
        d[n] = c;
        if (c == 0) break;
      }
      d[n] = 0;
      const uint64_t in_page = 4096 - (src & 4095);
      const uint32_t word = n & ~7u;
      if (word + 8 <= std::min<uint64_t>(size, in_page)) {
        std::memset(d + n, 0, word + 8 - n);
      }
      return n;
    }
  }
  return -EINVAL;
}

bool TaskKnown(const void* task) { return TaskTid(task) >= 0; }

constexpr bpfemu::dynk::UserCopyOps kUserCopyOps = {UserCopy};
[[maybe_unused]] const bool kUserCopySet =
    (bpfemu::dynk::SetUserCopyOps(&kUserCopyOps),
     bpfemu::dynk::SetTaskCheck(TaskKnown), true);

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
