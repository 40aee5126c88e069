// SPDX-License-Identifier: Apache-2.0
// DEVMAP, DEVMAP_HASH and CPUMAP through the syscall layer: the rules of
// kernel/bpf/devmap.c and kernel/bpf/cpumap.c (devmap.h, cpumap.h).
#include "emu/devmap.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "emu/build_profile.h"
#include "emu/cpu.h"
#include "emu/map.h"
#include "emu/map_test_util.h"
#include "emu/netdev.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

int XdpProg(void*) { return XDP_PASS; }

struct Val {
  uint32_t first;
  uint32_t prog;
};

int Create(uint32_t type, uint32_t value_size, uint32_t max_entries,
           uint32_t flags = 0) {
  return MapCreate(MapAttr{.map_type = type,
                           .key_size = 4,
                           .value_size = value_size,
                           .max_entries = max_entries,
                           .map_flags = flags});
}

int Update(int fd, uint32_t key, Val v, uint64_t flags = BPF_ANY) {
  return MapUpdateElem(fd, &key, &v, flags);
}

int Lookup(int fd, uint32_t key, Val* out) {
  *out = Val{0xdead, 0xbeef};
  return MapLookupElem(fd, &key, out, 0);
}

class DevmapTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : fds_) CloseFd(fd);
    NetdevReset();
  }
  int Keep(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int Prog(uint32_t type, uint32_t attach) {
    return Keep(ProgCreate(type, attach, "xdp", &XdpProg));
  }
  std::vector<int> fds_;
};

TEST_F(DevmapTest, CreateChecks) {
  for (uint32_t type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(Create(type, 4, 0), -EINVAL);
    EXPECT_EQ(Create(type, 0, 1), -EINVAL);
    EXPECT_EQ(Create(type, 12, 1), -EINVAL);
    EXPECT_EQ(MapCreate(MapAttr{.map_type = type,
                                .key_size = 8,
                                .value_size = 4,
                                .max_entries = 1}),
              -EINVAL);
    EXPECT_EQ(Create(type, 4, 1, BPF_F_RDONLY_PROG), -EINVAL);
    EXPECT_EQ(Create(type, 4, 1, BPF_F_NO_PREALLOC), -EINVAL);
    EXPECT_GE(Keep(Create(type, 4, 1, BPF_F_NUMA_NODE | BPF_F_RDONLY)), 0);
    EXPECT_GE(Keep(Create(type, 8, 4, BPF_F_WRONLY)), 0);
    // dev_map_init_map adds BPF_F_RDONLY_PROG.
    const int fd = Keep(Create(type, 8, 4));
    BpfMapInfo info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
    EXPECT_EQ(info.map_flags, uint32_t{BPF_F_RDONLY_PROG});
  }
  EXPECT_EQ(Create(BPF_MAP_TYPE_DEVMAP_HASH, 4, (1u << 31) + 1), -EINVAL);
}

TEST_F(DevmapTest, ArrayUpdateRules) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP, 8, 4));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Update(fd, 0, {1, 0}, 3), -EINVAL);
  EXPECT_EQ(Update(fd, 4, {1, 0}), -E2BIG);
  EXPECT_EQ(Update(fd, 0, {1, 0}, BPF_NOEXIST), -EEXIST);  // even if empty
  EXPECT_EQ(Update(fd, 0, {999, 0}), -EINVAL);             // no such device
  EXPECT_EQ(Update(fd, 0, {0, 5}), -EINVAL);  // a program needs a device
  EXPECT_EQ(Update(fd, 0, {1, 0}, BPF_EXIST), 0);
  Val v;
  ASSERT_EQ(Lookup(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 1u);
  EXPECT_EQ(v.prog, 0u);
  // ifindex 0 clears the slot.
  EXPECT_EQ(Update(fd, 0, {0, 0}), 0);
  EXPECT_EQ(Lookup(fd, 0, &v), -ENOENT);
  // A negative fd means no program.
  EXPECT_EQ(Update(fd, 1, {1, 0xffffffffu}), 0);
  ASSERT_EQ(Lookup(fd, 1, &v), 0);
  EXPECT_EQ(v.prog, 0u);
  EXPECT_EQ(Update(fd, 1, {1, 100000}), -EINVAL);  // not open
  EXPECT_EQ(Update(fd, 1, {1, static_cast<uint32_t>(fd)}), -EINVAL);
}

TEST_F(DevmapTest, ProgramsMustBeXdpDevmapAndLookupShowsTheirId) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP, 8, 2));
  const int plain = Prog(BPF_PROG_TYPE_XDP, 0);
  const int cpumap_prog = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP);
  const int tc = Prog(BPF_PROG_TYPE_SCHED_CLS, BPF_XDP_DEVMAP);
  const int good = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP);
  ASSERT_GE(good, 0);
  for (int p : {plain, cpumap_prog, tc}) {
    EXPECT_EQ(Update(fd, 0, {1, static_cast<uint32_t>(p)}), -EINVAL);
  }
  ASSERT_EQ(Update(fd, 0, {1, static_cast<uint32_t>(good)}), 0);
  std::shared_ptr<const bpfemu::Prog> prog;
  ASSERT_EQ(ProgFromFd(good, &prog), 0);
  Val v;
  ASSERT_EQ(Lookup(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 1u);
  EXPECT_EQ(v.prog, prog->id);
  // The entry keeps the program alive after its fd is closed.
  const uint32_t id = prog->id;
  prog.reset();
  CloseFd(good);
  fds_.pop_back();
  EXPECT_NE(ProgFromId(id), nullptr);
  const uint32_t zero = 0;
  ASSERT_EQ(MapDeleteElem(fd, &zero), 0);
  EXPECT_EQ(ProgFromId(id), nullptr);
}

TEST_F(DevmapTest, FourByteValuesHoldTheIfindexOnly) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP, 4, 2));
  const uint32_t key = 1, ifindex = 1;
  ASSERT_EQ(MapUpdateElem(fd, &key, &ifindex, 0), 0);
  uint32_t out = 0;
  ASSERT_EQ(MapLookupElem(fd, &key, &out, 0), 0);
  EXPECT_EQ(out, 1u);
}

TEST_F(DevmapTest, ArrayDeleteAndNextKey) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP, 8, 3));
  uint32_t k = 3;
  EXPECT_EQ(MapDeleteElem(fd, &k), -EINVAL);
  k = 1;
  EXPECT_EQ(MapDeleteElem(fd, &k), 0);  // empty is fine
  EXPECT_EQ(NextKeyWalk<uint32_t>(fd), (std::vector<uint32_t>{0, 1, 2}));
  uint32_t next;
  k = 77;
  ASSERT_EQ(MapGetNextKey(fd, &k, &next), 0);
  EXPECT_EQ(next, 0u);
  uint8_t v[8];
  EXPECT_EQ(MapLookupAndDeleteElem(fd, &k, v, 0), -kENOTSUPP);
}

TEST_F(DevmapTest, HashUpdateRules) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 4));
  EXPECT_EQ(Update(fd, 6, {0, 0}), -EINVAL);  // ifindex 0
  EXPECT_EQ(Update(fd, 6, {1, 0}, 3), -EINVAL);
  EXPECT_EQ(Update(fd, 6, {999, 0}), -EINVAL);
  // BPF_EXIST on a missing key inserts; BPF_NOEXIST on a present one fails.
  EXPECT_EQ(Update(fd, 6, {1, 0}, BPF_EXIST), 0);
  EXPECT_EQ(Update(fd, 6, {1, 0}, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(Update(fd, 1, {1, 0}), 0);
  EXPECT_EQ(Update(fd, 2, {1, 0}), 0);
  EXPECT_EQ(Update(fd, 3, {1, 0}), 0);
  EXPECT_EQ(Update(fd, 4, {1, 0}), -E2BIG);  // full
  EXPECT_EQ(Update(fd, 3, {1, 0}), 0);       // replacing is fine
  uint32_t k = 77;
  EXPECT_EQ(MapDeleteElem(fd, &k), -ENOENT);
  k = 3;
  EXPECT_EQ(MapDeleteElem(fd, &k), 0);
  EXPECT_EQ(Update(fd, 4, {1, 0}), 0);
  Val v;
  EXPECT_EQ(Lookup(fd, 3, &v), -ENOENT);
  ASSERT_EQ(Lookup(fd, 4, &v), 0);
  EXPECT_EQ(v.first, 1u);
}

TEST_F(DevmapTest, HashOrderIsBucketsThenHeadFirst) {
  // Measured on 6.18: 4 buckets; 13, 9 and 1 share bucket 1.
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 4));
  for (uint32_t k : {2u, 13u, 9u, 1u}) ASSERT_EQ(Update(fd, k, {1, 0}), 0);
  EXPECT_EQ(NextKeyWalk<uint32_t>(fd), (std::vector<uint32_t>{1, 9, 13, 2}));
  // A replaced entry moves to its bucket's head.
  ASSERT_EQ(Update(fd, 13, {1, 0}), 0);
  EXPECT_EQ(NextKeyWalk<uint32_t>(fd), (std::vector<uint32_t>{13, 1, 9, 2}));
  // A missing key restarts from the first bucket.
  uint32_t k = 1234, next;
  ASSERT_EQ(MapGetNextKey(fd, &k, &next), 0);
  EXPECT_EQ(next, 13u);
}

TEST_F(DevmapTest, RemovingADeviceDropsItsEntries) {
  const int dev = NetdevAdd("veth0");
  ASSERT_GT(dev, 1);
  const int arr = Keep(Create(BPF_MAP_TYPE_DEVMAP, 8, 4));
  const int hash = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 4));
  const uint32_t d = static_cast<uint32_t>(dev);
  ASSERT_EQ(Update(arr, 0, {d, 0}), 0);
  ASSERT_EQ(Update(arr, 1, {1, 0}), 0);
  ASSERT_EQ(Update(hash, d, {d, 0}), 0);
  ASSERT_EQ(Update(hash, 1, {1, 0}), 0);
  const int64_t before = MapMemlock(hash);
  ASSERT_EQ(NetdevRemove(d), 0);
  Val v;
  EXPECT_EQ(Lookup(arr, 0, &v), -ENOENT);
  EXPECT_EQ(Lookup(arr, 1, &v), 0);
  EXPECT_EQ(Lookup(hash, d, &v), -ENOENT);
  EXPECT_EQ(Lookup(hash, 1, &v), 0);
  EXPECT_EQ(MapMemlock(hash),
            before - BuildProfileFor(TargetKernel()).dtab_netdev);
  // The device is gone: it can no longer be stored.
  EXPECT_EQ(Update(arr, 0, {d, 0}), -EINVAL);
}

TEST_F(DevmapTest, Memlock) {
  const BuildProfile b = BuildProfileFor(TargetKernel());
  const int arr = Keep(Create(BPF_MAP_TYPE_DEVMAP, 8, 4));
  const int hash = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 3));
  EXPECT_EQ(MapMemlock(arr), b.dtab + 4 * 8);
  EXPECT_EQ(MapMemlock(hash), b.dtab + 4 * 8);  // 4 buckets
  ASSERT_EQ(Update(arr, 2, {1, 0}), 0);
  ASSERT_EQ(Update(hash, 2, {1, 0}), 0);
  EXPECT_EQ(MapMemlock(arr), b.dtab + 4 * 8 + b.dtab_netdev);
  EXPECT_EQ(MapMemlock(hash), b.dtab + 4 * 8 + b.dtab_netdev);
  // 6.18's figures (fdinfo of one- and four-slot probes, this machine).
  const BuildProfile d = DefaultBuildProfile(KernelVersion::k6_18);
  EXPECT_EQ(d.dtab + 8, 352u);
  EXPECT_EQ(d.dtab + 4 * 8 + d.dtab_netdev, 440u);
  EXPECT_EQ(d.cpu_map + 8, 312u);
}

TEST_F(DevmapTest, RedirectLookup) {
  const int hash = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 4));
  const int dev = NetdevAdd("veth0");
  ASSERT_EQ(Update(hash, 7, {static_cast<uint32_t>(dev), 0}), 0);
  ASSERT_EQ(Update(hash, 1, {1, 0}), 0);
  auto map = MapFromFd(hash);
  ASSERT_TRUE(map->IsRedirectMap());
  EXPECT_EQ(map->RedirectFlagMask(),
            uint64_t{BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS});
  RedirectTarget t;
  ASSERT_TRUE(map->RedirectLookup(7, &t));
  EXPECT_EQ(t.ifindex, static_cast<uint32_t>(dev));
  EXPECT_FALSE(map->RedirectLookup(8, &t));
  std::vector<uint32_t> all;
  for (const RedirectTarget& r : map->RedirectBroadcast()) {
    all.push_back(r.ifindex);
  }
  EXPECT_EQ(all, (std::vector<uint32_t>{1, static_cast<uint32_t>(dev)}));
}

// A region opened a second time (as another process would through a pin or
// /proc/PID/fd) is validated and shows the same entries, in the same order.
TEST_F(DevmapTest, ReattachedRegionsShowTheSameEntries) {
  for (uint32_t type :
       {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_CPUMAP}) {
    SCOPED_TRACE(type);
    const int fd = Keep(Create(type, 8, 2));
    ASSERT_GE(fd, 0);
    ASSERT_EQ(Update(fd, 1, {1, 0}), 0);
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int again = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(again, 0);
    ASSERT_EQ(AttachMapFd(again), 0);
    Keep(again);
    Val v;
    ASSERT_EQ(Lookup(again, 1, &v), 0);
    EXPECT_EQ(v.first, 1u);
    EXPECT_EQ(Lookup(again, 0, &v), -ENOENT);
    ASSERT_EQ(Update(again, 0, {1, 0}), 0);
    EXPECT_EQ(NextKeyWalk<uint32_t>(again), NextKeyWalk<uint32_t>(fd));
    EXPECT_EQ(MapMemlock(again), MapMemlock(fd));
  }
}

// A writer that died holding the hash's lock may have left the free list
// and the count half-changed: the next writer rebuilds both from the
// buckets (DevMapHash::Repair).
TEST_F(DevmapTest, HashRepairsAfterAWriterDiedHoldingTheLock) {
  const int fd = Keep(Create(BPF_MAP_TYPE_DEVMAP_HASH, 8, 4));
  ASSERT_EQ(Update(fd, 1, {1, 0}), 0);
  ASSERT_EQ(Update(fd, 2, {1, 0}), 0);
  const int64_t two_entries = MapMemlock(fd);
  const size_t len = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(base, MAP_FAILED);
  auto* shared = reinterpret_cast<DevmapShared*>(static_cast<char*>(base) +
                                                 RoundUp(kBodyOffset, 64));
  const pid_t child = fork();
  if (child == 0) {
    shared->lock.Lock();
    shared->items.store(77);  // half-way through a change
    shared->free_head = 1;    // node 0, which holds key 1
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(Update(fd, 3, {1, 0}), 0);
  ASSERT_EQ(Update(fd, 4, {1, 0}), 0);
  EXPECT_EQ(Update(fd, 5, {1, 0}), -E2BIG);
  EXPECT_EQ(NextKeyWalk<uint32_t>(fd), (std::vector<uint32_t>{4, 1, 2, 3}));
  EXPECT_EQ(MapMemlock(fd),
            two_entries + 2 * BuildProfileFor(TargetKernel()).dtab_netdev);
  munmap(base, len);
}

// ---- CPUMAP ----

TEST_F(DevmapTest, CpumapCreateChecks) {
  const uint32_t t = BPF_MAP_TYPE_CPUMAP;
  EXPECT_EQ(Create(t, 4, 0), -EINVAL);
  EXPECT_EQ(Create(t, 12, 1), -EINVAL);
  EXPECT_EQ(Create(t, 4, 1, BPF_F_RDONLY), -EINVAL);
  EXPECT_EQ(Create(t, 4, 1, BPF_F_RDONLY_PROG), -EINVAL);
  EXPECT_GE(Keep(Create(t, 4, 1, BPF_F_NUMA_NODE)), 0);
  const uint32_t nr = HostNrCpus();
  EXPECT_GE(Keep(Create(t, 8, nr)), 0);
  EXPECT_EQ(Create(t, 8, nr + 1), -E2BIG);
}

TEST_F(DevmapTest, CpumapUpdateRules) {
  const int fd = Keep(Create(BPF_MAP_TYPE_CPUMAP, 8, 4));
  const uint32_t ncpus = MapFromFd(fd)->nr_cpus();
  EXPECT_EQ(Update(fd, 0, {16, 0}, 3), -EINVAL);
  EXPECT_EQ(Update(fd, 4, {16, 0}), -E2BIG);
  EXPECT_EQ(Update(fd, 0, {16, 0}, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(Update(fd, 0, {16385, 0}), -EOVERFLOW);
  if (ncpus < 4) {
    EXPECT_EQ(Update(fd, ncpus, {16, 0}), -ENODEV);
  }
  EXPECT_EQ(Update(fd, 0, {16, 100000}), -ENOMEM);  // bad program fd
  EXPECT_EQ(Update(fd, 0, {16, 0xffffffffu}), 0);   // no program
  Val v;
  ASSERT_EQ(Lookup(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 16u);
  EXPECT_EQ(v.prog, 0u);
  const int devmap_prog = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP);
  EXPECT_EQ(Update(fd, 0, {16, static_cast<uint32_t>(devmap_prog)}), -ENOMEM);
  const int good = Prog(BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP);
  ASSERT_EQ(Update(fd, 0, {32, static_cast<uint32_t>(good)}), 0);
  std::shared_ptr<const bpfemu::Prog> prog;
  ASSERT_EQ(ProgFromFd(good, &prog), 0);
  ASSERT_EQ(Lookup(fd, 0, &v), 0);
  EXPECT_EQ(v.first, 32u);
  EXPECT_EQ(v.prog, prog->id);
  // qsize 0 clears the entry.
  EXPECT_EQ(Update(fd, 0, {0, 0}), 0);
  EXPECT_EQ(Lookup(fd, 0, &v), -ENOENT);
  uint32_t k = 4;
  EXPECT_EQ(MapDeleteElem(fd, &k), -EINVAL);
  k = 1;
  EXPECT_EQ(MapDeleteElem(fd, &k), 0);
  EXPECT_EQ(NextKeyWalk<uint32_t>(fd), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(MapMemlock(fd), BuildProfileFor(TargetKernel()).cpu_map + 4 * 8);
  BpfMapInfo info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(MapGetInfoByFd(fd, &info, &len), 0);
  EXPECT_EQ(info.map_flags, 0u);
}

TEST_F(DevmapTest, CpumapRedirectLookup) {
  const int fd = Keep(Create(BPF_MAP_TYPE_CPUMAP, 4, 2));
  const uint32_t key = 1, qsize = 64;
  ASSERT_EQ(MapUpdateElem(fd, &key, &qsize, 0), 0);
  auto map = MapFromFd(fd);
  EXPECT_TRUE(map->IsRedirectMap());
  EXPECT_EQ(map->RedirectFlagMask(), 0u);
  RedirectTarget t;
  ASSERT_TRUE(map->RedirectLookup(1, &t));
  EXPECT_EQ(t.cpu, 1u);
  EXPECT_FALSE(map->RedirectLookup(0, &t));
}

}  // namespace
}  // namespace bpfemu
