// SPDX-License-Identifier: Apache-2.0
// LPM_TRIE through the syscall face and the program face: longest-prefix
// lookup, the kernel's post-order get_next_key, intermediate nodes appearing
// and collapsing, a full trie, memlock, and crafted regions (a cycle, a link
// outside the pool) that must be refused without crashing or hanging.
// tests/conformance/lpm_conformance.h checks every command and errno on the
// kernel too.

#include "emu/lpm_trie.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emu/bpffs.h"
#include "emu/build_profile.h"
#include "emu/kill_at_lock_point.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

struct Key4 {
  uint32_t prefixlen;
  uint8_t data[4];
};

Key4 K(uint32_t len, uint8_t a, uint8_t b = 0, uint8_t c = 0, uint8_t d = 0) {
  return Key4{len, {a, b, c, d}};
}

MapAttr Lpm(uint32_t data_size, uint32_t value_size, uint32_t max_entries,
            uint32_t flags = BPF_F_NO_PREALLOC) {
  return MapAttr{.map_type = BPF_MAP_TYPE_LPM_TRIE,
                 .key_size = 4 + data_size,
                 .value_size = value_size,
                 .max_entries = max_entries,
                 .map_flags = flags};
}

std::shared_ptr<LpmTrieMap> Trie(int fd) {
  return std::dynamic_pointer_cast<LpmTrieMap>(MapFromFd(fd));
}

std::vector<std::string> Walk(int fd) {
  std::vector<std::string> out;
  Key4 k{}, next{};
  const Key4* prev = nullptr;
  while (MapGetNextKey(fd, prev, &next) == 0 && out.size() < 100) {
    out.push_back(
        std::to_string(next.data[0]) + "." + std::to_string(next.data[1]) +
        "." + std::to_string(next.data[2]) + "." +
        std::to_string(next.data[3]) + "/" + std::to_string(next.prefixlen));
    k = next;
    prev = &k;
  }
  return out;
}

TEST(LpmTrieTest, CreateChecksMirrorTrieAlloc) {
  EXPECT_EQ(MapCreate(Lpm(4, 8, 1, 0)), -EINVAL);  // BPF_F_NO_PREALLOC needed
  EXPECT_EQ(MapCreate(Lpm(4, 8, 0)), -EINVAL);
  EXPECT_EQ(MapCreate(Lpm(0, 8, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Lpm(257, 8, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Lpm(4, 0, 1)), -EINVAL);
  EXPECT_EQ(MapCreate(Lpm(4, 8, 1, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED)),
            -EINVAL);
  MapAttr extra = Lpm(4, 8, 1);
  extra.map_extra = 1;
  EXPECT_EQ(MapCreate(extra), -EINVAL);
  for (uint32_t data : {1u, 256u}) {
    const int fd = MapCreate(Lpm(data, 1, 1));
    EXPECT_GE(fd, 0) << data;
    if (fd >= 0) {
      EXPECT_EQ(CloseFd(fd), 0);
    }
  }
  // Nodes are allocated per update: a huge max_entries costs nothing.
  const int fd = MapCreate(Lpm(4, 8, UINT32_MAX));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

// LPM_VAL_SIZE_MAX counts sizeof(struct lpm_trie_node): 40 bytes up to
// 6.12, 24 from 6.13 (measured on 6.18: 4194024 is created, 4194025 is
// EINVAL). 6.1 asks for CAP_BPF before any attribute check.
TEST(LpmTrieTest, ValueSizeBoundFollowsTheNodeSize) {
  const KernelVersion old = TargetKernel();
  const uint32_t top = (1u << 22) - 256;
  for (auto [v, node] : {std::pair{KernelVersion::k6_18, 24u},
                         std::pair{KernelVersion::k6_12, 40u},
                         std::pair{KernelVersion::k6_1, 40u}}) {
    SetTargetKernel(v);
    const int fd = MapCreate(Lpm(4, top - node, 1));
    EXPECT_GE(fd, 0) << KernelVersionName(v);
    if (fd >= 0) {
      EXPECT_EQ(CloseFd(fd), 0);
    }
    EXPECT_EQ(MapCreate(Lpm(4, top - node + 1, 1)), -EINVAL)
        << KernelVersionName(v);
  }
  // A 6.18 map with the largest 6.18 value is attached by a process that
  // targets 6.12: the map's own version decides.
  SetTargetKernel(KernelVersion::k6_18);
  const int big = MapCreate(Lpm(4, top - 24, 1));
  ASSERT_GE(big, 0);
  SetTargetKernel(KernelVersion::k6_12);
  const std::string path = "/proc/self/fd/" + std::to_string(big);
  const int other = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(other, 0);
  EXPECT_EQ(AttachMapFd(other), 0);
  EXPECT_EQ(CloseFd(other), 0);
  EXPECT_EQ(CloseFd(big), 0);
  SetCallerPrivileged(false);
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(MapCreate(Lpm(4, 0, 1)), -EPERM);
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(MapCreate(Lpm(4, 0, 1)), -EPERM);
  SetCallerPrivileged(true);
  SetTargetKernel(old);
}

TEST(LpmTrieTest, LongestPrefixWinsAndPostOrderWalk) {
  const int fd = MapCreate(Lpm(4, 8, 16));
  ASSERT_GE(fd, 0);
  // The kernel's example: 192.168.0.0/16, /24, 192.168.128.0/24 and
  // 192.168.1.0/24, which needs an intermediate 192.168.0.0/23.
  const Key4 keys[] = {K(16, 192, 168), K(24, 192, 168, 0),
                       K(24, 192, 168, 128), K(24, 192, 168, 1)};
  for (uint64_t i = 0; i < 4; ++i) {
    const uint64_t v = i + 1;
    ASSERT_EQ(MapUpdateElem(fd, &keys[i], &v, BPF_NOEXIST), 0);
  }
  EXPECT_EQ(Trie(fd)->EntriesForTest(), 4u);
  EXPECT_EQ(Trie(fd)->NodesForTest(), 5u);
  uint64_t v = 0;
  Key4 q = K(32, 192, 168, 1, 7);
  ASSERT_EQ(MapLookupElem(fd, &q, &v), 0);
  EXPECT_EQ(v, 4u);
  q = K(32, 192, 168, 2, 7);
  ASSERT_EQ(MapLookupElem(fd, &q, &v), 0);
  EXPECT_EQ(v, 1u);
  q = K(32, 10, 0, 0, 1);
  EXPECT_EQ(MapLookupElem(fd, &q, &v), -ENOENT);
  q = K(33, 192, 168, 1, 7);
  EXPECT_EQ(MapLookupElem(fd, &q, &v), -ENOENT);
  q = K(23, 192, 168, 0);  // the intermediate node is no answer
  ASSERT_EQ(MapLookupElem(fd, &q, &v), 0);
  EXPECT_EQ(v, 1u);
  EXPECT_EQ(Walk(fd),
            (std::vector<std::string>{"192.168.0.0/24", "192.168.1.0/24",
                                      "192.168.128.0/24", "192.168.0.0/16"}));
  // An absent key restarts the walk.
  Key4 next{};
  q = K(24, 10, 0, 0);
  ASSERT_EQ(MapGetNextKey(fd, &q, &next), 0);
  EXPECT_EQ(next.prefixlen, 24u);
  EXPECT_EQ(next.data[2], 0);
  // Deleting the /24 under the intermediate node takes the node with it.
  q = K(24, 192, 168, 0);
  ASSERT_EQ(MapDeleteElem(fd, &q), 0);
  EXPECT_EQ(Trie(fd)->NodesForTest(), 3u);
  EXPECT_EQ(MapDeleteElem(fd, &q), -ENOENT);
  q = K(23, 192, 168, 0);
  EXPECT_EQ(MapDeleteElem(fd, &q), -ENOENT);
  q = K(33, 192, 168, 0);
  EXPECT_EQ(MapDeleteElem(fd, &q), -EINVAL);
  EXPECT_EQ(MapUpdateElem(fd, &q, &v, BPF_ANY), -EINVAL);
  q = K(16, 192, 168);
  EXPECT_EQ(MapUpdateElem(fd, &q, &v, BPF_EXIST + 1), -EINVAL);
  // A /16 with two children stays as an intermediate node.
  ASSERT_EQ(MapDeleteElem(fd, &q), 0);
  EXPECT_EQ(Trie(fd)->EntriesForTest(), 2u);
  EXPECT_EQ(Trie(fd)->NodesForTest(), 3u);
  EXPECT_EQ(Walk(fd),
            (std::vector<std::string>{"192.168.1.0/24", "192.168.128.0/24"}));
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(LpmTrieTest, FullTrieStillReplacesAndFlagsAreChecked) {
  const int fd = MapCreate(Lpm(4, 8, 2));
  ASSERT_GE(fd, 0);
  uint64_t v = 1;
  Key4 a = K(8, 10), b = K(16, 10, 1), c = K(16, 10, 2);
  EXPECT_EQ(MapUpdateElem(fd, &a, &v, BPF_EXIST), -ENOENT);
  ASSERT_EQ(MapUpdateElem(fd, &a, &v, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(fd, &b, &v, BPF_ANY), 0);
  EXPECT_EQ(MapUpdateElem(fd, &c, &v, BPF_ANY), -ENOSPC);
  EXPECT_EQ(MapUpdateElem(fd, &c, &v, BPF_EXIST), -ENOENT);
  EXPECT_EQ(MapUpdateElem(fd, &b, &v, BPF_NOEXIST), -EEXIST);
  v = 7;
  ASSERT_EQ(MapUpdateElem(fd, &b, &v, BPF_EXIST), 0);
  ASSERT_EQ(MapUpdateElem(fd, &a, &v, BPF_ANY), 0);
  uint64_t got = 0;
  ASSERT_EQ(MapLookupElem(fd, &b, &got), 0);
  EXPECT_EQ(got, 7u);
  EXPECT_EQ(MapLookupAndDeleteElem(fd, &b, &got, 0), -kENOTSUPP);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(LpmTrieTest, MemlockCountsEntries) {
  const KernelVersion old = TargetKernel();
  SetTargetKernel(KernelVersion::k6_18);
  const int fd = MapCreate(Lpm(4, 8, 8));
  ASSERT_GE(fd, 0);
  const uint64_t node = DefaultBuildProfile(KernelVersion::k6_18).lpm_node;
  EXPECT_EQ(MapMemlock(fd), 0);
  uint64_t v = 0;
  Key4 a = K(8, 10), b = K(9, 10, 128);
  ASSERT_EQ(MapUpdateElem(fd, &a, &v, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(fd, &b, &v, BPF_ANY), 0);
  EXPECT_EQ(MapMemlock(fd), static_cast<int64_t>(2 * (node + 4 + 8)));
  EXPECT_EQ(CloseFd(fd), 0);
  SetTargetKernel(old);
}

TEST(LpmTrieTest, ProgramFaceReturnsTheValueInPlace) {
  const int fd = MapCreate(Lpm(4, 8, 4));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  Key4 a = K(8, 10);
  const uint64_t v = 42;
  ASSERT_EQ(map->UpdateElemProg(&a, &v, BPF_ANY), 0);
  Key4 q = K(32, 10, 1, 2, 3);
  auto* p = static_cast<uint64_t*>(map->LookupElemProg(&q));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 42u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
  EXPECT_EQ(map->DeleteElemProg(&a), 0);
  EXPECT_EQ(map->LookupElemProg(&q), nullptr);
  EXPECT_EQ(CloseFd(fd), 0);
}

// The kernel frees a deleted or replaced node with kfree_rcu
// (trie_delete_elem, trie_update_elem), so a value pointer a program holds
// keeps the old value for the rest of the program, even when the program
// then inserts another prefix (review finding: the node was reused at once).
TEST(LpmTrieTest, ValuePointerKeepsItsValueAfterDeleteAndInsert) {
  const int fd = MapCreate(Lpm(4, 8, 4));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  Key4 a = K(8, 10), c = K(8, 11);
  const uint64_t v1 = 1, v99 = 99;
  ASSERT_EQ(map->UpdateElemProg(&a, &v1, BPF_ANY), 0);
  Key4 q = K(32, 10, 1, 2, 3);
  auto* p = static_cast<uint64_t*>(map->LookupElemProg(&q));
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(map->DeleteElemProg(&a), 0);
  ASSERT_EQ(map->UpdateElemProg(&c, &v99, BPF_ANY), 0);
  EXPECT_EQ(*p, 1u);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(LpmTrieTest, ValuePointerKeepsItsValueAfterReplaceAndInsert) {
  const int fd = MapCreate(Lpm(4, 8, 4));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  Key4 a = K(8, 10), c = K(8, 11);
  const uint64_t v1 = 1, v2 = 2, v99 = 99;
  ASSERT_EQ(map->UpdateElemProg(&a, &v1, BPF_ANY), 0);
  Key4 q = K(32, 10, 1, 2, 3);
  auto* p = static_cast<uint64_t*>(map->LookupElemProg(&q));
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(map->UpdateElemProg(&a, &v2, BPF_ANY), 0);
  ASSERT_EQ(map->UpdateElemProg(&c, &v99, BPF_ANY), 0);
  EXPECT_EQ(*p, 1u);
  uint64_t v = 0;
  ASSERT_EQ(MapLookupElem(fd, &q, &v), 0);
  EXPECT_EQ(v, 2u);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Freed nodes are reused oldest first, after the never-used ones: churn on
// a small trie cycles through the pool (2 * max_entries nodes) and never
// runs out of nodes, and every answer stays the model's.
TEST(LpmTrieTest, FreedNodesAreReusedOldestFirstWithoutLeaking) {
  const int fd = MapCreate(Lpm(4, 8, 3));
  ASSERT_GE(fd, 0);
  std::shared_ptr<Map> map = MapFromFd(fd);
  Key4 keep = K(8, 10);
  const uint64_t kept = 7;
  ASSERT_EQ(MapUpdateElem(fd, &keep, &kept, BPF_ANY), 0);
  Key4 q = K(32, 10, 1, 2, 3);
  auto* p = static_cast<uint64_t*>(map->LookupElemProg(&q));
  ASSERT_NE(p, nullptr);
  for (uint32_t i = 0; i < 1000; ++i) {
    Key4 a = K(16, 10, static_cast<uint8_t>(i)), b = K(24, 11, 1, 2);
    const uint64_t va = i, vb = i + 1;
    ASSERT_EQ(MapUpdateElem(fd, &a, &va, BPF_ANY), 0) << i;
    ASSERT_EQ(MapUpdateElem(fd, &b, &vb, BPF_ANY), 0) << i;  // a replace
    ASSERT_EQ(MapDeleteElem(fd, &a), 0) << i;
    uint64_t v = 0;
    ASSERT_EQ(MapLookupElem(fd, &b, &v), 0);
    EXPECT_EQ(v, i + 1);
  }
  EXPECT_EQ(*p, 7u);  // never freed, never reused
  EXPECT_EQ(Trie(fd)->EntriesForTest(), 2u);
  EXPECT_EQ(Trie(fd)->NodesForTest(), 3u);  // 10/8 and 11.1.2/24 under an im
  EXPECT_EQ(CloseFd(fd), 0);
}

// The pool's cap counts nodes of the 32-bit-link layout (a 16-byte header),
// so the 24-byte header did not lower capacity: max_entries 4,000,000 with
// /32 keys and u64 values gets all 8,000,000 nodes, as before the 64-bit
// links (review finding: 3,355,443 entries, then ENOMEM). The 4M-entry fill
// itself is emu/lpm_capacity_test.cc.
TEST(LpmTrieTest, PoolCapCountsNodesOfTheOldHeader) {
  constexpr uint64_t kCap = LpmTrieMap::kMaxPoolBytes;
  EXPECT_EQ(LpmTrieMap::PoolNodesFor(Lpm(4, 8, 4'000'000)), 8'000'000u);
  // Node 24 + 8 + 8 = 40 bytes, counted as 32.
  EXPECT_EQ(LpmTrieMap::PoolNodesFor(Lpm(4, 8, 100'000'000)), kCap / 32);
  // Node 24 + 16 + 64 = 104 bytes, counted as 96.
  EXPECT_EQ(LpmTrieMap::PoolNodesFor(Lpm(16, 64, 100'000'000)), kCap / 96);
  EXPECT_EQ(LpmTrieMap::PoolNodesFor(Lpm(4, 8, 3)), 6u);
  // The region holds the pool (at most 320 MiB for the smallest nodes),
  // created unbacked.
  const int fd = MapCreate(Lpm(4, 8, 4'000'000));
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_GE(static_cast<uint64_t>(st.st_size), uint64_t{8'000'000} * 40);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(LpmTrieTest, ManyPrefixesMatchABruteForceModel) {
  const int fd = MapCreate(Lpm(2, 4, 64));
  ASSERT_GE(fd, 0);
  struct Entry {
    uint32_t len;
    uint16_t bits;
    uint32_t value;
  };
  std::vector<Entry> model;
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245 + 12345; };
  auto masked = [](uint16_t bits, uint32_t len) -> uint16_t {
    return len == 0 ? 0 : static_cast<uint16_t>(bits & (0xffff << (16 - len)));
  };
  for (int step = 0; step < 4000; ++step) {
    const uint32_t len = (rnd() >> 8) % 17;
    const uint16_t bits = static_cast<uint16_t>(rnd() >> 4) & 0xf0f0;
    uint8_t key[6];
    std::memcpy(key, &len, 4);
    key[4] = static_cast<uint8_t>(bits >> 8);
    key[5] = static_cast<uint8_t>(bits);
    auto it = model.begin();
    for (; it != model.end(); ++it) {
      if (it->len == len && masked(it->bits, len) == masked(bits, len)) break;
    }
    const uint32_t op = (rnd() >> 12) % 3;
    if (op == 0) {
      const uint32_t v = rnd();
      const int ret = MapUpdateElem(fd, key, &v, BPF_ANY);
      if (it != model.end()) {
        ASSERT_EQ(ret, 0);
        it->value = v;
      } else if (model.size() == 64) {
        ASSERT_EQ(ret, -ENOSPC);
      } else {
        ASSERT_EQ(ret, 0);
        model.push_back({len, bits, v});
      }
    } else if (op == 1) {
      ASSERT_EQ(MapDeleteElem(fd, key), it != model.end() ? 0 : -ENOENT);
      if (it != model.end()) model.erase(it);
    } else {
      const Entry* best = nullptr;
      for (const Entry& e : model) {
        if (e.len <= len && masked(e.bits, e.len) == masked(bits, e.len) &&
            (best == nullptr || e.len > best->len)) {
          best = &e;
        }
      }
      uint32_t got = 0;
      const int ret = MapLookupElem(fd, key, &got);
      ASSERT_EQ(ret, best ? 0 : -ENOENT) << step;
      if (best) {
        ASSERT_EQ(got, best->value) << step;
      }
    }
    ASSERT_EQ(Trie(fd)->EntriesForTest(), model.size());
    ASSERT_LT(Trie(fd)->NodesForTest(), 2 * model.size() + 1);
  }
  EXPECT_EQ(CloseFd(fd), 0);
}

// The word-at-a-time lookups (syscall and program faces) against a plain
// bit-by-bit longest-prefix scan of the stored prefixes, for the data sizes
// with a compiled walk (4, 8, 16 bytes) and others (3, 5, 20: the generic
// walk, data not a multiple of a word). Prefixes grow from a few shared
// patterns, so tries are deep, hold intermediate nodes and differ past the
// first 64 bits; lengths are any from 0 to the maximum, odd ones included,
// and keys include lengths past the maximum. Half the prefixes are then
// deleted and the keys asked again. A 300-byte value takes the syscall
// lookup's heap buffer.
bool BitOf(const std::vector<uint8_t>& data, uint32_t i) {
  return (data[i / 8] >> (7 - i % 8)) & 1;
}

TEST(LpmTrieTest, RandomizedLookupsMatchALongestPrefixScan) {
  for (const uint32_t data_size : {4u, 8u, 16u, 3u, 5u, 20u}) {
    SCOPED_TRACE(data_size);
    const uint32_t max_len = data_size * 8;
    const uint32_t value_size = data_size == 20 ? 300 : 8;
    const uint32_t capacity = 400;
    const int fd = MapCreate(Lpm(data_size, value_size, capacity));
    ASSERT_GE(fd, 0);
    std::shared_ptr<LpmTrieMap> map = Trie(fd);
    ASSERT_NE(map, nullptr);
    uint64_t seed = 0x9e3779b97f4a7c15ull * data_size;
    auto rnd = [&] {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      return static_cast<uint32_t>(seed >> 16);
    };
    std::vector<std::vector<uint8_t>> patterns(4);
    for (auto& p : patterns) {
      for (uint32_t i = 0; i < data_size; ++i) {
        p.push_back(static_cast<uint8_t>(rnd()));
      }
    }
    // A pattern's first bits, random from a random bit on.
    auto data_of = [&] {
      std::vector<uint8_t> d = patterns[rnd() % patterns.size()];
      for (uint32_t i = rnd() % (max_len + 1); i < max_len; ++i) {
        if (rnd() & 1) d[i / 8] ^= static_cast<uint8_t>(0x80 >> (i % 8));
      }
      return d;
    };
    auto same_prefix = [](const std::vector<uint8_t>& a,
                          const std::vector<uint8_t>& b, uint32_t len) {
      for (uint32_t i = 0; i < len; ++i) {
        if (BitOf(a, i) != BitOf(b, i)) return false;
      }
      return true;
    };
    auto key_of = [&](uint32_t len, const std::vector<uint8_t>& d) {
      std::vector<uint8_t> key(4 + data_size);
      std::memcpy(key.data(), &len, 4);
      std::memcpy(key.data() + 4, d.data(), data_size);
      return key;
    };
    struct Stored {
      uint32_t len;
      std::vector<uint8_t> data;
      uint64_t value;
    };
    std::vector<Stored> stored;
    uint64_t next_value = 1;
    while (stored.size() < capacity) {
      const uint32_t len = rnd() % 4 == 0 ? (rnd() % (max_len / 2 + 1)) * 2 | 1
                                          : rnd() % (max_len + 1);
      if (len > max_len) continue;
      const std::vector<uint8_t> d = data_of();
      std::vector<uint8_t> value(value_size, 0xab);
      const uint64_t v = next_value++;
      std::memcpy(value.data(), &v, 8);
      ASSERT_EQ(MapUpdateElem(fd, key_of(len, d).data(), value.data(), BPF_ANY),
                0);
      auto it =
          std::find_if(stored.begin(), stored.end(), [&](const Stored& s) {
            return s.len == len && same_prefix(s.data, d, len);
          });
      if (it != stored.end()) {
        it->value = v;
      } else {
        stored.push_back({len, d, v});
      }
    }
    auto check_keys = [&](int rounds) {
      int hits = 0, deep = 0;
      for (int q = 0; q < rounds; ++q) {
        const uint32_t r = rnd() % 8;
        const uint32_t len = r < 5   ? max_len
                             : r < 7 ? rnd() % (max_len + 1)
                                     : max_len + 1 + r;
        const std::vector<uint8_t> d = data_of();
        const Stored* best = nullptr;
        if (len <= max_len) {
          for (const Stored& s : stored) {
            if (s.len <= len && same_prefix(s.data, d, s.len) &&
                (best == nullptr || s.len > best->len)) {
              best = &s;
            }
          }
        }
        const std::vector<uint8_t> key = key_of(len, d);
        std::vector<uint8_t> got(value_size, 0x5a);
        const int ret = MapLookupElem(fd, key.data(), got.data());
        const auto* in_place =
            static_cast<const uint8_t*>(map->LookupElemProg(key.data()));
        if (best == nullptr) {
          ASSERT_EQ(ret, -ENOENT) << q << " len " << len;
          ASSERT_EQ(in_place, nullptr) << q;
          ASSERT_EQ(got, std::vector<uint8_t>(value_size, 0x5a));
          continue;
        }
        ASSERT_EQ(ret, 0) << q << " len " << len;
        ++hits;
        if (best->len > 64) ++deep;
        uint64_t v;
        std::memcpy(&v, got.data(), 8);
        ASSERT_EQ(v, best->value)
            << q << " len " << len << " best " << best->len;
        if (value_size > 8) {
          ASSERT_EQ(got[value_size - 1], 0xab);
        }
        ASSERT_NE(in_place, nullptr) << q;
        std::memcpy(&v, in_place, 8);
        ASSERT_EQ(v, best->value) << q;
      }
      // Both answers are common, and matches past the first word too.
      EXPECT_GT(hits, rounds / 4);
      EXPECT_LT(hits, rounds);
      if (max_len > 64) {
        EXPECT_GT(deep, 0);
      }
    };
    check_keys(3000);
    // Every other prefix goes: nodes turn intermediate or collapse.
    for (size_t i = 0; i < stored.size(); ++i) {
      if (i % 2 == 0) {
        ASSERT_EQ(
            MapDeleteElem(fd, key_of(stored[i].len, stored[i].data).data()), 0);
      }
    }
    std::vector<Stored> kept;
    for (size_t i = 1; i < stored.size(); i += 2) kept.push_back(stored[i]);
    stored = std::move(kept);
    ASSERT_EQ(map->EntriesForTest(), stored.size());
    check_keys(3000);
    map.reset();
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

// Four threads update, look up, delete and walk one trie (as the
// selftest lpm_multi_thread does): every answer is 0 or the errno the
// operation may give, and the count stays within max_entries.
TEST(LpmTrieTest, ConcurrentOperationsStayConsistent) {
  const int fd = MapCreate(Lpm(4, 8, 64));
  ASSERT_GE(fd, 0);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([fd, t, &bad] {
      uint32_t seed = 77 + t;
      for (int i = 0; i < 3000; ++i) {
        seed = seed * 1103515245 + 12345;
        Key4 k = K((seed >> 8) % 33, 10, static_cast<uint8_t>(seed >> 16),
                   static_cast<uint8_t>(seed >> 24));
        uint64_t v = seed;
        Key4 next{};
        int r = 0;
        switch (t) {
          case 0:
            r = MapUpdateElem(fd, &k, &v, BPF_ANY);
            if (r != 0 && r != -ENOSPC) ++bad;
            break;
          case 1:
            r = MapDeleteElem(fd, &k);
            if (r != 0 && r != -ENOENT) ++bad;
            break;
          case 2:
            r = MapLookupElem(fd, &k, &v);
            if (r != 0 && r != -ENOENT) ++bad;
            break;
          default:
            r = MapGetNextKey(fd, &k, &next);
            if (r != 0 && r != -ENOENT) ++bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LE(Trie(fd)->EntriesForTest(), 64u);
  EXPECT_EQ(Walk(fd).size(), Trie(fd)->EntriesForTest());
  EXPECT_EQ(CloseFd(fd), 0);
}

// The pool starts after the header (kBodyOffset) and the 64-byte body, whose
// root link is at byte 24; a node is {link[2], prefixlen, flags, data,
// value}, a link the node's index + 1 and its prefixlen (two u32 words).
constexpr off_t kPool = kBodyOffset + 64;
constexpr off_t kRoot = kBodyOffset + 24;

TEST(LpmTrieTest, CraftedLinksAreRefusedNotFollowed) {
  const int fd = MapCreate(Lpm(4, 8, 4));
  ASSERT_GE(fd, 0);
  uint64_t v = 1;
  Key4 a = K(8, 10);
  ASSERT_EQ(MapUpdateElem(fd, &a, &v, BPF_ANY), 0);
  // The root node (index 1, /8) names itself as its child: a cycle.
  const uint32_t self[2] = {1, 8}, outside = 0x7fffffff, zero[2] = {0, 0};
  ASSERT_EQ(pwrite(fd, self, 8, kPool + 8), 8);
  Key4 q = K(32, 10, 255, 0, 0);
  EXPECT_EQ(MapLookupElem(fd, &q, &v), -EINVAL);
  EXPECT_EQ(MapGetNextKey(fd, nullptr, &q), -EINVAL);
  Key4 b = K(16, 10, 255);
  EXPECT_EQ(MapUpdateElem(fd, &b, &v, BPF_ANY), -EINVAL);
  EXPECT_EQ(MapDeleteElem(fd, &b), -EINVAL);
  // Another process attaching the region refuses it.
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const int other = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(other, 0);
  EXPECT_EQ(AttachMapFd(other), -EINVAL);
  // A root outside the pool.
  ASSERT_EQ(pwrite(fd, zero, 8, kPool + 8), 8);
  ASSERT_EQ(pwrite(fd, &outside, 4, kRoot), 4);
  EXPECT_EQ(MapLookupElem(fd, &q, &v), -EINVAL);
  EXPECT_EQ(AttachMapFd(other), -EINVAL);
  // A root link whose prefixlen is not its node's.
  const uint32_t root[2] = {1, 8}, root_len9[2] = {1, 9};
  ASSERT_EQ(pwrite(fd, root_len9, 8, kRoot), 8);
  EXPECT_EQ(MapLookupElem(fd, &q, &v), -EINVAL);
  EXPECT_EQ(MapGetNextKey(fd, nullptr, &q), -EINVAL);
  EXPECT_EQ(AttachMapFd(other), -EINVAL);
  ASSERT_EQ(pwrite(fd, root, 8, kRoot), 8);
  ASSERT_EQ(MapLookupElem(fd, &q, &v), 0);
  // A body of an earlier format (32-bit links): no format word.
  const uint32_t no_format = 0, old_format = 2, format = 3;
  ASSERT_EQ(pwrite(fd, &no_format, 4, kBodyOffset + 32), 4);
  EXPECT_EQ(AttachMapFd(other), -EINVAL);
  // One of the LIFO free list (no tail word).
  ASSERT_EQ(pwrite(fd, &old_format, 4, kBodyOffset + 32), 4);
  EXPECT_EQ(AttachMapFd(other), -EINVAL);
  ASSERT_EQ(pwrite(fd, &format, 4, kBodyOffset + 32), 4);
  ASSERT_EQ(AttachMapFd(other), 0);
  EXPECT_EQ(CloseFd(other), 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

// A small in-process region fuzz: random words of a filled trie's body and
// pool rewritten through the file (never the lock word), then attach and
// random commands. Attach is 0 or EINVAL; every command returns, with 0 or
// an errno the command can give (EINVAL for a broken link), and memory is
// never touched outside the region (ASan).
TEST(LpmTrieTest, MutatedRegionsAnswerErrnosOnly) {
  uint32_t seed = 4242;
  auto rnd = [&] { return seed = seed * 1103515245 + 12345; };
  for (int round = 0; round < 300; ++round) {
    const int fd = MapCreate(Lpm(4, 8, 8));
    ASSERT_GE(fd, 0);
    for (uint32_t i = 0; i < 6; ++i) {
      Key4 k = K(4 * i + 4, 10, static_cast<uint8_t>(i * 40), 7, 7);
      uint64_t v = i;
      ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    }
    const uint32_t words = (64 + 16 * 40) / 4;  // body, pool of 16 nodes
    for (uint32_t n = 1 + rnd() % 6; n > 0; --n) {
      const uint32_t w = 1 + (rnd() >> 4) % (words - 1);  // not the lock
      uint32_t v = rnd() >> 3;
      if (rnd() % 2) v %= 40;  // small: plausible indices and prefixlens
      ASSERT_EQ(pwrite(fd, &v, 4, kBodyOffset + 4 * w), 4);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int m = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(m, 0);
    const int err = AttachMapFd(m);
    ASSERT_TRUE(err == 0 || err == -EINVAL) << err;
    const int use = err == 0 ? m : fd;
    if (err != 0) close(m);
    for (int op = 0; op < 24; ++op) {
      Key4 k = K(rnd() % 34, 10, static_cast<uint8_t>(rnd() >> 8), 7, 7);
      uint64_t v = 0;
      Key4 next{};
      int r;
      switch (rnd() % 4) {
        case 0:
          r = MapUpdateElem(use, &k, &v, rnd() % 3);
          EXPECT_TRUE(r == 0 || r == -EINVAL || r == -ENOENT || r == -EEXIST ||
                      r == -ENOSPC || r == -ENOMEM)
              << r;
          break;
        case 1:
          r = MapDeleteElem(use, &k);
          EXPECT_TRUE(r == 0 || r == -EINVAL || r == -ENOENT) << r;
          break;
        case 2:
          r = MapLookupElem(use, &k, &v);
          EXPECT_TRUE(r == 0 || r == -EINVAL || r == -ENOENT) << r;
          break;
        default:
          r = MapGetNextKey(use, rnd() % 4 ? &k : nullptr, &next);
          EXPECT_TRUE(r == 0 || r == -EINVAL || r == -ENOENT) << r;
      }
    }
    if (err == 0) {
      EXPECT_EQ(CloseFd(m), 0);
    }
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

// A writer killed with the trie half changed (the lock held, a node taken
// and counted but not linked; an entry uncounted but still linked): the next
// writer rebuilds the count and the free list from what the root reaches,
// so no node leaks and the trie still fills to max_entries.
TEST(LpmTrieTest, WriterDeathMidChangeIsRepaired) {
  const int fd = MapCreate(Lpm(4, 8, 4));
  ASSERT_GE(fd, 0);
  uint64_t v = 1;
  Key4 a = K(8, 10), b = K(16, 10, 1);
  ASSERT_EQ(MapUpdateElem(fd, &a, &v, BPF_ANY), 0);
  ASSERT_TRUE(KillAtLockPoint(LockPoint::kTrieChange, [&] {
    (void)MapUpdateElem(fd, &b, &v, BPF_ANY);
  }));
  // Lookups from a writable process take the lock and repair.
  Key4 q = K(32, 10, 1, 0, 1);
  uint64_t got = 0;
  ASSERT_EQ(MapLookupElem(fd, &q, &got), 0);
  EXPECT_EQ(got, 1u);
  EXPECT_EQ(Trie(fd)->EntriesForTest(), 1u);
  ASSERT_TRUE(KillAtLockPoint(LockPoint::kTrieChange,
                              [&] { (void)MapDeleteElem(fd, &a); }));
  EXPECT_EQ(MapUpdateElem(fd, &a, &v, BPF_NOEXIST), -EEXIST);  // not deleted
  EXPECT_EQ(Trie(fd)->EntriesForTest(), 1u);
  // Three more prefixes fill it; none of the pool leaked.
  for (uint8_t i = 1; i <= 3; ++i) {
    Key4 k = K(24, 10, i, i);
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_NOEXIST), 0) << int{i};
  }
  Key4 more = K(24, 10, 9, 9);
  EXPECT_EQ(MapUpdateElem(fd, &more, &v, BPF_NOEXIST), -ENOSPC);
  EXPECT_EQ(Walk(fd).size(), 4u);
  EXPECT_EQ(CloseFd(fd), 0);
}

// A reader through a read-only mapping (uid 1001, BPF_F_RDONLY get of
// root's 0644 pin) while root keeps inserting and deleting: the reader walks
// under the change sequence and must only ever see answers some state of
// the trie gave. Each value names its prefix, so a lookup's value must be a
// prefix of the address looked up; get_next_key must return a stored prefix.
// (A walk checks each node it uses against the key, so even a walk that
// skipped the sequence check would pass these checks: what the sequence adds,
// the longest prefix of one instant, cannot be checked under live writes.
// This test shows the read-only path works and never answers EBUSY to a live
// writer.)
class LpmReadOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to run a second uid (setresuid)";
    }
    char tmpl[] = "/tmp/bpfemu-lpm-rdonly-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    ASSERT_EQ(chmod(base_.c_str(), 0755), 0);
    const std::string shared = base_ + "/shared";
    ASSERT_EQ(mkdir(shared.c_str(), 0700), 0);
    ASSERT_EQ(chmod(shared.c_str(), 01777), 0);
    SetBpffsForTesting("/sys/fs/bpf", shared);
    SetBpffsSharedForTesting(true);
  }
  void TearDown() override {
    SetBpffsSharedForTesting(false);
    if (!base_.empty()) {
      EXPECT_EQ(std::system(("rm -rf '" + base_ + "'").c_str()), 0);
    }
  }
  std::string base_;
};

uint32_t Mask(uint32_t addr, uint32_t len) {
  return len == 0 ? 0 : addr & ~uint32_t{0} << (32 - len);
}

TEST_F(LpmReadOnlyTest, ReaderUnderWritesSeesOnlyWholeStates) {
  const int fd = MapCreate(Lpm(4, 8, 64));
  ASSERT_GE(fd, 0);
  const mode_t old_umask = umask(022);
  ASSERT_EQ(ObjPin(fd, "/sys/fs/bpf/lpm"), 0);
  umask(old_umask);
  ASSERT_EQ(chmod((base_ + "/shared/lpm").c_str(), 0644), 0);
  auto key_of = [](uint32_t addr, uint32_t len) {
    const uint32_t net = Mask(addr, len);
    return K(len, static_cast<uint8_t>(net >> 24),
             static_cast<uint8_t>(net >> 16), static_cast<uint8_t>(net >> 8),
             static_cast<uint8_t>(net));
  };
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(60);
    close(pipe_fds[0]);
    if (setresgid(1001, 1001, 1001) != 0 || setresuid(1001, 1001, 1001) != 0) {
      _exit(100);
    }
    const int ro = ObjGet("/sys/fs/bpf/lpm", BPF_F_RDONLY);
    if (ro < 0) _exit(101);
    std::shared_ptr<Map> m = MapFromFd(ro);
    if (m == nullptr || !m->read_only()) _exit(102);
    m.reset();
    uint64_t counts[4] = {};  // found, missing, walked keys, EBUSY
    uint32_t seed = 99;
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < end) {
      seed = seed * 1103515245 + 12345;
      const uint32_t addr = 0x0a000000 | ((seed >> 8) & 0x3ffff);
      Key4 q = key_of(addr, 32);
      uint64_t v = 0;
      const int r = MapLookupElem(ro, &q, &v);
      if (r == 0) {
        const uint32_t len = static_cast<uint32_t>(v >> 32);
        if (len > 32 || Mask(addr, len) != static_cast<uint32_t>(v)) _exit(1);
        ++counts[0];
      } else if (r == -ENOENT) {
        ++counts[1];
      } else if (r == -EBUSY) {
        ++counts[3];
      } else {
        _exit(2);
      }
      Key4 next{};
      const int g = MapGetNextKey(ro, (seed & 1) ? &q : nullptr, &next);
      if (g == 0) {
        uint32_t net = uint32_t{next.data[0]} << 24 |
                       uint32_t{next.data[1]} << 16 |
                       uint32_t{next.data[2]} << 8 | next.data[3];
        if (next.prefixlen < 8 || next.prefixlen > 32 ||
            Mask(net, next.prefixlen) != net || next.data[0] != 10) {
          _exit(3);
        }
        ++counts[2];
      } else if (g == -EBUSY) {
        ++counts[3];
      } else if (g != -ENOENT) {
        _exit(4);
      }
    }
    (void)!write(pipe_fds[1], counts, sizeof(counts));
    _exit(0);
  }
  close(pipe_fds[1]);
  // The writer: until the reader is done.
  uint32_t seed = 7;
  uint64_t writes = 0;
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    seed = seed * 1103515245 + 12345;
    const uint32_t addr = 0x0a000000 | ((seed >> 6) & 0x3ffff);
    const uint32_t len = 8 + (seed >> 24) % 25;
    Key4 k = key_of(addr, len);
    const uint64_t v = uint64_t{len} << 32 | Mask(addr, len);
    const int r = (seed >> 3) % 3 ? MapUpdateElem(fd, &k, &v, BPF_ANY)
                                  : MapDeleteElem(fd, &k);
    ASSERT_TRUE(r == 0 || r == -ENOSPC || r == -ENOENT) << r;
    ++writes;
  }
  uint64_t counts[4] = {};
  ASSERT_EQ(read(pipe_fds[0], counts, sizeof(counts)),
            static_cast<ssize_t>(sizeof(counts)));
  close(pipe_fds[0]);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(counts[0], 100u) << "found";
  EXPECT_GT(counts[2], 100u) << "walked";
  std::printf(
      "writes %llu, reader: found %llu, missing %llu, keys %llu, "
      "EBUSY %llu\n",
      static_cast<unsigned long long>(writes),
      static_cast<unsigned long long>(counts[0]),
      static_cast<unsigned long long>(counts[1]),
      static_cast<unsigned long long>(counts[2]),
      static_cast<unsigned long long>(counts[3]));
  EXPECT_EQ(CloseFd(fd), 0);
}

}  // namespace
}  // namespace bpfemu
