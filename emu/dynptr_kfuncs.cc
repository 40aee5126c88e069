// SPDX-License-Identifier: Apache-2.0
// File: dynptr_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_dynptr_copy and bpf_dynptr_memset (6.18), in
// bpfemu's words (dynptr_kfuncs.h).

#include "emu/dynptr_kfuncs.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace bpfemu::dynk {

namespace {

std::atomic<const DynptrIo*> dynptr_io{nullptr};

// The size word of struct bpf_dynptr_kern (data, size word, offset): the
// size in bits 0-23, the read-only bit 31.
struct DynptrKern {
  void* data;
  uint32_t size;
  uint32_t offset;
};
static_assert(sizeof(DynptrKern) == 16);
constexpr uint32_t kSizeMask = (1u << 24) - 1;
constexpr uint32_t kRdonlyBit = 1u << 31;

// The Vm region tag of an initialized dynptr (emu/kfunc.h
// kDynptrRegionTag, loader/bytecode.cc kDynptr).
constexpr uint8_t kDynptrTag = 2;

// The kernel's chunk buffer: 256 bytes on its stack.
constexpr uint32_t kChunk = 256;

// bpf_dynptr_check_off_len(): [off, off + len) inside the dynptr's size.
bool RangeFits(const void* p, uint32_t off, uint32_t len) {
  const uint32_t size = static_cast<const DynptrKern*>(p)->size & kSizeMask;
  return len <= size && off <= size - len;
}

bool Rdonly(const void* p) {
  return (static_cast<const DynptrKern*>(p)->size & kRdonlyBit) != 0;
}

void NeedDynptr(interp::Vm& vm, uint64_t p, const char* name, int reg) {
  if (!vm.HasRegion(p, kDynptrTag)) {
    vm.Fault("%s: R%d is not an initialized dynptr", name, reg);
  }
}

}  // namespace

void SetDynptrIo(const DynptrIo* io) {
  dynptr_io.store(io, std::memory_order_release);
}

int Copy(void* dst, uint32_t dst_off, const void* src, uint32_t src_off,
         uint32_t size) {
  const DynptrIo* io = dynptr_io.load(std::memory_order_acquire);
  if (io == nullptr) return -EINVAL;
  const void* from = io->slice(src, src_off, size, false);
  void* to = io->slice(dst, dst_off, size, true);
  if (from != nullptr && to != nullptr) {
    std::memmove(to, from, size);
    return 0;
  }
  // One side contiguous: the other's dynptr write / read does the checks.
  if (from != nullptr) {
    return static_cast<int>(io->write(dst, dst_off, from, size));
  }
  if (to != nullptr) return static_cast<int>(io->read(to, size, src, src_off));
  if (!RangeFits(dst, dst_off, size) || !RangeFits(src, src_off, size)) {
    return -E2BIG;
  }
  uint8_t buf[kChunk];
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min(kChunk, size - done);
    if (long err = io->read(buf, n, src, src_off + done); err != 0) {
      return static_cast<int>(err);
    }
    if (long err = io->write(dst, dst_off + done, buf, n); err != 0) {
      return static_cast<int>(err);
    }
    done += n;
  }
  return 0;
}

int Memset(void* p, uint32_t offset, uint32_t size, uint8_t val) {
  const DynptrIo* io = dynptr_io.load(std::memory_order_acquire);
  if (io == nullptr) return -EINVAL;
  if (void* to = io->slice(p, offset, size, true); to != nullptr) {
    std::memset(to, val, size);
    return 0;
  }
  // Non-contiguous (or refused) memory: the checks, then chunked writes.
  // A null dynptr passes them for size 0 (offset 0) and writes nothing.
  if (Rdonly(p)) return -EINVAL;
  if (!RangeFits(p, offset, size)) return -E2BIG;
  uint8_t buf[kChunk];
  std::memset(buf, val, std::min(kChunk, size));
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min(kChunk, size - done);
    if (long err = io->write(p, offset + done, buf, n); err != 0) {
      return static_cast<int>(err);
    }
    done += n;
  }
  return 0;
}

uint64_t InterpCopy(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                    uint64_t r4, uint64_t r5) {
  NeedDynptr(vm, r1, "bpf_dynptr_copy", 1);
  NeedDynptr(vm, r3, "bpf_dynptr_copy", 3);
  const int ret = Copy(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
                       reinterpret_cast<const void*>(r3),
                       static_cast<uint32_t>(r4), static_cast<uint32_t>(r5));
  // An int return: sign-extended in R0, as the kernel's JITs leave it.
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpMemset(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_memset", 1);
  const int ret = Memset(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
                         static_cast<uint32_t>(r3), static_cast<uint8_t>(r4));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::dynk
