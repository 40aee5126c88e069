// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel, in lockstep: random sequences of LRU operations
// (inserts with every flag, updates of existing keys, deletes,
// lookup_and_delete, syscall lookups and BPF-side lookups that set the
// reference bit) on LRU_HASH and LRU_PERCPU_HASH, common and per-CPU lists,
// 64..4096 entries, all ops on CPU 0 or spread over CPUs 0 and 1 (one thread
// pinned per op, so the kernel is deterministic), and maps of 8 and 33
// entries, smaller than the refill targets. Every result, every
// survivor set and the ZERO_SEED iteration order must agree. Needs bpf():
// tagged "local", skipped with a one-line reason without permission.
//
// BPFEMU_LRU_OPS (default 100000) sets the operations per sequence.
#include <linux/bpf.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "kernel_compare/differ.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

size_t OpsPerSequence() {
  const char* env = std::getenv("BPFEMU_LRU_OPS");
  return env != nullptr ? std::strtoul(env, nullptr, 10) : 100000;
}

struct LruCase {
  uint32_t type;
  uint32_t flags;
  uint32_t max_entries;
  uint32_t op_cpus;
};

class LruCompare : public KernelTest<::testing::TestWithParam<LruCase>> {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    if (GetParam().op_cpus >
        static_cast<uint32_t>(KernelBackend::Get().NumPossibleCpus())) {
      GTEST_SKIP() << "needs " << GetParam().op_cpus << " CPUs";
    }
  }
};

TEST_P(LruCompare, RandomSequenceAgrees) {
  const LruCase& c = GetParam();
  MapAttr attr;
  attr.map_type = c.type;
  attr.key_size = 8;
  attr.value_size = 8;
  attr.max_entries = c.max_entries;
  attr.map_flags = c.flags | BPF_F_ZERO_SEED;
  Sequence seq = GenerateSequence(
      attr, {.seed = c.max_entries * 31u + c.type * 7u + c.flags + c.op_cpus,
             .num_cpus = EmuBackend::Get().NumPossibleCpus(),
             .num_ops = OpsPerSequence(),
             .key_range = c.max_entries * 2,
             .op_cpus = c.op_cpus,
             .prog_lookups = true});
  auto d = RunLockstep(seq, EmuBackend::Get(), KernelBackend::Get(),
                       /*checkpoint=*/5000);
  if (d.has_value()) {
    Sequence small = Shrink(seq, EmuBackend::Get(), KernelBackend::Get());
    FAIL() << "op " << d->op_index << ": " << d->what << "\nminimal trace:\n"
           << small.Trace();
  }
}

std::vector<LruCase> Cases() {
  std::vector<LruCase> cases;
  for (uint32_t type : {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    for (uint32_t flags : {0u, uint32_t{BPF_F_NO_COMMON_LRU}}) {
      // 8 and 33 are smaller than the per-CPU free targets; 33 is not a
      // multiple of the CPU count (per-CPU lists round it up).
      for (uint32_t size : {8u, 33u, 64u, 256u, 1024u, 4096u}) {
        for (uint32_t cpus : {1u, 2u})
          cases.push_back({type, flags, size, cpus});
      }
    }
  }
  return cases;
}

std::string Name(const testing::TestParamInfo<LruCase>& info) {
  const LruCase& c = info.param;
  return std::string(c.type == BPF_MAP_TYPE_LRU_HASH ? "Lru" : "LruPercpu") +
         (c.flags ? "PerCpuLists" : "CommonList") +
         std::to_string(c.max_entries) + "Cpus" + std::to_string(c.op_cpus);
}

INSTANTIATE_TEST_SUITE_P(All, LruCompare, testing::ValuesIn(Cases()), Name);

}  // namespace
}  // namespace bpfemu
