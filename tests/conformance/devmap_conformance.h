// SPDX-License-Identifier: Apache-2.0
// File: devmap_conformance.h
//
// DevmapConformance: BPF_MAP_TYPE_DEVMAP, DEVMAP_HASH (kernel/bpf/devmap.c)
// and CPUMAP (kernel/bpf/cpumap.c) through the syscall: creation checks,
// the update rules (devices are lo, ifindex 1, which both backends have),
// lookups, deletes and get_next_key order; every value was measured on
// 6.18. Program fds in values are covered by emu/devmap_test.cc (the
// backends load no XDP_DEVMAP programs); here only fds that are not
// programs.

#ifndef BPFEMU_TESTS_CONFORMANCE_DEVMAP_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_DEVMAP_CONFORMANCE_H_

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

// struct bpf_devmap_val / bpf_cpumap_val.
struct DevmapVal {
  uint32_t first;  // ifindex or qsize
  uint32_t prog;   // fd in, id out
};

template <class B>
class DevmapConformance : public ConformanceTest<B> {
 protected:
  int Put(int fd, uint32_t key, DevmapVal v, uint64_t flags = BPF_ANY) {
    return this->b().Update(fd, &key, &v, flags);
  }
  int Get(int fd, uint32_t key, DevmapVal* v) {
    *v = DevmapVal{0xdead, 0xbeef};
    return this->b().Lookup(fd, &key, v, 0);
  }
  int Del(int fd, uint32_t key) { return this->b().Delete(fd, &key); }
  std::vector<uint32_t> Order(int fd) {
    return this->template Keys<uint32_t>(fd);
  }
};
TYPED_TEST_SUITE_P(DevmapConformance);

// dev_map_alloc_check and cpu_map_alloc; dev_map_init_map's
// BPF_F_RDONLY_PROG.
TYPED_TEST_P(DevmapConformance, CreateChecks) {
  for (uint32_t t :
       {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_CPUMAP}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(this->Create(Attr(t, 4, 4, 0)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(t, 8, 4, 1)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(t, 4, 0, 1)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(t, 4, 12, 1)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(t, 4, 4, 1, BPF_F_RDONLY_PROG)), -EINVAL);
    EXPECT_EQ(this->Create(Attr(t, 4, 4, 1, BPF_F_NO_PREALLOC)), -EINVAL);
    EXPECT_GE(this->Create(Attr(t, 4, 4, 1, BPF_F_NUMA_NODE)), 0);
    const int fd = this->MustCreate(Attr(t, 4, 8, 2));
    MapInfo info{};
    ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
    EXPECT_EQ(info.type, t);
    EXPECT_EQ(info.map_flags,
              t == BPF_MAP_TYPE_CPUMAP ? 0u : uint32_t{BPF_F_RDONLY_PROG});
  }
  EXPECT_GE(this->Create(Attr(BPF_MAP_TYPE_DEVMAP, 4, 4, 1, BPF_F_RDONLY)), 0);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_CPUMAP, 4, 4, 1, BPF_F_RDONLY)),
            -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, (1u << 31) + 1)),
            -EINVAL);
  // NR_CPUS bounds a CPU map (this machine's 6.18: 256).
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_CPUMAP, 4, 4, 8193)), -E2BIG);
}

// __dev_map_update_elem, dev_map_lookup_elem, dev_map_delete_elem.
TYPED_TEST_P(DevmapConformance, ArrayRules) {
  const int fd = this->MustCreate(Attr(BPF_MAP_TYPE_DEVMAP, 4, 8, 4));
  const int other = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
  EXPECT_EQ(this->Put(fd, 0, {1, 0}, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(this->Put(fd, 0, {1, 0}, 3), -EINVAL);
  EXPECT_EQ(this->Put(fd, 4, {1, 0}), -E2BIG);
  EXPECT_EQ(this->Put(fd, 0, {1, 0}, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(fd, 0, {0x7fffff00, 0}), -EINVAL);  // no such device
  EXPECT_EQ(this->Put(fd, 0, {0, 5}), -EINVAL);
  EXPECT_EQ(this->Put(fd, 0, {1, static_cast<uint32_t>(other)}), -EINVAL);
  EXPECT_EQ(this->Put(fd, 0, {1, 0x7ffffff0}), -EINVAL);  // not open
  DevmapVal v;
  EXPECT_EQ(this->Get(fd, 0, &v), -ENOENT);
  EXPECT_EQ(this->Put(fd, 0, {1, 0}, BPF_EXIST), 0);
  EXPECT_EQ(this->Put(fd, 2, {1, 0xffffffffu}), 0);  // fd < 0: no program
  ASSERT_EQ(this->Get(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 1u);
  EXPECT_EQ(v.prog, 0u);
  ASSERT_EQ(this->Get(fd, 2, &v), 0);
  EXPECT_EQ(v.prog, 0u);
  EXPECT_EQ(this->Put(fd, 0, {0, 0}), 0);  // ifindex 0 clears
  EXPECT_EQ(this->Get(fd, 0, &v), -ENOENT);
  EXPECT_EQ(this->Del(fd, 4), -EINVAL);
  EXPECT_EQ(this->Del(fd, 1), 0);  // empty
  EXPECT_EQ(this->Del(fd, 2), 0);
  EXPECT_EQ(this->Get(fd, 2, &v), -ENOENT);
  EXPECT_EQ(this->Order(fd), (std::vector<uint32_t>{0, 1, 2, 3}));
  uint32_t k = 99, next = 7;
  ASSERT_EQ(this->b().GetNextKey(fd, &k, &next), 0);
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -kENOTSUPP);
  // A 4-byte value is the ifindex alone.
  const int small = this->MustCreate(Attr(BPF_MAP_TYPE_DEVMAP, 4, 4, 2));
  const uint32_t key = 1, lo = 1;
  ASSERT_EQ(this->b().Update(small, &key, &lo, 0), 0);
  uint32_t out = 0;
  ASSERT_EQ(this->b().Lookup(small, &key, &out, 0), 0);
  EXPECT_EQ(out, 1u);
}

// __dev_map_hash_update_elem, dev_map_hash_delete_elem and the bucket
// order of dev_map_hash_get_next_key.
TYPED_TEST_P(DevmapConformance, HashRules) {
  const int fd = this->MustCreate(Attr(BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 4));
  EXPECT_EQ(this->Put(fd, 6, {0, 0}), -EINVAL);
  EXPECT_EQ(this->Put(fd, 6, {1, 0}, 3), -EINVAL);
  EXPECT_EQ(this->Put(fd, 6, {0x7fffff00, 0}), -EINVAL);
  EXPECT_EQ(this->Put(fd, 6, {1, 0x7ffffff0}), -EINVAL);
  EXPECT_EQ(this->Put(fd, 6, {1, 0}, BPF_EXIST), 0);  // not checked
  EXPECT_EQ(this->Put(fd, 6, {1, 0}, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(fd, 2, {1, 0}), 0);
  EXPECT_EQ(this->Put(fd, 10, {1, 0}), 0);
  EXPECT_EQ(this->Put(fd, 13, {1, 0}), 0);
  EXPECT_EQ(this->Put(fd, 5, {1, 0}), -E2BIG);
  // Buckets in order, each from its head: 13 in bucket 1; 10, 2, 6 in 2.
  EXPECT_EQ(this->Order(fd), (std::vector<uint32_t>{13, 10, 2, 6}));
  EXPECT_EQ(this->Put(fd, 6, {1, 0}), 0);  // a replaced entry moves first
  EXPECT_EQ(this->Order(fd), (std::vector<uint32_t>{13, 6, 10, 2}));
  uint32_t k = 1234, next = 0;
  ASSERT_EQ(this->b().GetNextKey(fd, &k, &next), 0);
  EXPECT_EQ(next, 13u);
  DevmapVal v;
  ASSERT_EQ(this->Get(fd, 10, &v), 0);
  EXPECT_EQ(v.first, 1u);
  EXPECT_EQ(v.prog, 0u);
  EXPECT_EQ(this->Del(fd, 77), -ENOENT);
  EXPECT_EQ(this->Del(fd, 10), 0);
  EXPECT_EQ(this->Get(fd, 10, &v), -ENOENT);
  EXPECT_EQ(this->Put(fd, 5, {1, 0}), 0);
  EXPECT_EQ(this->Order(fd), (std::vector<uint32_t>{5, 13, 6, 2}));
  EXPECT_EQ(this->b().LookupAndDelete(fd, &k, &v, 0), -kENOTSUPP);
}

// cpu_map_update_elem, cpu_map_lookup_elem, cpu_map_delete_elem.
TYPED_TEST_P(DevmapConformance, CpumapRules) {
  const uint32_t ncpus = static_cast<uint32_t>(this->b().NumPossibleCpus());
  const int fd = this->MustCreate(Attr(BPF_MAP_TYPE_CPUMAP, 4, 8, ncpus + 1));
  const int other = this->MustCreate(Attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
  EXPECT_EQ(this->Put(fd, 0, {16, 0}, 3), -EINVAL);
  EXPECT_EQ(this->Put(fd, ncpus + 1, {16, 0}), -E2BIG);
  EXPECT_EQ(this->Put(fd, 0, {16, 0}, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(fd, 0, {16385, 0}), -EOVERFLOW);
  EXPECT_EQ(this->Put(fd, ncpus, {16, 0}), -ENODEV);
  EXPECT_EQ(this->Put(fd, 0, {16, 0x7ffffff0}), -ENOMEM);
  EXPECT_EQ(this->Put(fd, 0, {16, static_cast<uint32_t>(other)}), -ENOMEM);
  DevmapVal v;
  EXPECT_EQ(this->Get(fd, 0, &v), -ENOENT);
  EXPECT_EQ(this->Put(fd, 0, {16, 0xffffffffu}), 0);
  ASSERT_EQ(this->Get(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 16u);
  EXPECT_EQ(v.prog, 0u);
  EXPECT_EQ(this->Put(fd, 0, {0, 0}), 0);  // qsize 0: as delete
  EXPECT_EQ(this->Get(fd, 0, &v), -ENOENT);
  EXPECT_EQ(this->Put(fd, 0, {8, 0}, BPF_EXIST), 0);
  EXPECT_EQ(this->Del(fd, ncpus + 1), -EINVAL);
  EXPECT_EQ(this->Del(fd, ncpus), 0);
  EXPECT_EQ(this->Del(fd, 0), 0);
  EXPECT_EQ(this->Get(fd, 0, &v), -ENOENT);
  EXPECT_EQ(this->Order(fd).size(), ncpus + 1);
  EXPECT_EQ(this->b().LookupAndDelete(fd, &v, &v, 0), -kENOTSUPP);
}

REGISTER_TYPED_TEST_SUITE_P(DevmapConformance, CreateChecks, ArrayRules,
                            HashRules, CpumapRules);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_DEVMAP_CONFORMANCE_H_
