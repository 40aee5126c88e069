// SPDX-License-Identifier: Apache-2.0
// The build profile: parsing, and that every family's memlock charge moves
// by exactly what its formula says when one struct size changes, while the
// version decides the formula (6.1 charges no struct at all).

#include "emu/build_profile.h"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "emu/cpu.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

TEST(BuildProfileTest, FormatParsesBackAndPartialSpecsKeepTheBase) {
  const BuildProfile base = DefaultBuildProfile(KernelVersion::k6_18);
  EXPECT_EQ(ParseBuildProfile(FormatBuildProfile(base), BuildProfile{}), base);
  auto p = ParseBuildProfile("htab=896,shtab_elem=56", base);
  ASSERT_TRUE(p.has_value());
  BuildProfile want = base;
  want.htab = 896;
  want.shtab_elem = 56;
  EXPECT_EQ(*p, want);
  EXPECT_EQ(ParseBuildProfile("", base), base);
}

TEST(BuildProfileTest, MalformedSpecsAreRefused) {
  const BuildProfile base = DefaultBuildProfile(KernelVersion::k6_18);
  for (const char* bad :
       {"htab", "htab=", "=8", "htab=8,", "htab=8x", "htab=-8", "htab=0x40",
        "nosuch=8", "htab=99999999999", "htab=2000000", ",htab=8",
        "htab=8,,array=8", "htab =8"}) {
    EXPECT_FALSE(ParseBuildProfile(bad, base).has_value()) << bad;
  }
}

struct Probe {
  uint32_t type, key_size, value_size, max_entries, flags;
};

class ProfileChargeTest : public ::testing::Test {
 protected:
  void SetUp() override { SetNumPossibleCpus(2); }
  void TearDown() override {
    ClearBuildProfile();
    SetTargetKernel(KernelVersion::k6_18);
    SetNumPossibleCpus(-1);
  }

  // The charge of a map created as `p` under `profile`, after `fill`.
  template <typename Fill>
  int64_t Charge(const Probe& p, const BuildProfile& profile, Fill fill) {
    SetBuildProfile(profile);
    MapAttr attr;
    attr.map_type = p.type;
    attr.key_size = p.key_size;
    attr.value_size = p.value_size;
    attr.max_entries = p.max_entries;
    attr.map_flags = p.flags;
    int inner = -1;
    if (p.type == BPF_MAP_TYPE_HASH_OF_MAPS ||
        p.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
      inner = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_ARRAY,
                                .key_size = 4,
                                .value_size = 8,
                                .max_entries = 1});
      EXPECT_GE(inner, 0);
      attr.inner_map_fd = static_cast<uint32_t>(inner);
    }
    const int fd = MapCreate(attr);
    EXPECT_GE(fd, 0) << p.type;
    if (fd < 0) return fd;
    fill(fd);
    const int64_t charge = MapMemlock(fd);
    EXPECT_EQ(CloseFd(fd), 0);
    if (inner >= 0) {
      EXPECT_EQ(CloseFd(inner), 0);
    }
    return charge;
  }
  int64_t Charge(const Probe& p, const BuildProfile& profile) {
    return Charge(p, profile, [](int) {});
  }

  // Charge under `field` += delta minus the charge under the default.
  int64_t Moved(const Probe& p, uint32_t BuildProfile::*field, uint32_t delta) {
    const BuildProfile base = DefaultBuildProfile(TargetKernel());
    BuildProfile moved = base;
    moved.*field += delta;
    return Charge(p, moved) - Charge(p, base);
  }
};

TEST_F(ProfileChargeTest, EveryFamilyMovesByItsFormula) {
  const int64_t ncpus = 2;
  const Probe hash{BPF_MAP_TYPE_HASH, 4, 8, 100, 0};
  const Probe percpu_hash{BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 100, 0};
  const Probe lru{BPF_MAP_TYPE_LRU_HASH, 4, 8, 100, 0};
  const Probe lru_percpu{BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 100, 0};
  const Probe no_prealloc{BPF_MAP_TYPE_HASH, 4, 8, 100, BPF_F_NO_PREALLOC};
  const Probe hash_of_maps{BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 10, 0};
  const Probe array{BPF_MAP_TYPE_ARRAY, 4, 8, 100, 0};
  const Probe percpu_array{BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 100, 0};
  const Probe mmapable{BPF_MAP_TYPE_ARRAY, 4, 8, 100, BPF_F_MMAPABLE};
  const Probe prog_array{BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 100, 0};
  const Probe array_of_maps{BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 10, 0};
  const Probe ringbuf{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0};
  const Probe sockmap{BPF_MAP_TYPE_SOCKMAP, 4, 4, 100, 0};
  const Probe sockhash{BPF_MAP_TYPE_SOCKHASH, 4, 4, 100, 0};

  // struct bpf_htab: once per hash table, never elsewhere.
  for (const Probe& p :
       {hash, percpu_hash, lru, lru_percpu, no_prealloc, hash_of_maps}) {
    EXPECT_EQ(Moved(p, &BuildProfile::htab, 64), 64) << p.type;
  }
  for (const Probe& p : {array, percpu_array, mmapable, prog_array,
                         array_of_maps, ringbuf, sockmap, sockhash}) {
    EXPECT_EQ(Moved(p, &BuildProfile::htab, 64), 0) << p.type;
  }
  // struct htab_elem: per preallocated element; plain hashes preallocate
  // one extra element per CPU, LRU and per-CPU hashes do not; without
  // preallocation, per inserted element (none here).
  EXPECT_EQ(Moved(hash, &BuildProfile::htab_elem, 8), 8 * (100 + ncpus));
  EXPECT_EQ(Moved(hash_of_maps, &BuildProfile::htab_elem, 8), 8 * (10 + ncpus));
  EXPECT_EQ(Moved(percpu_hash, &BuildProfile::htab_elem, 8), 8 * 100);
  EXPECT_EQ(Moved(lru, &BuildProfile::htab_elem, 8), 8 * 100);
  EXPECT_EQ(Moved(lru_percpu, &BuildProfile::htab_elem, 8), 8 * 100);
  EXPECT_EQ(Moved(no_prealloc, &BuildProfile::htab_elem, 8), 0);
  // struct bpf_array: once; an mmapable array rounds it to a page.
  for (const Probe& p : {array, percpu_array, prog_array, array_of_maps}) {
    EXPECT_EQ(Moved(p, &BuildProfile::array, 40), 40) << p.type;
  }
  EXPECT_EQ(Moved(mmapable, &BuildProfile::array, 40), 0);
  EXPECT_EQ(Moved(mmapable, &BuildProfile::array, 4096), 4096);
  for (const Probe& p : {hash, ringbuf, sockmap, sockhash}) {
    EXPECT_EQ(Moved(p, &BuildProfile::array, 40), 0) << p.type;
  }
  EXPECT_EQ(Moved(ringbuf, &BuildProfile::ringbuf_map, 24), 24);
  EXPECT_EQ(Moved(sockmap, &BuildProfile::stab, 24), 24);
  EXPECT_EQ(Moved(sockhash, &BuildProfile::shtab, 24), 24);
  EXPECT_EQ(Moved(sockhash, &BuildProfile::shtab_elem, 8), 0);  // empty
  EXPECT_EQ(Moved(sockmap, &BuildProfile::shtab, 24), 0);
}

TEST_F(ProfileChargeTest, ElementSizesMoveWithEachInsertedElement) {
  const BuildProfile base = DefaultBuildProfile(KernelVersion::k6_18);
  BuildProfile moved = base;
  moved.htab_elem += 8;
  moved.shtab_elem += 16;
  const auto insert3 = [](int fd) {
    for (uint32_t k = 0; k < 3; ++k) {
      const uint64_t v = k;
      ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    }
  };
  const Probe no_prealloc{BPF_MAP_TYPE_HASH, 4, 8, 100, BPF_F_NO_PREALLOC};
  EXPECT_EQ(
      Charge(no_prealloc, moved, insert3) - Charge(no_prealloc, base, insert3),
      8 * 3);
  // A connected AF_UNIX stream socket is accepted by SOCKHASH.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const auto insert_socket = [&](int fd) {
    const uint32_t key = 7, value = static_cast<uint32_t>(sv[0]);
    ASSERT_EQ(MapUpdateElem(fd, &key, &value, BPF_ANY), 0);
  };
  const Probe sockhash{BPF_MAP_TYPE_SOCKHASH, 4, 4, 100, 0};
  EXPECT_EQ(Charge(sockhash, moved, insert_socket) -
                Charge(sockhash, base, insert_socket),
            16);
  close(sv[0]);
  close(sv[1]);
}

TEST_F(ProfileChargeTest, TheHashE2bigBoundMovesWithHtabElem) {
  BuildProfile p = DefaultBuildProfile(KernelVersion::k6_18);
  // key_size + value_size < KMALLOC_MAX_SIZE - sizeof(struct htab_elem).
  const uint32_t kmalloc_max = 1u << 22;
  MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
               .key_size = 4,
               .value_size = kmalloc_max - p.htab_elem - 4,
               .max_entries = 1,
               .map_flags = BPF_F_NO_PREALLOC};
  SetBuildProfile(p);
  EXPECT_EQ(MapCreate(attr), -E2BIG);
  attr.value_size -= 1;
  int fd = MapCreate(attr);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(CloseFd(fd), 0);
  p.htab_elem += 8;
  SetBuildProfile(p);
  EXPECT_EQ(MapCreate(attr), -E2BIG);
  attr.value_size -= 8;
  fd = MapCreate(attr);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST_F(ProfileChargeTest, LinuxSixOneChargesTheFootprintWithNoStructSizes) {
  SetTargetKernel(KernelVersion::k6_1);
  const Probe hash{BPF_MAP_TYPE_HASH, 4, 8, 100, 0};
  const Probe percpu_array{BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 1000, 0};
  const Probe ringbuf{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0};
  const BuildProfile base = DefaultBuildProfile(KernelVersion::k6_1);
  // bpf_map_memory_footprint(): round_up(max_entries * round_up(key +
  // syscall value, 8), PAGE_SIZE).
  EXPECT_EQ(Charge(hash, base), 4096);           // 100 * 16 = 1600
  EXPECT_EQ(Charge(percpu_array, base), 40960);  // 1000 * round_up(4 + 32, 8)
  EXPECT_EQ(Charge(ringbuf, base), 0);
  EXPECT_EQ(Moved(hash, &BuildProfile::htab, 64), 0);
}

}  // namespace
}  // namespace bpfemu
