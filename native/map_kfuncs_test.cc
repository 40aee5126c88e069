// SPDX-License-Identifier: Apache-2.0
// The native face of bpf_map_sum_elem_count (map_kfuncs.cc), called as a
// natively built program calls it with `&map_def`: a hash table's live
// elements (the interpreter's binding gives the same: map_iter.bpf.c's
// `counted`, compared with 6.18 in map_iter_compare_test), 0 for an array.

#include <linux/bpf.h>
#include <linux/types.h>

#include <cstdint>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "native/bound_map.h"

extern "C" __s64 bpf_map_sum_elem_count(const void* map);

namespace bpfemu::native {
namespace {

TEST(MapKfuncsTest, SumElemCountOfAMapDefinition) {
  MapAttr h;
  h.map_type = BPF_MAP_TYPE_HASH;
  h.key_size = 4;
  h.value_size = 4;
  h.max_entries = 8;
  const int hash = MapCreate(h);
  ASSERT_GE(hash, 0);
  MapAttr a = h;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  const int array = MapCreate(a);
  ASSERT_GE(array, 0);
  auto bound_hash = internal::MakeBound("hash", hash, MapFromFd(hash));
  auto bound_array = internal::MakeBound("array", array, MapFromFd(array));
  EXPECT_EQ(bpf_map_sum_elem_count(&bound_hash->cell), 0);
  for (uint32_t k = 0; k < 5; ++k) {
    ASSERT_EQ(MapUpdateElem(hash, &k, &k, BPF_ANY), 0);
  }
  const uint32_t gone = 2;
  ASSERT_EQ(MapDeleteElem(hash, &gone), 0);
  EXPECT_EQ(bpf_map_sum_elem_count(&bound_hash->cell), 4);
  // Arrays keep no element counter.
  EXPECT_EQ(bpf_map_sum_elem_count(&bound_array->cell), 0);
  EXPECT_EQ(bpf_map_sum_elem_count(nullptr), 0);
  EXPECT_EQ(CloseFd(hash), 0);
  EXPECT_EQ(CloseFd(array), 0);
}

}  // namespace
}  // namespace bpfemu::native
