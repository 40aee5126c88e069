// SPDX-License-Identifier: Apache-2.0
// File: map_in_map_batch_conformance.h
//
// MapInMapBatchConformance: the batch commands on HASH_OF_MAPS
// (htab_of_maps_map_ops: BATCH_OPS(htab), kernel/bpf/hashtab.c) and
// ARRAY_OF_MAPS (array_of_maps_map_ops: generic_map_lookup_batch and
// generic_map_update_batch only, kernel/bpf/arraymap.c). Update batches take
// inner map fds, each resolved and checked against the inner template as a
// single update (bpf_map_update_value -> bpf_fd_*_map_update_elem ->
// bpf_map_fd_get_ptr, kernel/bpf/map_in_map.c); lookup batches give inner map
// ids (map_fd_sys_lookup_elem), which BPF_MAP_GET_FD_BY_ID turns back into
// fds. Deleting a slot puts its inner map: with no fd left it is gone.
// Every expectation was measured on Linux 6.18 (docs/semantics.md).

#ifndef BPFEMU_TESTS_CONFORMANCE_MAP_IN_MAP_BATCH_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_MAP_IN_MAP_BATCH_CONFORMANCE_H_

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class MapInMapBatchConformance : public ConformanceTest<B> {
 protected:
  // An ARRAY u32 -> u32 of one entry: the inner template and its siblings.
  int Inner(uint32_t value_size = 4) {
    return this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, value_size, 1));
  }
  // An outer map of 8 entries over Inner()'s template.
  int Outer(uint32_t type) {
    MapAttr a = Attr(type, 4, 4, 8,
                     type == BPF_MAP_TYPE_HASH_OF_MAPS ? BPF_F_ZERO_SEED : 0);
    a.inner_map_fd = static_cast<uint32_t>(Inner());
    return this->MustCreate(a);
  }
  uint32_t Id(int fd) {
    MapInfo info{};
    EXPECT_EQ(this->b().GetMapInfo(fd, &info), 0);
    return info.id;
  }
  // The outer map's contents through one lookup batch: key -> inner id.
  std::map<uint32_t, uint32_t> Slots(int fd) {
    uint32_t keys[16], values[16], out, n = 16;
    const int ret =
        this->b().LookupBatch(fd, nullptr, &out, keys, values, &n, 0, 0);
    EXPECT_EQ(ret, -ENOENT);
    std::map<uint32_t, uint32_t> slots;
    for (uint32_t i = 0; i < n && ret == -ENOENT; ++i) {
      slots[keys[i]] = values[i];
    }
    return slots;
  }
  // Whether BPF_MAP_GET_FD_BY_ID finds map `id` (the fd it gives is closed).
  bool Alive(uint32_t id) {
    const int fd = this->b().GetFdById(id, 0);
    if (fd >= 0) {
      EXPECT_EQ(Id(fd), id);
      this->b().Close(fd);
      return true;
    }
    EXPECT_EQ(fd, -ENOENT);
    return false;
  }
  // The kernel frees a map whose last reference went after an RCU grace
  // period: wait up to 5 s for `id` to disappear.
  bool EventuallyGone(uint32_t id) {
    for (int i = 0; i < 500; ++i) {
      if (!Alive(id)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};
TYPED_TEST_SUITE_P(MapInMapBatchConformance);

constexpr uint32_t kMapInMapTypes[] = {BPF_MAP_TYPE_HASH_OF_MAPS,
                                       BPF_MAP_TYPE_ARRAY_OF_MAPS};

// Fds in, ids out: update_batch stores each fd's map, a lookup batch returns
// the ids, and get_fd_by_id opens the very maps.
TYPED_TEST_P(MapInMapBatchConformance, UpdateFdsLookupIds) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    int outer = this->Outer(type);
    uint32_t keys[3] = {0, 1, 2}, fds[3], ids[3];
    for (int i = 0; i < 3; ++i) {
      fds[i] = static_cast<uint32_t>(this->Inner());
      ids[i] = this->Id(static_cast<int>(fds[i]));
    }
    uint32_t n = 3;
    ASSERT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), 0);
    EXPECT_EQ(n, 3u);
    uint32_t v = 0;
    EXPECT_EQ(this->Lookup(outer, 1u, &v), 0);
    EXPECT_EQ(v, ids[1]);
    EXPECT_EQ(this->Slots(outer), (std::map<uint32_t, uint32_t>{
                                      {0, ids[0]}, {1, ids[1]}, {2, ids[2]}}));
    for (uint32_t id : ids) EXPECT_TRUE(this->Alive(id));
  }
}

// The cursors: the hash walker's bucket index (n_buckets = 8 at the end),
// the generic walker's last key (max_entries - 1 at the end); empty array
// slots are skipped. An array cursor out of range restarts at index 0.
TYPED_TEST_P(MapInMapBatchConformance, CountsAndCursors) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    const bool hash = type == BPF_MAP_TYPE_HASH_OF_MAPS;
    int outer = this->Outer(type);
    uint32_t keys[3] = {0, 1, 2}, fds[3];
    for (uint32_t& fd : fds) fd = static_cast<uint32_t>(this->Inner());
    uint32_t n = 3;
    ASSERT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), 0);
    uint32_t k[8], v[8], out = 0xdddd;
    n = 1;
    EXPECT_EQ(this->b().LookupBatch(outer, nullptr, &out, k, v, &n, 0, 0), 0);
    EXPECT_EQ(n, 1u);
    // Under ZERO_SEED key 0 is alone in bucket 1, the first one used.
    EXPECT_EQ(out, hash ? 2u : 0u);
    EXPECT_EQ(k[0], 0u);
    n = 8;
    EXPECT_EQ(this->b().LookupBatch(outer, &out, &out, k, v, &n, 0, 0),
              -ENOENT);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(out, hash ? 8u : 7u);
    // A cursor beyond the table.
    uint32_t in = 100;
    out = 0xdddd;
    n = 8;
    EXPECT_EQ(this->b().LookupBatch(outer, &in, &out, k, v, &n, 0, 0), -ENOENT);
    EXPECT_EQ(n, hash ? 0u : 3u);
    EXPECT_EQ(out, hash ? 0xddddu : 7u);
    // batch.flags: only the hash walker checks it.
    n = 8;
    EXPECT_EQ(this->b().LookupBatch(outer, nullptr, &out, k, v, &n, 0, 1),
              hash ? -EINVAL : -ENOENT);
    EXPECT_EQ(n, hash ? 8u : 3u);
  }
}

// A bad fd in the middle of an update batch stops it there: count is the
// number of elements stored, the rest are untouched, and the inner maps
// after the bad one are not referenced.
TYPED_TEST_P(MapInMapBatchConformance, BadFdMidBatch) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    int outer = this->Outer(type);
    int first = this->Inner(), last = this->Inner();
    const int not_map = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(not_map, 0);
    int bad_value = this->Inner(8);  // value_size differs from the template
    // Closed last, so that no later open reuses the number.
    int closed = this->Inner();
    this->CloseNow(closed);
    struct Case {
      int bad_fd;
      int err;
    } cases[] = {{closed, -EBADF},
                 {not_map, -EINVAL},
                 {bad_value, -EINVAL},
                 {outer, -EINVAL}};
    for (const Case& c : cases) {
      SCOPED_TRACE(c.bad_fd);
      uint32_t keys[3] = {3, 4, 5};
      uint32_t fds[3] = {static_cast<uint32_t>(first),
                         static_cast<uint32_t>(c.bad_fd),
                         static_cast<uint32_t>(last)};
      uint32_t n = 3;
      EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), c.err);
      EXPECT_EQ(n, 1u);
      uint32_t v = 0;
      EXPECT_EQ(this->Lookup(outer, 3u, &v), 0);
      EXPECT_EQ(v, this->Id(first));
      EXPECT_EQ(this->Lookup(outer, 4u, &v), -ENOENT);
      EXPECT_EQ(this->Lookup(outer, 5u, &v), -ENOENT);
    }
    close(not_map);
    // A bad fd first: nothing stored.
    uint32_t key = 6, fd = static_cast<uint32_t>(bad_value), n = 1;
    EXPECT_EQ(this->b().UpdateBatch(outer, &key, &fd, &n, 0, 0), -EINVAL);
    EXPECT_EQ(n, 0u);
    // The inner map after the bad fd was never referenced: without its fd
    // it is gone.
    const uint32_t last_id = this->Id(last);
    this->CloseNow(last);
    EXPECT_TRUE(this->EventuallyGone(last_id));
  }
}

// elem_flags may only be BPF_F_LOCK, which needs a spin lock: NOEXIST is
// EINVAL with count untouched; batch.flags is not checked by the generic
// update; count 0 does nothing. An array index out of range is E2BIG.
TYPED_TEST_P(MapInMapBatchConformance, UpdateFlags) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    int outer = this->Outer(type);
    uint32_t keys[2] = {1, 100};
    uint32_t fds[2] = {static_cast<uint32_t>(this->Inner()),
                       static_cast<uint32_t>(this->Inner())};
    uint32_t n = 1;
    EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, BPF_NOEXIST, 0),
              -EINVAL);
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, BPF_F_LOCK, 0),
              -EINVAL);
    EXPECT_EQ(n, 1u);
    n = 0;
    EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), 0);
    EXPECT_EQ(n, 0u);
    n = 1;
    EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 1), 0);
    EXPECT_EQ(n, 1u);
    n = 2;
    EXPECT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0),
              type == BPF_MAP_TYPE_ARRAY_OF_MAPS ? -E2BIG : 0);
    EXPECT_EQ(n, type == BPF_MAP_TYPE_ARRAY_OF_MAPS ? 1u : 2u);
  }
}

// Replacing a slot through an update batch puts the old inner map; a map
// only a slot holds stays reachable by id until then.
TYPED_TEST_P(MapInMapBatchConformance, ReplacePutsOldInner) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    int outer = this->Outer(type);
    int old_inner = this->Inner(), new_inner = this->Inner();
    const uint32_t old_id = this->Id(old_inner);
    const uint32_t new_id = this->Id(new_inner);
    uint32_t key = 2, fd = static_cast<uint32_t>(old_inner), n = 1;
    ASSERT_EQ(this->b().UpdateBatch(outer, &key, &fd, &n, 0, 0), 0);
    this->CloseNow(old_inner);
    EXPECT_TRUE(this->Alive(old_id));  // the slot holds it
    EXPECT_EQ(this->Slots(outer), (std::map<uint32_t, uint32_t>{{2, old_id}}));
    fd = static_cast<uint32_t>(new_inner);
    ASSERT_EQ(this->b().UpdateBatch(outer, &key, &fd, &n, 0, 0), 0);
    EXPECT_EQ(this->Slots(outer), (std::map<uint32_t, uint32_t>{{2, new_id}}));
    EXPECT_TRUE(this->EventuallyGone(old_id));
    this->CloseNow(new_inner);
    EXPECT_TRUE(this->Alive(new_id));
  }
}

// HASH_OF_MAPS delete_batch deletes element by element (a missing key stops
// it, count = deleted) and puts each inner map; ARRAY_OF_MAPS has no delete
// batch: ENOTSUPP with count untouched, nothing deleted.
TYPED_TEST_P(MapInMapBatchConformance, DeleteBatch) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    const bool hash = type == BPF_MAP_TYPE_HASH_OF_MAPS;
    int outer = this->Outer(type);
    uint32_t keys[3] = {1, 2, 3}, fds[3], ids[3];
    for (int i = 0; i < 3; ++i) {
      const int fd = this->Inner();
      fds[i] = static_cast<uint32_t>(fd);
      ids[i] = this->Id(fd);
    }
    uint32_t n = 3;
    ASSERT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), 0);
    for (uint32_t fd : fds) this->CloseNow(static_cast<int>(fd));
    uint32_t del[3] = {1, 7, 2};
    n = 3;
    EXPECT_EQ(this->b().DeleteBatch(outer, del, &n, 0, 0),
              hash ? -ENOENT : -kENOTSUPP);
    EXPECT_EQ(n, hash ? 1u : 3u);
    n = 0;
    EXPECT_EQ(this->b().DeleteBatch(outer, del, &n, 0, 0),
              hash ? 0 : -kENOTSUPP);
    if (hash) {
      EXPECT_EQ(this->Slots(outer),
                (std::map<uint32_t, uint32_t>{{2, ids[1]}, {3, ids[2]}}));
      EXPECT_TRUE(this->EventuallyGone(ids[0]));
    } else {
      EXPECT_EQ(this->Slots(outer).size(), 3u);
      EXPECT_TRUE(this->Alive(ids[0]));
    }
    // The others are still held by their slots.
    EXPECT_TRUE(this->Alive(ids[1]));
    EXPECT_TRUE(this->Alive(ids[2]));
  }
}

// HASH_OF_MAPS lookup_and_delete_batch returns keys and inner ids, empties
// the map and puts every inner map; ARRAY_OF_MAPS: ENOTSUPP.
TYPED_TEST_P(MapInMapBatchConformance, LookupAndDeleteBatch) {
  for (uint32_t type : kMapInMapTypes) {
    SCOPED_TRACE(type);
    const bool hash = type == BPF_MAP_TYPE_HASH_OF_MAPS;
    int outer = this->Outer(type);
    uint32_t keys[4] = {0, 3, 5, 6}, fds[4];
    std::map<uint32_t, uint32_t> want;
    for (int i = 0; i < 4; ++i) {
      const int fd = this->Inner();
      fds[i] = static_cast<uint32_t>(fd);
      want[keys[i]] = this->Id(fd);
    }
    uint32_t n = 4;
    ASSERT_EQ(this->b().UpdateBatch(outer, keys, fds, &n, 0, 0), 0);
    // One inner map keeps its fd open, the others only have their slots.
    for (int i = 1; i < 4; ++i) this->CloseNow(static_cast<int>(fds[i]));
    uint32_t k[8], v[8], out = 0xdddd;
    n = 8;
    const int ret =
        this->b().LookupAndDeleteBatch(outer, nullptr, &out, k, v, &n, 0, 0);
    if (!hash) {
      EXPECT_EQ(ret, -kENOTSUPP);
      EXPECT_EQ(n, 8u);
      EXPECT_EQ(this->Slots(outer), want);
      continue;
    }
    EXPECT_EQ(ret, -ENOENT);
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(out, 8u);
    std::map<uint32_t, uint32_t> got;
    for (uint32_t i = 0; i < n; ++i) got[k[i]] = v[i];
    EXPECT_EQ(got, want);
    uint32_t next;
    EXPECT_EQ(this->b().GetNextKey(outer, nullptr, &next), -ENOENT);
    EXPECT_TRUE(this->Alive(want[0]));  // its fd is still open
    for (uint32_t key : {3u, 5u, 6u}) {
      EXPECT_TRUE(this->EventuallyGone(want[key])) << key;
    }
    // batch.flags and count 0 on the emptied map.
    n = 8;
    EXPECT_EQ(
        this->b().LookupAndDeleteBatch(outer, nullptr, &out, k, v, &n, 0, 1),
        -EINVAL);
    n = 0;
    EXPECT_EQ(
        this->b().LookupAndDeleteBatch(outer, nullptr, &out, k, v, &n, 0, 0),
        0);
    EXPECT_EQ(n, 0u);
  }
}

REGISTER_TYPED_TEST_SUITE_P(MapInMapBatchConformance, UpdateFdsLookupIds,
                            CountsAndCursors, BadFdMidBatch, UpdateFlags,
                            ReplacePutsOldInner, DeleteBatch,
                            LookupAndDeleteBatch);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_MAP_IN_MAP_BATCH_CONFORMANCE_H_
