// SPDX-License-Identifier: Apache-2.0
// Inner map references of HASH_OF_MAPS / ARRAY_OF_MAPS (map_in_map.h) stay
// balanced through every element and batch command: one reference per slot,
// none leaked by a failed update, none dropped early. The conformance suite
// (tests/conformance/map_in_map_batch_conformance.h) checks what is
// observable on the kernel too; this counts the references themselves.

#include "emu/map_in_map.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>

#include "emu/errno.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int Create(uint32_t type, uint32_t value_size, int inner_fd = 0) {
  MapAttr a{.map_type = type,
            .key_size = 4,
            .value_size = value_size,
            .max_entries = type == BPF_MAP_TYPE_ARRAY ? 1u : 8u};
  a.inner_map_fd = static_cast<uint32_t>(inner_fd);
  return MapCreate(a);
}

uint32_t Id(int fd) { return MapFromFd(fd)->id(); }

class MapInMapRefsTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MapInMapRefsTest, BatchOpsKeepReferencesBalanced) {
  const uint32_t type = GetParam();
  const bool hash = type == BPF_MAP_TYPE_HASH_OF_MAPS;
  const int tmpl = Create(BPF_MAP_TYPE_ARRAY, 4);
  const int outer = Create(type, 4, tmpl);
  ASSERT_GE(outer, 0);
  int in[4];
  uint32_t ids[4];
  for (int i = 0; i < 4; ++i) {
    in[i] = Create(BPF_MAP_TYPE_ARRAY, 4);
    ids[i] = Id(in[i]);
  }
  const int bad = Create(BPF_MAP_TYPE_ARRAY, 8);

  // Three slots, the same inner map twice: two references.
  uint32_t keys[3] = {0, 1, 2};
  uint32_t fds[3] = {uint32_t(in[0]), uint32_t(in[1]), uint32_t(in[0])};
  uint32_t n = 3;
  ASSERT_EQ(MapUpdateBatch(outer, keys, fds, &n), 0);
  EXPECT_EQ(InnerMapRefCount(ids[0]), 2);
  EXPECT_EQ(InnerMapRefCount(ids[1]), 1);

  // A failed element takes no reference, nor does anything after it.
  uint32_t keys2[3] = {3, 4, 5};
  uint32_t fds2[3] = {uint32_t(in[2]), uint32_t(bad), uint32_t(in[3])};
  n = 3;
  EXPECT_EQ(MapUpdateBatch(outer, keys2, fds2, &n), -EINVAL);
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(InnerMapRefCount(ids[2]), 1);
  EXPECT_EQ(InnerMapRefCount(ids[3]), 0);
  EXPECT_EQ(InnerMapRefCount(Id(bad)), 0);

  // Replacing slot 1 moves its reference.
  uint32_t k = 1, fd = uint32_t(in[3]);
  n = 1;
  ASSERT_EQ(MapUpdateBatch(outer, &k, &fd, &n), 0);
  EXPECT_EQ(InnerMapRefCount(ids[1]), 0);
  EXPECT_EQ(InnerMapRefCount(ids[3]), 1);
  // A failed single update (EEXIST) takes none either.
  if (hash) {
    EXPECT_EQ(MapUpdateElem(outer, &k, &fd, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(InnerMapRefCount(ids[3]), 1);
  }

  // Closing every fd leaves the slot references as the only holders.
  for (int f : in) CloseFd(f);
  EXPECT_NE(MapFromId(ids[0]), nullptr);
  EXPECT_EQ(MapFromId(ids[1]), nullptr);

  if (hash) {
    uint32_t del[2] = {0, 3};
    n = 2;
    EXPECT_EQ(MapDeleteBatch(outer, del, &n), 0);
    EXPECT_EQ(InnerMapRefCount(ids[0]), 1);
    EXPECT_EQ(InnerMapRefCount(ids[2]), 0);
    EXPECT_EQ(MapFromId(ids[2]), nullptr);
    uint32_t ok[8], ov[8], out;
    n = 8;
    EXPECT_EQ(MapLookupAndDeleteBatch(outer, nullptr, &out, ok, ov, &n),
              -ENOENT);
    EXPECT_EQ(n, 2u);  // slot 1 (in[3]) and slot 2 (in[0])
    EXPECT_EQ(InnerMapRefCount(ids[0]), 0);
    EXPECT_EQ(InnerMapRefCount(ids[3]), 0);
    EXPECT_EQ(MapFromId(ids[0]), nullptr);
  } else {
    uint32_t del = 0;
    n = 1;
    EXPECT_EQ(MapDeleteBatch(outer, &del, &n), -kENOTSUPP);
    EXPECT_EQ(InnerMapRefCount(ids[0]), 2);
    // Single deletes put the references.
    for (uint32_t key : {0u, 1u, 2u, 3u}) {
      EXPECT_EQ(MapDeleteElem(outer, &key), 0) << key;
    }
    for (uint32_t id : ids) EXPECT_EQ(InnerMapRefCount(id), 0);
    EXPECT_EQ(MapFromId(ids[0]), nullptr);
  }
  CloseFd(bad);
  CloseFd(outer);
  CloseFd(tmpl);
}

INSTANTIATE_TEST_SUITE_P(Types, MapInMapRefsTest,
                         ::testing::Values(BPF_MAP_TYPE_HASH_OF_MAPS,
                                           BPF_MAP_TYPE_ARRAY_OF_MAPS));

}  // namespace
}  // namespace bpfemu
