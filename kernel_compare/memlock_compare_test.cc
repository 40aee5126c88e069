// SPDX-License-Identifier: Apache-2.0
// memlock accounting: for every emulated map type and a range of sizes, the
// emulator's charge (bpfemu::MapMemlock) equals the kernel's, read from
// /proc/self/fdinfo/<fd> "memlock:" (bpf_map_show_fdinfo -> map_mem_usage).
// NO_PREALLOC hashes are charged per inserted element, so they are compared
// empty and after inserts.

#include <linux/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "kernel_compare/kernel_backend.h"
#include "kernel_compare/kernel_test.h"

namespace bpfemu {
namespace {

int64_t KernelMemlock(int fd) {
  const std::string path = absl::StrFormat("/proc/self/fdinfo/%d", fd);
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return -1;
  char line[256];
  long long v = -1;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "memlock:\t%lld", &v) == 1) break;
  }
  std::fclose(f);
  return v;
}

struct Case {
  uint32_t type, key_size, value_size, max_entries, flags;
  uint32_t inserts;  // keys inserted before comparing
};

std::string Describe(const Case& c) {
  return absl::StrFormat("type %u key %u value %u max %u flags %#x inserts %u",
                         c.type, c.key_size, c.value_size, c.max_entries,
                         c.flags, c.inserts);
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const uint32_t sizes[] = {1, 4, 100, 1000, 4096, 65536};
  const uint32_t values[] = {8, 100};
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
                        BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    for (uint32_t max : sizes) {
      for (uint32_t value : values) {
        cases.push_back({type, 4, value, max, 0, 0});
      }
    }
  }
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) {
    for (uint32_t max : {1u, 100u, 4096u}) {
      for (uint32_t inserts : {0u, 1u, 37u}) {
        cases.push_back({type, 16, 24, max, BPF_F_NO_PREALLOC,
                         std::min(inserts, max)});
      }
    }
  }
  cases.push_back({BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, BPF_F_NO_COMMON_LRU, 0});
  cases.push_back({BPF_MAP_TYPE_HASH, 13, 3, 333, 0, 5});
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_ARRAY, 4, 24, max, BPF_F_MMAPABLE, 0});
    cases.push_back({BPF_MAP_TYPE_PROG_ARRAY, 4, 4, max, 0, 0});
  }
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_SOCKMAP, 4, 8, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_SOCKHASH, 12, 8, max, 0, 0});
  }
  for (uint32_t pages : {1u, 2u, 16u, 64u}) {
    cases.push_back({BPF_MAP_TYPE_RINGBUF, 0, 0, pages * 4096, 0, 0});
  }
  return cases;
}

class MemlockCompareTest : public KernelTest<> {};

TEST_F(MemlockCompareTest, EveryTypeAndSizeChargesWhatTheKernelCharges) {
  KernelBackend& kernel = KernelBackend::Get();
  int compared = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(Describe(c));
    MapAttr attr;
    attr.map_type = c.type;
    attr.key_size = c.key_size;
    attr.value_size = c.value_size;
    attr.max_entries = c.max_entries;
    attr.map_flags = c.flags;
    const int kfd = kernel.CreateMap(attr);
    const int efd = MapCreate(attr);
    ASSERT_GE(kfd, 0);
    ASSERT_GE(efd, 0);
    const uint32_t ncpus = static_cast<uint32_t>(kernel.NumPossibleCpus());
    const bool percpu = c.type == BPF_MAP_TYPE_PERCPU_HASH;
    std::vector<uint8_t> key(c.key_size, 0);
    std::vector<uint8_t> value((percpu ? ncpus : 1) * ((c.value_size + 7) & ~7u),
                               0);
    for (uint32_t i = 0; i < c.inserts; ++i) {
      std::memcpy(key.data(), &i, sizeof(i));
      ASSERT_EQ(kernel.Update(kfd, key.data(), value.data(), BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem(efd, key.data(), value.data(), BPF_ANY), 0);
    }
    EXPECT_EQ(KernelMemlock(kfd), MapMemlock(efd));
    kernel.Close(kfd);
    CloseFd(efd);
    ++compared;
  }
  EXPECT_GE(compared, 90);
}

}  // namespace
}  // namespace bpfemu
