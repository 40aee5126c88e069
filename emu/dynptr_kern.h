// SPDX-License-Identifier: Apache-2.0
// File: dynptr_kern.h
//
// include/linux/bpf.h struct bpf_dynptr_kern (the 16 bytes behind a
// program's struct bpf_dynptr) and the bytecode face's check of a dynptr
// argument, kernel/bpf/verifier.c process_dynptr_func /
// is_dynptr_reg_valid_init: the argument must be a dynptr a helper
// initialized whose stack slots the program has not written since
// (destroy_if_dynptr_stack_slot). The kfuncs and helpers taking a dynptr
// (emu/kfunc.cc, emu/dynptr_kfuncs.cc, emu/crypto_kfuncs.cc,
// emu/xattr_kfuncs.cc, loader/bytecode.cc) share it.

#ifndef BPFEMU_EMU_DYNPTR_KERN_H_
#define BPFEMU_EMU_DYNPTR_KERN_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::dynptr {

// The memory, the size word (size in bits 0-23, enum bpf_dynptr_type in
// 28-30, read-only bit 31) and the offset into the memory.
struct Kern {
  void* data;
  uint32_t size;
  uint32_t offset;
};
static_assert(sizeof(Kern) == interp::Vm::kDynptrBytes);

inline constexpr uint32_t kSizeMask = (1u << 24) - 1;
inline constexpr uint32_t kRdonlyBit = 1u << 31;
inline constexpr uint32_t kTypeShift = 28;
inline constexpr uint32_t kTypeLocal = 1, kTypeRingbuf = 2, kTypeSkb = 3,
                          kTypeXdp = 4;

// The Vm region tag of an initialized dynptr.
inline constexpr uint8_t kRegionTag = interp::Vm::kDynptrTag;

inline uint32_t Size(const Kern& d) { return d.size & kSizeMask; }
inline uint32_t Type(const Kern& d) {
  return (d.size & ~kRdonlyBit) >> kTypeShift;
}
inline bool Rdonly(const Kern& d) { return (d.size & kRdonlyBit) != 0; }

// After a helper initialized (or changed) the dynptr at `addr`: from now
// on the program may pass it to the dynptr helpers, until it writes to
// its 16 bytes.
inline void Mark(interp::Vm& vm, uint64_t addr) { vm.SealDynptr(addr); }

// The dynptr argument in R`reg` of `fn`: one a helper initialized and the
// program has not overwritten since, else the run stops with the
// verifier's line (arg numbers count from 0, as check_func_arg and
// check_kfunc_args print them).
inline const Kern& Need(interp::Vm& vm, uint64_t addr, const char* fn,
                        int reg) {
  if (!vm.HasRegion(addr, kRegionTag)) {
    vm.Fault("%s: Expected an initialized dynptr as arg #%d", fn, reg - 1);
  }
  return *reinterpret_cast<const Kern*>(addr);
}

}  // namespace bpfemu::dynptr

#endif  // BPFEMU_EMU_DYNPTR_KERN_H_
