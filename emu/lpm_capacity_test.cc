// SPDX-License-Identifier: Apache-2.0
// The LPM trie's capacity at the pool cap, filled for real: max_entries
// 4,000,000 with /32 keys and u64 values takes all 4,000,000 prefixes, as
// the kernel does (trie_update_elem allocates a node per update) and as
// bpfemu did before its links grew to 64 bits (review finding: 3,355,443
// entries, then ENOMEM). The pool of 8,000,000 40-byte nodes is 320 MiB of
// region, of which the fill backs about half: a target of its own (7.6 s in
// fastbuild), while emu/lpm_trie_test.cc PoolCapCountsNodesOfTheOldHeader
// pins the same rule from the geometry.
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>

#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

struct Key4 {
  uint32_t prefixlen;
  uint8_t data[4];
};

TEST(LpmCapacity, FourMillionHostPrefixesFit) {
  constexpr uint32_t kEntries = 4'000'000;
  const MapAttr attr{.map_type = BPF_MAP_TYPE_LPM_TRIE,
                     .key_size = 8,
                     .value_size = 8,
                     .max_entries = kEntries,
                     .map_flags = BPF_F_NO_PREALLOC};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  for (uint32_t n = 0; n < kEntries; ++n) {
    Key4 k{32,
           {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
            static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}};
    const uint64_t v = n;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_NOEXIST), 0) << n;
  }
  // Full: one more prefix is the kernel's ENOSPC, not ENOMEM.
  Key4 extra{32, {0xff, 0xff, 0xff, 0xff}};
  const uint64_t v = 0;
  EXPECT_EQ(MapUpdateElem(fd, &extra, &v, BPF_NOEXIST), -ENOSPC);
  Key4 q{32, {0, 0x3d, 0x08, 0xff}};  // the last one stored, 3,999,999
  uint64_t got = 0;
  ASSERT_EQ(MapLookupElem(fd, &q, &got), 0);
  EXPECT_EQ(got, 3'999'999u);
  EXPECT_EQ(CloseFd(fd), 0);
}

}  // namespace
}  // namespace bpfemu
