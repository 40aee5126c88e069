// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel, in lockstep: get_next_key order of BPF_F_ZERO_SEED hash
// maps for every key size 1..64 (jhash2 for multiples of 4, jhash otherwise)
// and 1..2000 elements, through inserts, deletes that reopen buckets, and
// re-inserts, for HASH (prealloc and not) and PERCPU_HASH. Needs bpf(): tagged
// "local" and skipped with a one-line reason without permission.
#include <linux/bpf.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "kernel_compare/differ.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

// n distinct keys of `key_size` bytes (a counter in the first bytes, a fill
// derived from it in the rest), inserted, a third deleted, then re-inserted.
Sequence OrderSequence(uint32_t type, uint32_t flags, uint32_t key_size,
                       uint32_t n, int num_cpus) {
  Sequence seq;
  seq.attr.map_type = type;
  seq.attr.key_size = key_size;
  seq.attr.value_size = 8;
  seq.attr.max_entries = n;
  seq.attr.map_flags = flags | BPF_F_ZERO_SEED;
  const uint32_t value_bytes = SyscallValueSize(seq.attr, num_cpus);
  auto key = [&](uint32_t i) {
    std::vector<uint8_t> k(key_size);
    for (uint32_t j = 0; j < key_size; ++j) {
      k[j] = j < 4 ? static_cast<uint8_t>(i >> (8 * j))
                   : static_cast<uint8_t>(i * 7 + j);
    }
    return k;
  };
  // Key sizes below 4 bytes cannot hold n distinct counters.
  const uint32_t distinct =
      key_size >= 4 ? n : std::min<uint32_t>(n, 1u << (8 * key_size));
  for (uint32_t i = 0; i < distinct; ++i) {
    seq.ops.push_back({OpKind::kUpdate, key(i),
                       std::vector<uint8_t>(value_bytes, uint8_t(i)),
                       BPF_NOEXIST});
  }
  for (uint32_t i = 0; i < distinct; i += 3) {
    seq.ops.push_back({OpKind::kDelete, key(i), {}, 0});
  }
  for (uint32_t i = 0; i < distinct; i += 6) {
    seq.ops.push_back({OpKind::kUpdate, key(i),
                       std::vector<uint8_t>(value_bytes, 0x5a), BPF_ANY});
  }
  return seq;
}

class OrderCompare : public KernelTest<> {
 protected:
  void Check(uint32_t type, uint32_t flags) {
    const int ncpus = EmuBackend::Get().NumPossibleCpus();
    for (uint32_t ks = 1; ks <= 64; ++ks) {
      for (uint32_t n : {1u, 7u, 100u, 2000u}) {
        Sequence seq = OrderSequence(type, flags, ks, n, ncpus);
        // Checkpoint 0: compare results per op and full order at the end
        // (a full-order check after every op would be quadratic).
        auto d = RunLockstep(seq, EmuBackend::Get(), KernelBackend::Get(), 0);
        ASSERT_FALSE(d.has_value())
            << "type " << type << " key_size " << ks << " n " << n << ": op "
            << d->op_index << ": " << d->what;
      }
    }
  }
};

TEST_F(OrderCompare, HashPrealloc) { Check(BPF_MAP_TYPE_HASH, 0); }
TEST_F(OrderCompare, HashNoPrealloc) {
  Check(BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC);
}
TEST_F(OrderCompare, PercpuHash) { Check(BPF_MAP_TYPE_PERCPU_HASH, 0); }

}  // namespace
}  // namespace bpfemu
