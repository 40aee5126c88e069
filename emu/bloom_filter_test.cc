// SPDX-License-Identifier: Apache-2.0
// BLOOM_FILTER through the syscall face and the program face: geometry and
// memlock as bloom_filter.c computes them, the version differences, and a
// region whose header was rewritten. tests/conformance/bloom_conformance.h
// checks the commands, errnos and zero-seed bits on the kernel too.

#include "emu/bloom_filter.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "emu/build_profile.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr Bloom(uint32_t value_size, uint32_t max_entries, uint64_t hashes = 0,
              uint32_t flags = 0) {
  MapAttr a{.map_type = BPF_MAP_TYPE_BLOOM_FILTER,
            .key_size = 0,
            .value_size = value_size,
            .max_entries = max_entries,
            .map_flags = flags};
  a.map_extra = hashes;
  return a;
}

uint64_t Memlock(int fd) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  return map == nullptr ? 0 : map->Memlock();
}

class ScopedKernelVersion {
 public:
  explicit ScopedKernelVersion(KernelVersion v) : old_(TargetKernel()) {
    SetTargetKernel(v);
  }
  ~ScopedKernelVersion() { SetTargetKernel(old_); }

 private:
  KernelVersion old_;
};

// bloom_map_mem_usage(): the struct plus the bit array, whose size is
// n * k * 7 / 5 bits rounded up to a power of two, at least 64, and 2^32
// bits when the product overflows u32 or exceeds 2^31.
TEST(BloomFilterMapTest, BitArraySizeFollowsTheKernelsFormula) {
  ScopedKernelVersion v(KernelVersion::k6_18);
  const uint64_t base = DefaultBuildProfile(KernelVersion::k6_18).bloom;
  struct Case {
    uint32_t entries;
    uint64_t hashes;
    uint64_t bitset_bytes;
  } cases[] = {
      {1, 0, 8},       // 5 * 7 / 5 = 7 bits -> 64
      {100, 0, 128},   // 500 / 5 * 7 = 700 -> 1024 bits
      {100, 3, 64},    // 300 / 5 * 7 = 420 -> 512 bits
      {1000, 1, 256},  // 1000 / 5 * 7 = 1400 -> 2048 bits
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.entries);
    const int fd = MapCreate(Bloom(4, c.entries, c.hashes));
    ASSERT_GE(fd, 0);
    EXPECT_EQ(Memlock(fd), base + c.bitset_bytes);
    CloseFd(fd);
  }
}

TEST(BloomFilterMapTest, LargeFiltersRoundUpToAPowerOfTwo) {
  // 2^21 entries, one hash: 2^21 / 5 * 7 = 2,936,012 bits -> 2^22 bits
  // (512 KiB). The overflow case (2^32 bits, 512 MiB) is not allocated here.
  ScopedKernelVersion v(KernelVersion::k6_18);
  const uint64_t base = DefaultBuildProfile(KernelVersion::k6_18).bloom;
  const int fd = MapCreate(Bloom(4, 1u << 21, 1));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Memlock(fd), base + (uint64_t{1} << 22) / 8);
  CloseFd(fd);
}

TEST(BloomFilterMapTest, PushedValuesAreFoundFromBothFaces) {
  const int fd = MapCreate(Bloom(8, 128));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  ASSERT_NE(map, nullptr);
  for (uint64_t v = 0; v < 128; ++v) {
    ASSERT_EQ(MapUpdateElem(fd, nullptr, &v, BPF_ANY), 0);
  }
  for (uint64_t v = 0; v < 128; ++v) {
    uint64_t probe = v;
    EXPECT_EQ(MapLookupElem(fd, nullptr, &probe, 0), 0);
    EXPECT_EQ(probe, v);  // the buffer is input only
    EXPECT_EQ(map->PeekElem(&probe), 0);
  }
  uint64_t other = 1u << 30;
  EXPECT_EQ(map->PushElem(&other, BPF_ANY), 0);
  EXPECT_EQ(MapLookupElem(fd, nullptr, &other, 0), 0);
  EXPECT_EQ(map->PushElem(&other, BPF_EXIST), -EINVAL);
  EXPECT_EQ(map->PopElem(&other), -EOPNOTSUPP);
  EXPECT_EQ(map->LookupElemProg(nullptr), nullptr);
  EXPECT_EQ(map->UpdateElemProg(nullptr, &other, BPF_ANY), -EINVAL);
  CloseFd(fd);
}

// The random seed differs per map; BPF_F_ZERO_SEED makes it 0.
TEST(BloomFilterMapTest, SeedIsRandomUnlessZeroSeed) {
  bool differs = false;
  for (int i = 0; i < 4 && !differs; ++i) {
    const int a = MapCreate(Bloom(4, 8, 1)), b = MapCreate(Bloom(4, 8, 1));
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    std::shared_ptr<Map> ma = MapFromFd(a), mb = MapFromFd(b);
    ASSERT_NE(ma, nullptr);
    ASSERT_NE(mb, nullptr);
    differs = ma->header().seed != mb->header().seed;
    CloseFd(a);
    CloseFd(b);
  }
  EXPECT_TRUE(differs);
  const int z = MapCreate(Bloom(4, 8, 1, BPF_F_ZERO_SEED));
  std::shared_ptr<Map> mz = MapFromFd(z);
  ASSERT_NE(mz, nullptr);
  EXPECT_EQ(mz->header().seed, 0u);
  CloseFd(z);
}

// 6.1 charged bpf_map_memory_footprint(): max_entries slots of the value
// rounded to 8, page-rounded.
TEST(BloomFilterMapTest, MemlockOn61IsTheFootprint) {
  ScopedKernelVersion v(KernelVersion::k6_1);
  const int fd = MapCreate(Bloom(4, 100));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Memlock(fd), 4096u);
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu
