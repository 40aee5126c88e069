// SPDX-License-Identifier: Apache-2.0
// Issue 20: a pinned map-of-maps keeps its inner maps after the process that
// created them exits, as the kernel's outer map holds a reference on every
// inner map in its slots (kernel/bpf/map_in_map.c bpf_map_fd_get_ptr /
// bpf_map_fd_put_ptr). A child creates the outer and inner maps, fills the
// inners, pins the outer and exits; the parent (another process) opens the
// pin, reads a slot's id, gets an fd by id and reads the values. Deleting or
// replacing the slot drops the reference: the inner map goes away once no fd
// holds it. A process killed inside an update strands nothing.
// //kernel_compare:map_in_map_pin_compare_test runs the same scenario on the
// kernel.

#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "emu/bpffs.h"
#include "emu/kill_at_lock_point.h"
#include "emu/map_in_map.h"
#include "emu/shm.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

constexpr const char* kPin = "/sys/fs/bpf/mim_outer";

int CreateMap(uint32_t type, uint32_t value_size, uint32_t max_entries,
              int inner_fd = 0) {
  MapAttr a{.map_type = type,
            .key_size = 4,
            .value_size = value_size,
            .max_entries = max_entries};
  a.inner_map_fd = static_cast<uint32_t>(inner_fd);
  return MapCreate(a);
}

// An inner ARRAY of 4 u64 values base + i.
int FilledInner(uint64_t base) {
  const int fd = CreateMap(BPF_MAP_TYPE_ARRAY, 8, 4);
  for (uint32_t i = 0; fd >= 0 && i < 4; ++i) {
    const uint64_t v = base + i;
    if (MapUpdateElem(fd, &i, &v, BPF_ANY) != 0) return -1;
  }
  return fd;
}

// 0 when the map `fd` holds base + i at every index i.
int CheckInner(int fd, uint64_t base) {
  for (uint32_t i = 0; i < 4; ++i) {
    uint64_t v = 0;
    if (int err = MapLookupElem(fd, &i, &v); err != 0) return err;
    if (v != base + i) return -1000 - static_cast<int>(i);
  }
  return 0;
}

// Runs `body` in a child process and returns its exit status (or 100 +
// signal), bounded by an alarm.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    _exit(body());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

class MapInMapPinTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    store_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/mim_pin_store";
    SetBpffsForTesting("/sys/fs/bpf", store_);
    ASSERT_GE(BpffsStorageFd(), 0);
    BpffsUnlink(kPin);
  }
  void TearDown() override { BpffsUnlink(kPin); }

  // The names in the per-user by-id directory (the links that keep slot
  // maps alive).
  std::vector<std::string> ById() const {
    std::vector<std::string> out;
    const std::string dir = store_ + "/.byid-" + std::to_string(geteuid());
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') out.push_back(e->d_name);
      }
      closedir(d);
    }
    return out;
  }

  // In a child: an outer map of the test's type with `n` inner maps (values
  // 100 * (slot + 1) + i) in slots 0..n-1, pinned at kPin; the child exits
  // without closing anything. 0 on success.
  int ChildPinsOuter(int n) {
    const uint32_t type = GetParam();
    return InChild([&] {
      const int tmpl = CreateMap(BPF_MAP_TYPE_ARRAY, 8, 4);
      const int outer = CreateMap(type, 4, 8, tmpl);
      if (outer < 0) return 1;
      for (int s = 0; s < n; ++s) {
        const int inner = FilledInner(100 * (s + 1));
        if (inner < 0) return 2;
        const uint32_t key = s, value = inner;
        if (MapUpdateElem(outer, &key, &value, BPF_ANY) != 0) return 3;
      }
      if (ObjPin(outer, kPin) != 0) return 4;
      return 0;
    });
  }

  static std::string OuterId(int fd) {
    return std::to_string(MapFromFd(fd)->id());
  }

  // The id in slot `key` of the outer map `outer`, or 0.
  static uint32_t SlotId(int outer, uint32_t key) {
    uint32_t id = 0;
    return MapLookupElem(outer, &key, &id) == 0 ? id : 0;
  }

  std::string store_;
};

TEST_P(MapInMapPinTest, InnerMapsOutliveTheirCreator) {
  ASSERT_EQ(ChildPinsOuter(2), 0);
  const int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const uint32_t id0 = SlotId(outer, 0), id1 = SlotId(outer, 1);
  ASSERT_NE(id0, 0u);
  ASSERT_NE(id1, 0u);

  // The creator is gone: the slots keep the inner maps, reachable by id.
  const int in0 = MapGetFdById(id0);
  ASSERT_GE(in0, 0) << "inner map " << id0 << " lost: " << in0;
  EXPECT_EQ(CheckInner(in0, 100), 0);
  EXPECT_EQ(InnerMapRefCount(id0), 1);
  // And from the program face (bpf_map_lookup_elem on the outer map).
  const uint32_t key1 = 1;
  const void* slot = MapFromFd(outer)->LookupElemProg(&key1);
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(MapFromId(id1) != nullptr, true);
  // A third process sees them too.
  EXPECT_EQ(InChild([&] {
              const int fd = MapGetFdById(id1);
              return fd < 0 ? 1 : CheckInner(fd, 200) == 0 ? 0 : 2;
            }),
            0);

  // Deleting slot 0 while an fd holds the inner map: the fd still works,
  // and once it is closed the map is gone.
  uint32_t key0 = 0;
  ASSERT_EQ(MapDeleteElem(outer, &key0), 0);
  EXPECT_EQ(InnerMapRefCount(id0), 0);
  EXPECT_EQ(CheckInner(in0, 100), 0);
  EXPECT_EQ(CloseFd(in0), 0);
  EXPECT_EQ(MapGetFdById(id0), -ENOENT);
  EXPECT_EQ(InChild([&] { return MapGetFdById(id0) == -ENOENT ? 0 : 1; }), 0);

  // Deleting slot 1 with no fd open: gone at once, in every process.
  ASSERT_EQ(MapDeleteElem(outer, &key1), 0);
  EXPECT_EQ(MapGetFdById(id1), -ENOENT);
  EXPECT_EQ(InChild([&] { return MapGetFdById(id1) == -ENOENT ? 0 : 1; }), 0);
  // Only the outer map's own link is left (it releases the slots if the
  // outer map dies with them full).
  EXPECT_EQ(ById(), std::vector<std::string>{OuterId(outer)});
  EXPECT_EQ(CloseFd(outer), 0);
}

TEST_P(MapInMapPinTest, ReplacingASlotDropsTheOldInner) {
  ASSERT_EQ(ChildPinsOuter(1), 0);
  const int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const uint32_t old_id = SlotId(outer, 0);
  ASSERT_NE(old_id, 0u);

  // Replaced by another process's map: the old inner goes, the new one is
  // held by the slot after its creator closes its fd and exits.
  EXPECT_EQ(InChild([&] {
              const int o = ObjGet(kPin);
              const int inner = FilledInner(900);
              const uint32_t key = 0, value = inner;
              if (o < 0 || inner < 0) return 1;
              if (MapUpdateElem(o, &key, &value, BPF_ANY) != 0) return 2;
              return CloseFd(inner) == 0 ? 0 : 3;
            }),
            0);
  EXPECT_EQ(MapGetFdById(old_id), -ENOENT);
  const uint32_t new_id = SlotId(outer, 0);
  ASSERT_NE(new_id, 0u);
  ASSERT_NE(new_id, old_id);
  EXPECT_EQ(InnerMapRefCount(new_id), 1);
  const int in = MapGetFdById(new_id);
  ASSERT_GE(in, 0);
  EXPECT_EQ(CheckInner(in, 900), 0);

  // Storing the same map in a second slot: two references, one link.
  const uint32_t key1 = 1, v = in;
  ASSERT_EQ(MapUpdateElem(outer, &key1, &v, BPF_ANY), 0);
  EXPECT_EQ(InnerMapRefCount(new_id), 2);
  EXPECT_EQ(ById().size(), 2u);  // the outer map and `in`
  EXPECT_EQ(CloseFd(in), 0);
  const uint32_t key0 = 0;
  ASSERT_EQ(MapDeleteElem(outer, &key0), 0);
  EXPECT_EQ(InnerMapRefCount(new_id), 1);
  const int again = MapGetFdById(new_id);
  ASSERT_GE(again, 0);
  EXPECT_EQ(CheckInner(again, 900), 0);
  EXPECT_EQ(CloseFd(again), 0);
  ASSERT_EQ(MapDeleteElem(outer, &key1), 0);
  EXPECT_EQ(MapGetFdById(new_id), -ENOENT);
  // Only the outer map's own link is left (it releases the slots if the
  // outer map dies with them full).
  EXPECT_EQ(ById(), std::vector<std::string>{OuterId(outer)});
  EXPECT_EQ(CloseFd(outer), 0);
}

// A process killed inside an update: with the by-id lock held (after its
// count changed), or with the new inner's reference taken and the slot not
// yet written. The others carry on (no lock stranded), the slot still
// holds the old inner, reachable by id, and no slot names a map that is
// gone.
TEST_P(MapInMapPinTest, ProcessKilledDuringAnUpdate) {
  ASSERT_EQ(ChildPinsOuter(1), 0);
  const int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const uint32_t old_id = SlotId(outer, 0);
  ASSERT_NE(old_id, 0u);

  for (LockPoint point :
       {LockPoint::kSlotRefsLocked, LockPoint::kSlotRefTaken}) {
    SCOPED_TRACE(static_cast<int>(point));
    ASSERT_TRUE(KillAtLockPoint(point, [&] {
      const int inner = FilledInner(700);
      const uint32_t key = 0, value = inner;
      (void)!MapUpdateElem(outer, &key, &value, BPF_ANY);
    }));
    EXPECT_EQ(SlotId(outer, 0), old_id);
    const int in = MapGetFdById(old_id);
    ASSERT_GE(in, 0);
    EXPECT_EQ(CheckInner(in, 100), 0);
    EXPECT_EQ(CloseFd(in), 0);
    EXPECT_EQ(InnerMapRefCount(old_id), 1);
  }

  // Another process's update goes through (bounded by its alarm): the lock
  // died with its holder.
  EXPECT_EQ(InChild([&] {
              const int inner = FilledInner(500);
              const uint32_t key = 2, value = inner;
              return MapUpdateElem(outer, &key, &value, BPF_ANY) == 0 ? 0 : 1;
            }),
            0);
  const uint32_t id2 = SlotId(outer, 2);
  ASSERT_NE(id2, 0u);
  const int in2 = MapGetFdById(id2);
  ASSERT_GE(in2, 0);
  EXPECT_EQ(CheckInner(in2, 500), 0);
  EXPECT_EQ(CloseFd(in2), 0);
  for (uint32_t key : {0u, 2u}) EXPECT_EQ(MapDeleteElem(outer, &key), 0);
  EXPECT_EQ(MapGetFdById(old_id), -ENOENT);
  EXPECT_EQ(MapGetFdById(id2), -ENOENT);
  // The victims' new inner maps: the one killed with the lock held had
  // counted its reference, the other had taken it without writing the
  // slot. Both counts were too high until a sweep recounted them from the
  // slots (none holds them; a process's first outer-map command sweeps):
  // then nothing but the outer map is linked.
  SweepByIdDirectory();
  EXPECT_EQ(ById(), std::vector<std::string>{OuterId(outer)});
  EXPECT_EQ(CloseFd(outer), 0);
}

// The outer map's own death puts its inner maps, as the kernel's map free
// does: an unpinned outer map whose creator exits (the next sweep finds no
// holder), and a pinned one once it is unpinned and its last fd - in a
// forked child too - is closed.
TEST_P(MapInMapPinTest, DeadOuterMapReleasesItsInners) {
  const uint32_t type = GetParam();
  // Unpinned, creator exits with the slots full.
  uint32_t ids[2] = {0, 0};
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(InChild([&] {
              const int tmpl = CreateMap(BPF_MAP_TYPE_ARRAY, 8, 4);
              const int outer = CreateMap(type, 4, 8, tmpl);
              uint32_t got[2];
              for (uint32_t s = 0; s < 2; ++s) {
                const int inner = FilledInner(10 * (s + 1));
                const uint32_t value = inner;
                if (MapUpdateElem(outer, &s, &value, BPF_ANY) != 0) return 1;
                got[s] = MapFromFd(inner)->id();
              }
              return write(pipefd[1], got, sizeof(got)) == sizeof(got) ? 0 : 2;
            }),
            0);
  ASSERT_EQ(read(pipefd[0], ids, sizeof(ids)), ssize_t{sizeof(ids)});
  close(pipefd[0]);
  close(pipefd[1]);
  SweepByIdDirectory();
  EXPECT_EQ(MapGetFdById(ids[0]), -ENOENT);
  EXPECT_EQ(MapGetFdById(ids[1]), -ENOENT);
  EXPECT_TRUE(ById().empty());

  // Pinned: alive while the pin or an fd (this process's, a child's) holds
  // it.
  ASSERT_EQ(ChildPinsOuter(1), 0);
  int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const uint32_t id = SlotId(outer, 0);
  ASSERT_EQ(BpffsUnlink(kPin), 0);
  int in = MapGetFdById(id);
  ASSERT_GE(in, 0) << "the open outer map still holds its inner";
  EXPECT_EQ(CheckInner(in, 100), 0);
  EXPECT_EQ(CloseFd(in), 0);
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  const pid_t holder = fork();
  if (holder == 0) {
    alarm(30);
    close(sync[1]);
    char c;
    (void)!read(sync[0], &c, 1);  // holds the inherited outer fd until told
    _exit(0);
  }
  close(sync[0]);
  EXPECT_EQ(CloseFd(outer), 0);
  in = MapGetFdById(id);
  EXPECT_GE(in, 0) << "the child's inherited fd still holds the outer map";
  if (in >= 0) {
    EXPECT_EQ(CloseFd(in), 0);
  }
  close(sync[1]);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  SweepByIdDirectory();
  EXPECT_EQ(MapGetFdById(id), -ENOENT);
  EXPECT_TRUE(ById().empty());
}

// An inner map removed from its slot while an fd holds it, then stored
// again, is shared again: its by-id link stayed while the fd held it (Linux
// cannot link a file once more after its last name went).
TEST_P(MapInMapPinTest, InnerStoredAgainStaysShared) {
  ASSERT_EQ(ChildPinsOuter(0), 0);
  const int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const int inner = FilledInner(40);
  ASSERT_GE(inner, 0);
  const uint32_t id = MapFromFd(inner)->id();
  const uint32_t key = 0, value = inner;
  ASSERT_EQ(MapUpdateElem(outer, &key, &value, BPF_ANY), 0);
  ASSERT_EQ(MapDeleteElem(outer, &key), 0);
  EXPECT_EQ(InnerMapRefCount(id), 0);
  // Still held by this process's fd: another process finds it by id, as
  // the kernel finds any live map.
  EXPECT_EQ(InChild([&] { return MapGetFdById(id) >= 0 ? 0 : 1; }), 0);
  ASSERT_EQ(MapUpdateElem(outer, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(InnerMapRefCount(id), 1);
  EXPECT_EQ(CloseFd(inner), 0);
  EXPECT_EQ(InChild([&] {
              const int fd = MapGetFdById(id);
              return fd < 0 ? 1 : CheckInner(fd, 40) == 0 ? 0 : 2;
            }),
            0);
  ASSERT_EQ(MapDeleteElem(outer, &key), 0);
  EXPECT_EQ(MapGetFdById(id), -ENOENT);
  EXPECT_EQ(ById(), std::vector<std::string>{OuterId(outer)});
  EXPECT_EQ(CloseFd(outer), 0);
}

// The by-id directory is part of the storage directory's trust boundary
// (docs/reliability.md): a link planted in place of the directory, or of
// an id in it, is never followed. Slot references then stay process-local,
// and nothing is created, opened or written outside the storage directory.
TEST_P(MapInMapPinTest, PlantedByIdLinksAreNotFollowed) {
  const std::string outside = store_ + "_outside";
  mkdir(outside.c_str(), 0700);
  const std::string byid = store_ + "/.byid-" + std::to_string(geteuid());
  // Nothing is linked in this test's storage yet (earlier cases leave only
  // their outer maps, which are gone once unpinned and closed).
  SweepByIdDirectory();
  std::vector<std::string> left = ById();
  left.push_back(".inflight");
  for (const std::string& name : left) {
    unlink((byid + "/" + name).c_str());
  }
  ASSERT_TRUE(rmdir(byid.c_str()) == 0 || errno == ENOENT);
  ASSERT_EQ(symlink(outside.c_str(), byid.c_str()), 0);
  const int tmpl = CreateMap(BPF_MAP_TYPE_ARRAY, 8, 4);
  const int outer = CreateMap(GetParam(), 4, 8, tmpl);
  const int inner = FilledInner(60);
  const uint32_t id = MapFromFd(inner)->id();
  const uint32_t key = 0, value = inner;
  ASSERT_EQ(MapUpdateElem(outer, &key, &value, BPF_ANY), 0);
  EXPECT_EQ(InnerMapRefCount(id), 1);  // this process's reference
  EXPECT_EQ(CloseFd(inner), 0);
  const int again = MapGetFdById(id);
  ASSERT_GE(again, 0);
  EXPECT_EQ(CheckInner(again, 60), 0);
  EXPECT_EQ(CloseFd(again), 0);
  DIR* d = opendir(outside.c_str());
  ASSERT_NE(d, nullptr);
  int entries = 0;
  while (dirent* e = readdir(d)) entries += e->d_name[0] != '.';
  closedir(d);
  EXPECT_EQ(entries, 0) << "created through the planted directory link";
  ASSERT_EQ(MapDeleteElem(outer, &key), 0);
  EXPECT_EQ(MapGetFdById(id), -ENOENT);
  unlink(byid.c_str());

  // A real directory with a link planted under an id: not followed.
  ASSERT_EQ(mkdir(byid.c_str(), 0700), 0);
  const std::string secret = outside + "/secret";
  const int f = open(secret.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(f, 0);
  ASSERT_EQ(ftruncate(f, 4096), 0);
  close(f);
  ASSERT_EQ(symlink(secret.c_str(), (byid + "/777777").c_str()), 0);
  EXPECT_EQ(MapGetFdById(777777), -ENOENT);
  SweepByIdDirectory();
  struct stat st;
  ASSERT_EQ(stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4096);
  unlink((byid + "/777777").c_str());
  unlink(secret.c_str());
  rmdir(outside.c_str());
  for (int fd : {outer, tmpl}) EXPECT_EQ(CloseFd(fd), 0);
}

// The cost of shared references (informational: the rate is printed, not
// checked): replacing a slot's inner map takes the by-id lock and links.
TEST_P(MapInMapPinTest, ReplacementRate) {
  const int tmpl = CreateMap(BPF_MAP_TYPE_ARRAY, 8, 4);
  const int outer = CreateMap(GetParam(), 4, 8, tmpl);
  const int a = FilledInner(1), b = FilledInner(2);
  ASSERT_GE(outer, 0);
  constexpr int kN = 2000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) {
    const uint32_t key = 0, value = i % 2 ? a : b;
    ASSERT_EQ(MapUpdateElem(outer, &key, &value, BPF_ANY), 0);
  }
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%d slot replacements: %.1f us each, %.0f/s\n", kN, s * 1e6 / kN,
              kN / s);
  const uint32_t key = 0;
  EXPECT_EQ(MapDeleteElem(outer, &key), 0);
  for (int fd : {a, b, outer, tmpl}) EXPECT_EQ(CloseFd(fd), 0);
  EXPECT_TRUE(ById().empty());
}

// The same with BPF_F_MMAPABLE inner maps, whose files keep the header on
// their last page (emu/shm.h, head-at-end): the slot counts are read and
// written there, so the inner maps outlive their creator and go once their
// slots are emptied.
TEST_P(MapInMapPinTest, MmapableInnerMapsOutliveTheirCreator) {
  const uint32_t type = GetParam();
  auto mmapable = [] {
    MapAttr a{.map_type = BPF_MAP_TYPE_ARRAY,
              .key_size = 4,
              .value_size = 8,
              .max_entries = 4,
              .map_flags = BPF_F_MMAPABLE};
    return MapCreate(a);
  };
  ASSERT_EQ(InChild([&] {
              const int tmpl = mmapable();
              const int outer = CreateMap(type, 4, 8, tmpl);
              const int inner = mmapable();
              if (outer < 0 || inner < 0) return 1;
              for (uint32_t i = 0; i < 4; ++i) {
                const uint64_t v = 300 + i;
                if (MapUpdateElem(inner, &i, &v, BPF_ANY) != 0) return 2;
              }
              const uint32_t key = 0, value = inner;
              if (MapUpdateElem(outer, &key, &value, BPF_ANY) != 0) return 3;
              return ObjPin(outer, kPin) != 0 ? 4 : 0;
            }),
            0);
  const int outer = ObjGet(kPin);
  ASSERT_GE(outer, 0);
  const uint32_t id = SlotId(outer, 0);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(InnerMapRefCount(id), 1);
  const int in = MapGetFdById(id);
  ASSERT_GE(in, 0) << "inner map " << id << " lost: " << in;
  EXPECT_EQ(CheckInner(in, 300), 0);
  EXPECT_EQ(CloseFd(in), 0);
  uint32_t key0 = 0;
  ASSERT_EQ(MapDeleteElem(outer, &key0), 0);
  EXPECT_EQ(MapGetFdById(id), -ENOENT);
  EXPECT_EQ(CloseFd(outer), 0);
}

INSTANTIATE_TEST_SUITE_P(Types, MapInMapPinTest,
                         ::testing::Values(BPF_MAP_TYPE_ARRAY_OF_MAPS,
                                           BPF_MAP_TYPE_HASH_OF_MAPS),
                         [](const auto& info) {
                           return std::string(info.param ==
                                                      BPF_MAP_TYPE_ARRAY_OF_MAPS
                                                  ? "ArrayOfMaps"
                                                  : "HashOfMaps");
                         });

}  // namespace
}  // namespace bpfemu
