// SPDX-License-Identifier: Apache-2.0
// Unit tests of ArrayMap's layout. Semantics shared with the kernel are
// covered on both backends by tests/conformance.
#include "emu/array_map.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

TEST(ArrayMap, ElementsAreEightByteSlotsOnAPageBoundary) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 5,
               .max_entries = 10};
  int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  auto map = std::dynamic_pointer_cast<ArrayMap>(MapFromFd(fd));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(map->ValueAt(0)) % 4096, 0u);
  EXPECT_EQ(map->ValueAt(1) - map->ValueAt(0), 8);
  uint32_t k = 1;
  const uint8_t v[5] = {1, 2, 3, 4, 5};
  ASSERT_EQ(MapUpdateElem(fd, &k, v, BPF_ANY), 0);
  EXPECT_EQ(std::memcmp(map->ValueAt(1), v, 5), 0);
  // Padding written behind the map's back is not returned by lookup, and an
  // update leaves it alone (copy_map_value copies value_size bytes).
  map->ValueAt(1)[6] = 0x77;
  uint8_t out[8] = {};
  ASSERT_EQ(MapLookupElem(fd, &k, out), 0);
  EXPECT_EQ(out[5], 0);
  ASSERT_EQ(MapUpdateElem(fd, &k, v, BPF_ANY), 0);
  EXPECT_EQ(map->ValueAt(1)[6], 0x77);
  CloseFd(fd);
}

// A BPF_F_MMAPABLE array's region ends on a page boundary, so the whole
// last page of values can be mapped (array_map_mmap maps whole pages), and
// the mapping starts at element 0. MemUsage is the kernel's formula, not the
// region's size.
TEST(ArrayMap, MmapableRegionIsPageRounded) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 12,
               .max_entries = 300,
               .map_flags = BPF_F_MMAPABLE};
  int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  auto map = std::dynamic_pointer_cast<ArrayMap>(MapFromFd(fd));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->values_offset() % 4096, 0u);
  EXPECT_EQ(map->header().region_size % 4096, 0u);
  EXPECT_EQ(map->header().region_size, map->values_offset() + 2 * 4096);
  const BuildProfile build = BuildProfileFor(map->kernel_version());
  EXPECT_EQ(map->Memlock(), ArrayMemUsage(build, 300, 16, false, true, 1));
  int err = 0;
  auto* m = static_cast<uint8_t*>(
      MapMmap(fd, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(m, nullptr) << err;
  m[16 * 299] = 9;      // the last element
  m[2 * 4096 - 1] = 1;  // beyond it, still in the mapped page
  EXPECT_EQ(map->ValueAt(299)[0], 9);
  munmap(m, 2 * 4096);
  CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu
