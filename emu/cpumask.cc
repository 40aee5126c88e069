// SPDX-License-Identifier: Apache-2.0
// File: cpumask.cc
//
// kernel/bpf/cpumask.c's kfuncs (cpumask.h) over include/linux/cpumask.h,
// lib/bitmap.c, lib/find_bit.c and lib/cpumask.c (the distribute picks).

#include "emu/cpumask.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "emu/cpu.h"

namespace bpfemu::cpumask {

namespace {

// NR_CPUS bits in whole words, then the reference count.
uint32_t Words() { return (HostNrCpus() + 63) / 64; }
// nr_cpu_ids (small_cpumask_bits, nr_cpumask_bits), within NR_CPUS.
uint32_t NrCpuIds() {
  const uint32_t n = static_cast<uint32_t>(NumPossibleCpus());
  return n < Words() * 64 ? n : Words() * 64;
}

uint64_t* Bits(void* m) { return static_cast<uint64_t*>(m); }
const uint64_t* Bits(const void* m) { return static_cast<const uint64_t*>(m); }
int32_t* Usage(void* m) {
  return reinterpret_cast<int32_t*>(Bits(m) + Words());
}

// The words that hold n bits, and the last one's mask
// (BITMAP_LAST_WORD_MASK).
uint32_t WordsFor(uint32_t n) { return (n + 63) / 64; }
uint64_t LastWordMask(uint32_t n) {
  return n % 64 == 0 ? ~uint64_t{0} : (uint64_t{1} << (n % 64)) - 1;
}

// Word k of the bitmap the operation reads (a & b when `b` is set), masked
// to n bits.
uint64_t Word(const uint64_t* a, const uint64_t* b, uint32_t k, uint32_t n) {
  uint64_t w = a[k];
  if (b != nullptr) w &= b[k];
  if (k == WordsFor(n) - 1) w &= LastWordMask(n);
  return w;
}

// lib/find_bit.c find_next_bit / find_next_and_bit: the first set bit at
// or after `from` below n, else n.
uint32_t FindNext(const uint64_t* a, const uint64_t* b, uint32_t n,
                  uint32_t from) {
  for (uint32_t bit = from; bit < n;) {
    const uint64_t w = Word(a, b, bit / 64, n) >> (bit % 64);
    if (w != 0) {
      const uint32_t found = bit + __builtin_ctzll(w);
      return found < n ? found : n;
    }
    bit = (bit / 64 + 1) * 64;
  }
  return n;
}

uint32_t FindFirstZero(const uint64_t* a, uint32_t n) {
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    const uint64_t w = ~a[k];
    if (w != 0) {
      const uint32_t found = k * 64 + __builtin_ctzll(w);
      return found < n ? found : n;
    }
  }
  return n;
}

// include/linux/find.h find_next_bit_wrap (and its _and_ twin).
uint32_t FindNextWrap(const uint64_t* a, const uint64_t* b, uint32_t n,
                      uint32_t offset) {
  if (offset < n) {
    const uint32_t bit = FindNext(a, b, n, offset);
    if (bit < n) return bit;
  }
  const uint32_t bit = FindNext(a, b, offset < n ? offset : n, 0);
  return bit < offset ? bit : n;
}

std::mutex mu;
std::unordered_set<const void*>& Live() {
  static auto* live = new std::unordered_set<const void*>;
  return *live;
}
// lib/cpumask.c distribute_cpu_mask_prev, per emulated CPU.
std::vector<uint32_t>& DistributePrev() {
  static auto* prev = new std::vector<uint32_t>(HostNrCpus() + 1, 0);
  return *prev;
}

uint32_t Distribute(const uint64_t* a, const uint64_t* b) {
  const uint32_t n = NrCpuIds();
  std::lock_guard<std::mutex> l(mu);
  uint32_t& prev = DistributePrev()[CurrentCpu(n)];
  const uint32_t next = FindNextWrap(a, b, n, prev + 1);
  if (next < n) prev = next;
  return next;
}

}  // namespace

void* Create() {
  auto* m = new (std::nothrow) uint64_t[Words() + 1]();
  if (m == nullptr) return nullptr;
  *Usage(m) = 1;
  std::lock_guard<std::mutex> l(mu);
  Live().insert(m);
  return m;
}

void* Acquire(void* m) {
  std::lock_guard<std::mutex> l(mu);
  ++*Usage(m);
  return m;
}

void Release(void* m) {
  std::lock_guard<std::mutex> l(mu);
  if (--*Usage(m) != 0) return;
  Live().erase(m);
  delete[] Bits(m);
}

bool IsLive(const void* m) {
  std::lock_guard<std::mutex> l(mu);
  return Live().count(m) != 0;
}

uint64_t LiveMasks() {
  std::lock_guard<std::mutex> l(mu);
  return Live().size();
}

uint32_t First(const void* m) {
  return FindNext(Bits(m), nullptr, NrCpuIds(), 0);
}

uint32_t FirstZero(const void* m) { return FindFirstZero(Bits(m), NrCpuIds()); }

uint32_t FirstAnd(const void* a, const void* b) {
  return FindNext(Bits(a), Bits(b), NrCpuIds(), 0);
}

// bpf_cpumask_set_cpu and friends: a CPU at or past nr_cpu_ids
// (cpu_valid) changes nothing and tests false.
void SetCpu(uint32_t cpu, void* m) {
  if (cpu < NrCpuIds()) Bits(m)[cpu / 64] |= uint64_t{1} << (cpu % 64);
}

void ClearCpu(uint32_t cpu, void* m) {
  if (cpu < NrCpuIds()) Bits(m)[cpu / 64] &= ~(uint64_t{1} << (cpu % 64));
}

bool TestCpu(uint32_t cpu, const void* m) {
  return cpu < NrCpuIds() && ((Bits(m)[cpu / 64] >> (cpu % 64)) & 1) != 0;
}

bool TestAndSetCpu(uint32_t cpu, void* m) {
  if (cpu >= NrCpuIds()) return false;
  const bool was = TestCpu(cpu, m);
  SetCpu(cpu, m);
  return was;
}

bool TestAndClearCpu(uint32_t cpu, void* m) {
  if (cpu >= NrCpuIds()) return false;
  const bool was = TestCpu(cpu, m);
  ClearCpu(cpu, m);
  return was;
}

// cpumask_setall: bitmap_fill of nr_cpu_ids bits, whole words.
void SetAll(void* m) { std::memset(m, 0xff, WordsFor(NrCpuIds()) * 8); }

// cpumask_clear: bitmap_zero of all NR_CPUS bits.
void Clear(void* m) { std::memset(m, 0, Words() * 8); }

// lib/bitmap.c __bitmap_and masks the last word; __bitmap_or / _xor do not.
bool And(void* dst, const void* a, const void* b) {
  const uint32_t n = NrCpuIds();
  uint64_t any = 0;
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    any |= Bits(dst)[k] = Word(Bits(a), Bits(b), k, n);
  }
  return any != 0;
}

void Or(void* dst, const void* a, const void* b) {
  for (uint32_t k = 0; k < WordsFor(NrCpuIds()); ++k) {
    Bits(dst)[k] = Bits(a)[k] | Bits(b)[k];
  }
}

void Xor(void* dst, const void* a, const void* b) {
  for (uint32_t k = 0; k < WordsFor(NrCpuIds()); ++k) {
    Bits(dst)[k] = Bits(a)[k] ^ Bits(b)[k];
  }
}

bool Equal(const void* a, const void* b) {
  const uint32_t n = NrCpuIds();
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    if (Word(Bits(a), nullptr, k, n) != Word(Bits(b), nullptr, k, n)) {
      return false;
    }
  }
  return true;
}

bool Intersects(const void* a, const void* b) {
  const uint32_t n = NrCpuIds();
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    if (Word(Bits(a), Bits(b), k, n) != 0) return true;
  }
  return false;
}

bool Subset(const void* a, const void* b) {
  const uint32_t n = NrCpuIds();
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    if ((Word(Bits(a), nullptr, k, n) & ~Bits(b)[k]) != 0) return false;
  }
  return true;
}

bool Empty(const void* m) { return First(m) >= NrCpuIds(); }

bool Full(const void* m) { return FirstZero(m) >= NrCpuIds(); }

// cpumask_copy: bitmap_copy of all NR_CPUS bits.
void Copy(void* dst, const void* src) { std::memmove(dst, src, Words() * 8); }

uint32_t AnyDistribute(const void* m) { return Distribute(Bits(m), nullptr); }

uint32_t AnyAndDistribute(const void* a, const void* b) {
  return Distribute(Bits(a), Bits(b));
}

uint32_t Weight(const void* m) {
  const uint32_t n = NrCpuIds();
  uint32_t w = 0;
  for (uint32_t k = 0; k < WordsFor(n); ++k) {
    w += __builtin_popcountll(Word(Bits(m), nullptr, k, n));
  }
  return w;
}

// bpf_cpumask_populate: x86-64 has efficient unaligned access, so any
// source address will do.
int Populate(void* m, const void* src, uint64_t size) {
  const uint64_t need = WordsFor(NrCpuIds()) * 8;
  if (size < need) return -EACCES;
  std::memcpy(m, src, need);
  return 0;
}

namespace {

// The verifier's trusted / RCU cpumask arguments: masks this run holds.
void* Mask(interp::Vm& vm, uint64_t r, const char* name, int arg) {
  void* m = reinterpret_cast<void*>(r);
  if (!IsLive(m)) {
    vm.Fault("%s: R%d is not a bpf_cpumask the program holds", name, arg);
  }
  return m;
}
uint64_t U32(uint32_t v) { return v; }
uint64_t Bool(bool v) { return v ? 1 : 0; }

}  // namespace

uint64_t InterpCreate(interp::Vm&, uint64_t, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  return reinterpret_cast<uint64_t>(Create());
}
uint64_t InterpAcquire(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(
      Acquire(Mask(vm, r1, "bpf_cpumask_acquire", 1)));
}
uint64_t InterpRelease(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                       uint64_t, uint64_t) {
  Release(Mask(vm, r1, "bpf_cpumask_release", 1));
  return 0;
}
uint64_t InterpFirst(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  return U32(First(Mask(vm, r1, "bpf_cpumask_first", 1)));
}
uint64_t InterpFirstZero(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                         uint64_t, uint64_t) {
  return U32(FirstZero(Mask(vm, r1, "bpf_cpumask_first_zero", 1)));
}
uint64_t InterpFirstAnd(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                        uint64_t, uint64_t) {
  return U32(FirstAnd(Mask(vm, r1, "bpf_cpumask_first_and", 1),
                      Mask(vm, r2, "bpf_cpumask_first_and", 2)));
}
uint64_t InterpSetCpu(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  SetCpu(static_cast<uint32_t>(r1), Mask(vm, r2, "bpf_cpumask_set_cpu", 2));
  return 0;
}
uint64_t InterpClearCpu(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                        uint64_t, uint64_t) {
  ClearCpu(static_cast<uint32_t>(r1), Mask(vm, r2, "bpf_cpumask_clear_cpu", 2));
  return 0;
}
uint64_t InterpTestCpu(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                       uint64_t, uint64_t) {
  return Bool(TestCpu(static_cast<uint32_t>(r1),
                      Mask(vm, r2, "bpf_cpumask_test_cpu", 2)));
}
uint64_t InterpTestAndSetCpu(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                             uint64_t, uint64_t) {
  return Bool(TestAndSetCpu(static_cast<uint32_t>(r1),
                            Mask(vm, r2, "bpf_cpumask_test_and_set_cpu", 2)));
}
uint64_t InterpTestAndClearCpu(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t, uint64_t, uint64_t) {
  return Bool(
      TestAndClearCpu(static_cast<uint32_t>(r1),
                      Mask(vm, r2, "bpf_cpumask_test_and_clear_cpu", 2)));
}
uint64_t InterpSetAll(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  SetAll(Mask(vm, r1, "bpf_cpumask_setall", 1));
  return 0;
}
uint64_t InterpClear(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  Clear(Mask(vm, r1, "bpf_cpumask_clear", 1));
  return 0;
}
uint64_t InterpAnd(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                   uint64_t, uint64_t) {
  return Bool(And(Mask(vm, r1, "bpf_cpumask_and", 1),
                  Mask(vm, r2, "bpf_cpumask_and", 2),
                  Mask(vm, r3, "bpf_cpumask_and", 3)));
}
uint64_t InterpOr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                  uint64_t, uint64_t) {
  Or(Mask(vm, r1, "bpf_cpumask_or", 1), Mask(vm, r2, "bpf_cpumask_or", 2),
     Mask(vm, r3, "bpf_cpumask_or", 3));
  return 0;
}
uint64_t InterpXor(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                   uint64_t, uint64_t) {
  Xor(Mask(vm, r1, "bpf_cpumask_xor", 1), Mask(vm, r2, "bpf_cpumask_xor", 2),
      Mask(vm, r3, "bpf_cpumask_xor", 3));
  return 0;
}
uint64_t InterpEqual(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                     uint64_t, uint64_t) {
  return Bool(Equal(Mask(vm, r1, "bpf_cpumask_equal", 1),
                    Mask(vm, r2, "bpf_cpumask_equal", 2)));
}
uint64_t InterpIntersects(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                          uint64_t, uint64_t) {
  return Bool(Intersects(Mask(vm, r1, "bpf_cpumask_intersects", 1),
                         Mask(vm, r2, "bpf_cpumask_intersects", 2)));
}
uint64_t InterpSubset(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                      uint64_t, uint64_t) {
  return Bool(Subset(Mask(vm, r1, "bpf_cpumask_subset", 1),
                     Mask(vm, r2, "bpf_cpumask_subset", 2)));
}
uint64_t InterpEmpty(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                     uint64_t) {
  return Bool(Empty(Mask(vm, r1, "bpf_cpumask_empty", 1)));
}
uint64_t InterpFull(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                    uint64_t) {
  return Bool(Full(Mask(vm, r1, "bpf_cpumask_full", 1)));
}
uint64_t InterpCopy(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t,
                    uint64_t, uint64_t) {
  Copy(Mask(vm, r1, "bpf_cpumask_copy", 1),
       Mask(vm, r2, "bpf_cpumask_copy", 2));
  return 0;
}
uint64_t InterpAnyDistribute(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t,
                             uint64_t, uint64_t) {
  return U32(AnyDistribute(Mask(vm, r1, "bpf_cpumask_any_distribute", 1)));
}
uint64_t InterpAnyAndDistribute(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                uint64_t, uint64_t, uint64_t) {
  return U32(
      AnyAndDistribute(Mask(vm, r1, "bpf_cpumask_any_and_distribute", 1),
                       Mask(vm, r2, "bpf_cpumask_any_and_distribute", 2)));
}
uint64_t InterpWeight(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  return U32(Weight(Mask(vm, r1, "bpf_cpumask_weight", 1)));
}
uint64_t InterpPopulate(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                        uint64_t, uint64_t) {
  void* m = Mask(vm, r1, "bpf_cpumask_populate", 1);
  if (!vm.Readable(r2, r3)) {
    vm.Fault("bpf_cpumask_populate: R2 is not %llu readable bytes",
             static_cast<unsigned long long>(r3));
  }
  const int ret = Populate(m, reinterpret_cast<const void*>(r2), r3);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::cpumask
