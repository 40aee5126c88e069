// SPDX-License-Identifier: Apache-2.0
// File: iter_bits.cc
//
// kernel/bpf/helpers.c bpf_iter_bits_new / _next / _destroy (iter_bits.h).

#include "emu/iter_bits.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "emu/str_kfuncs.h"

namespace bpfemu {

namespace {

// kernel/bpf/helpers.c struct bpf_iter_bits_kern: the bits (one word) or a
// pointer to them, the number of bits, the last bit found (-1 before the
// first).
struct IterBits {
  union {
    uint64_t* bits;
    uint64_t bits_copy;
  };
  int32_t nr_bits;
  int32_t bit;
};
static_assert(sizeof(IterBits) == 16);

IterBits Load(const void* it) {
  IterBits k;
  std::memcpy(&k, it, sizeof(k));
  return k;
}
void Store(void* it, const IterBits& k) { std::memcpy(it, &k, sizeof(k)); }

// lib/find_bit.c find_next_bit over little-endian u64 words: the first set
// bit at or after `from`, or `n`.
int32_t FindNextBit(const uint64_t* words, int32_t n, int32_t from) {
  for (int32_t b = from; b < n;) {
    const uint64_t w = words[b / 64] >> (b % 64);
    if (w != 0) {
      const int32_t found = b + __builtin_ctzll(w);
      return found < n ? found : n;
    }
    b = (b / 64 + 1) * 64;
  }
  return n;
}

}  // namespace

int IterBitsNew(void* it, uint64_t ptr, uint32_t nr_words, KernelRead read,
                const void* ctx) {
  IterBits k{};
  k.bits_copy = 0;
  k.nr_bits = 0;
  k.bit = -1;
  Store(it, k);
  if (ptr == 0 || nr_words == 0) return -EINVAL;
  if (nr_words > kBitsIterMaxWords) return -E2BIG;
  const uint32_t nr_bytes = nr_words * 8;
  if (nr_words == 1) {
    uint64_t word;
    if (read(ctx, &word, ptr, 8) != 0) return -EFAULT;
    k.bits_copy = word;
    k.nr_bits = 64;
    Store(it, k);
    return 0;
  }
  // The kernel's bpf_mem_alloc from the global allocator (its size check,
  // 4096 bytes, is above 511 words).
  auto* bits = static_cast<uint64_t*>(std::malloc(nr_bytes));
  if (bits == nullptr) return -ENOMEM;
  if (int err = read(ctx, bits, ptr, nr_bytes); err != 0) {
    std::free(bits);
    return err;
  }
  k.bits = bits;
  k.nr_bits = static_cast<int32_t>(nr_bytes * 8);
  Store(it, k);
  return 0;
}

int32_t* IterBitsNext(void* it) {
  IterBits k = Load(it);
  if (k.nr_bits == 0 || k.bit >= k.nr_bits) return nullptr;
  const uint64_t* words = k.nr_bits == 64 ? &k.bits_copy : k.bits;
  k.bit = FindNextBit(words, k.nr_bits, k.bit + 1);
  Store(it, k);
  if (k.bit >= k.nr_bits) return nullptr;
  return &static_cast<IterBits*>(it)->bit;
}

void IterBitsDestroy(void* it) {
  const IterBits k = Load(it);
  if (k.nr_bits <= 64) return;
  std::free(k.bits);
}

namespace {

// bpf_probe_read_kernel_common over the interpreter's memory.
int VmKernelRead(const void* ctx, void* dst, uint64_t src, uint32_t n) {
  const auto* vm = static_cast<const interp::Vm*>(ctx);
  int err = 0;
  if (vm->Readable(src, n)) {
    std::memcpy(dst, reinterpret_cast<const void*>(src), n);
    return 0;
  }
  err =
      vm->Readable(src, 1) || strk::KernelHalfAllowed(src) ? -EFAULT : -ERANGE;
  std::memset(dst, 0, n);
  return err;
}

}  // namespace

uint64_t InterpIterBitsNew(interp::Vm& vm, uint64_t r1, uint64_t r2,
                           uint64_t r3, uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterBits))) {
    vm.Fault("bpf_iter_bits_new: R1 is not a writable 16-byte iterator");
  }
  const int ret = IterBitsNew(reinterpret_cast<void*>(r1), r2,
                              static_cast<uint32_t>(r3), VmKernelRead, &vm);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpIterBitsNext(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                            uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterBits))) {
    vm.Fault("bpf_iter_bits_next: R1 is not a writable 16-byte iterator");
  }
  return reinterpret_cast<uint64_t>(IterBitsNext(reinterpret_cast<void*>(r1)));
}

uint64_t InterpIterBitsDestroy(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  if (!vm.Writable(r1, sizeof(IterBits))) {
    vm.Fault("bpf_iter_bits_destroy: R1 is not a writable 16-byte iterator");
  }
  IterBitsDestroy(reinterpret_cast<void*>(r1));
  return 0;
}

}  // namespace bpfemu
