// SPDX-License-Identifier: Apache-2.0
// Crafted map regions (tracker issue 20, item 2): a process that attaches a
// region someone else wrote - through bpf_obj_get on a pin, or AttachMapFd
// on a received fd - must get an errno, never a crash, a hang or a write
// outside its buffers. Each case crafts one field of a valid region through
// the file (as any process that can write it could) and runs the victim in
// a child process bounded by an alarm, so that a crash or a hang on the old
// code fails the test instead of killing or stalling it.
//
// Region offsets used below (the layout is documented in emu/map.h and the
// family headers): MapHeader fields through offsetof; HashBody at
// kBodyOffset with value_slot at +16 and buckets_off at +48; a Bucket is
// { lock, head, seq, reserved }; a ring buffer's consumer and producer
// positions start pages 1 and 2, its data page 3.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "emu/cpu.h"
#include "emu/map.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

constexpr uint64_t kHashValueSlot = kBodyOffset + 16;
constexpr uint64_t kHashBucketsOff = kBodyOffset + 48;
constexpr uint64_t kPage = 4096;

// Victim exit codes.
constexpr int kRefused = 0;    // attach answered EINVAL
constexpr int kWrotePast = 2;  // a lookup wrote past the caller's buffer
constexpr int kAnswered = 3;   // the ops ran and answered errnos
constexpr int kTimedOut = 128 + SIGALRM;

// Runs `victim` in a child bounded by 10 seconds: its exit code, or 128 +
// the signal that ended it (SIGALRM: it hung).
int RunVictim(const std::function<int()>& victim) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(victim());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

template <typename T>
void Poke(int fd, uint64_t off, T v) {
  ASSERT_EQ(pwrite(fd, &v, sizeof(v), static_cast<off_t>(off)),
            static_cast<ssize_t>(sizeof(v)));
}

// Poke at a region offset, wherever the file's layout keeps it (a
// head-at-end file keeps region page 0 on its last page, shm.h).
template <typename T>
void PokeRegion(int fd, uint64_t off, T v) {
  uint64_t file_size = 0;
  if (ShmRegion::HeadAtEnd(fd, &file_size)) {
    off = off < kHeadAtEndBytes ? file_size - kHeadAtEndBytes + off
                                : off - kHeadAtEndBytes;
  }
  Poke<T>(fd, off, v);
}

template <typename T>
T Peek(int fd, uint64_t off) {
  T v{};
  EXPECT_EQ(pread(fd, &v, sizeof(v), static_cast<off_t>(off)),
            static_cast<ssize_t>(sizeof(v)));
  return v;
}

// A fresh descriptor of the same file, unknown to the fd table: what a
// process that received it (or opened the pin) holds.
int Reopen(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 100); }

class RegionAttach : public ::testing::Test {
 protected:
  void SetUp() override { SetNumPossibleCpus(2); }
  void TearDown() override { SetNumPossibleCpus(0); }
};

MapAttr Hash(uint32_t type = BPF_MAP_TYPE_HASH) {
  return MapAttr{
      .map_type = type, .key_size = 4, .value_size = 8, .max_entries = 16};
}

// A lookup that must not fail with a crash: attach, then look up and update
// a few keys. kRefused if attach says EINVAL.
int AttachAndUse(int fd) {
  const int err = AttachMapFd(Reopen(fd));
  if (err == -EINVAL) return kRefused;
  if (err != 0) return 10;
  return kAnswered;
}

TEST_F(RegionAttach, BodyOffsetOutsideRegionIsRefused) {
  const int fd = MapCreate(Hash());
  ASSERT_GE(fd, 0);
  Poke<uint64_t>(fd, kHashBucketsOff, uint64_t{1} << 40);  // was SIGSEGV
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) == -EINVAL) return kRefused;
              uint32_t k = 1;
              uint64_t v = 1;
              (void)MapUpdateElem(m, &k, &v, BPF_ANY);
              return kAnswered;
            }),
            kRefused);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST_F(RegionAttach, ZeroCpusIsRefused) {
  const int fd = MapCreate(Hash(BPF_MAP_TYPE_PERCPU_HASH));
  ASSERT_GE(fd, 0);
  Poke<uint32_t>(fd, offsetof(MapHeader, nr_cpus), 0);  // was SIGFPE
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) == -EINVAL) return kRefused;
              uint32_t k = 1;
              uint64_t v[2] = {1, 2};
              (void)MapUpdateElem(m, &k, v, BPF_ANY);
              return kAnswered;
            }),
            kRefused);
  // Too many CPUs (above kMaxCpus) likewise.
  Poke<uint32_t>(fd, offsetof(MapHeader, nr_cpus), kMaxCpus + 1);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  EXPECT_EQ(CloseFd(fd), 0);
}

// The reproduction of the report: a per-CPU value_slot of 32 KiB made a
// lookup into a correctly sized 16-byte buffer (8-byte value, 2 CPUs) write
// 32,752 attacker-chosen bytes past it.
TEST_F(RegionAttach, PercpuValueSlotCannotOverrunLookupBuffer) {
  const int fd = MapCreate(Hash(BPF_MAP_TYPE_PERCPU_HASH));
  ASSERT_GE(fd, 0);
  uint32_t k = 7;
  uint64_t v[2] = {1, 2};
  ASSERT_EQ(MapUpdateElem(fd, &k, v, BPF_ANY), 0);
  Poke<uint32_t>(fd, kHashValueSlot, 32768);
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) == -EINVAL) return kRefused;
              std::vector<uint8_t> buf(64 * 1024, 0xAA);
              (void)MapLookupElem(m, &k, buf.data(), 0);
              for (size_t i = 16; i < buf.size(); ++i) {
                if (buf[i] != 0xAA) return kWrotePast;
              }
              return kAnswered;
            }),
            kRefused);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Every field the layout depends on is compared with what creation computes.
TEST_F(RegionAttach, EveryGeometryFieldIsChecked) {
  const int fd = MapCreate(Hash(BPF_MAP_TYPE_LRU_HASH));
  ASSERT_GE(fd, 0);
  for (uint64_t off = kBodyOffset; off < kBodyOffset + 80; off += 4) {
    if (off == kBodyOffset + 28 || off == kBodyOffset + 36 ||
        off == kBodyOffset + 40 || off == kBodyOffset + 44 ||
        (off >= kBodyOffset + 52 && off % 8 == 4)) {
      continue;  // reserved, counts (live data), high halves of offsets
    }
    const uint32_t saved = Peek<uint32_t>(fd, off);
    Poke<uint32_t>(fd, off, saved + 64);
    EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused)
        << "body offset " << off - kBodyOffset;
    Poke<uint32_t>(fd, off, saved);
  }
  // Header fields: sizes, type, flags, region size, layout version.
  const std::vector<std::pair<uint64_t, uint32_t>> header = {
      {offsetof(MapHeader, key_size), 12},
      {offsetof(MapHeader, value_size), 4096},
      {offsetof(MapHeader, max_entries), 1u << 20},
      {offsetof(MapHeader, map_flags), BPF_F_NO_PREALLOC},
      {offsetof(MapHeader, map_type), BPF_MAP_TYPE_ARRAY},
      {offsetof(MapHeader, layout_version), kLayoutVersion + 1},
      {offsetof(MapHeader, region_size), 4096},
      {offsetof(MapHeader, spin_lock_off), 4},
  };
  for (const auto& [off, value] : header) {
    const uint32_t saved = Peek<uint32_t>(fd, off);
    Poke<uint32_t>(fd, off, value);
    EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused)
        << "header offset " << off;
    Poke<uint32_t>(fd, off, saved);
  }
  // Restored, it attaches again.
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kAnswered);
  EXPECT_EQ(CloseFd(fd), 0);
}

// A sequence count left odd (a writer that died mid-change, or a crafted
// region) made every lock-free lookup of the bucket spin forever. Readers
// now fall back to the bucket lock after a bounded number of retries.
TEST_F(RegionAttach, OddSequenceCountDoesNotHangLookups) {
  const int fd = MapCreate(Hash());
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 16; ++k) {
    const uint64_t v = k * 10;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  }
  const uint64_t buckets = Peek<uint64_t>(fd, kHashBucketsOff);
  for (uint32_t b = 0; b < 16; ++b) Poke<uint32_t>(fd, buckets + b * 16 + 8, 1);
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) != 0) return 10;
              for (uint32_t k = 0; k < 16; ++k) {
                uint64_t v = 0;
                if (MapLookupElem(m, &k, &v, 0) != 0 || v != k * 10) return 11;
              }
              uint32_t missing = 99;
              uint64_t v;
              if (MapLookupElem(m, &missing, &v, 0) != -ENOENT) return 12;
              return kAnswered;
            }),
            kAnswered);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Intent records (issue 20) are shared state too: crafted ones (any word,
// with or without the tail bit, over cross-linked chains) make the next
// taker run the recovery, which walks bounded, cuts what it cannot follow
// and clears them - every op answers, and the count matches the keys.
TEST_F(RegionAttach, CraftedIntentRecordsAreRepairedNotFollowed) {
  const int fd = MapCreate(Hash());
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 16; ++k) {
    const uint64_t v = k;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  }
  const uint64_t buckets = Peek<uint64_t>(fd, kHashBucketsOff);
  const uint32_t intents[] = {1u, 0xdeadbeefu, 0x80000001u, 0xffffffffu};
  for (uint32_t b = 0; b < 16; ++b) {
    Poke<uint32_t>(fd, buckets + b * 16 + 12, intents[b % 4]);
  }
  for (uint32_t b = 12; b < 16; ++b) {
    Poke<uint32_t>(fd, buckets + b * 16 + 4, 1);  // heads: element 1
  }
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) != 0) return 10;
              uint32_t n = 0, key, next;
              const void* prev = nullptr;
              while (MapGetNextKey(m, prev, &next) == 0 && n <= 32) {
                ++n;
                key = next;
                prev = &key;
              }
              if (n > 16) return 11;
              for (uint32_t k = 100; k < 140; ++k) {
                const uint64_t v = k;
                const int r = MapUpdateElem(m, &k, &v, BPF_NOEXIST);
                if (r != 0 && r != -E2BIG) return 12;
                const int d = MapDeleteElem(m, &k);
                if (d != 0 && d != -ENOENT) return 13;
              }
              return kAnswered;
            }),
            kAnswered);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Element links are followed only inside the pool, and walks are bounded:
// a chain pointing outside the pool, or into a cycle, answers errnos.
TEST_F(RegionAttach, CorruptedLinksStayInsideTheRegion) {
  const int fd = MapCreate(Hash());
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 16; ++k) {
    const uint64_t v = k;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  }
  const uint64_t buckets = Peek<uint64_t>(fd, kHashBucketsOff);
  for (uint32_t b = 0; b < 8; ++b) {
    Poke<uint32_t>(fd, buckets + b * 16 + 4, 0x7fffffffu + b);  // head
  }
  for (uint32_t b = 8; b < 16; ++b) {
    Poke<uint32_t>(fd, buckets + b * 16 + 4, 1);  // every head: element 1
  }
  const uint64_t elems = Peek<uint64_t>(fd, kBodyOffset + 72);
  Poke<uint32_t>(fd, elems, 1);  // element 1 -> element 1: a cycle
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) != 0) return 10;
              for (uint32_t k = 0; k < 64; ++k) {
                uint64_t v = k;
                (void)MapLookupElem(m, &k, &v, 0);
                (void)MapUpdateElem(m, &k, &v, BPF_ANY);
                (void)MapDeleteElem(m, &k);
              }
              uint32_t key = 0, next = 0;
              for (int i = 0; i < 64; ++i) {
                if (MapGetNextKey(m, i == 0 ? nullptr : &key, &next) != 0) {
                  break;
                }
                key = next;
              }
              std::vector<uint32_t> keys(64);
              std::vector<uint64_t> values(64);
              uint32_t count = 64, out = 0;
              (void)MapLookupBatch(m, nullptr, &out, keys.data(), values.data(),
                                   &count, 0, 0);
              return kAnswered;
            }),
            kAnswered);
  EXPECT_EQ(CloseFd(fd), 0);
}

int CountBytes(void* ctx, void* data, size_t size) {
  auto* sum = static_cast<uint64_t*>(ctx);
  for (size_t i = 0; i < size; ++i) *sum += static_cast<uint8_t*>(data)[i];
  return 0;
}

// A ring buffer whose header claims a larger, non-power-of-two data area
// made the consumer hand its callback a record running past the mapping.
TEST_F(RegionAttach, RingbufSizeMustMatchTheFile) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4 * kPage};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  const uint32_t claimed = 7 * kPage;  // not a power of two
  PokeRegion<uint32_t>(fd, offsetof(MapHeader, max_entries), claimed);
  const uint64_t cons = 0x6000;
  PokeRegion<uint64_t>(fd, 1 * kPage, cons);
  PokeRegion<uint64_t>(fd, 2 * kPage, cons + claimed);
  PokeRegion<uint32_t>(fd, 3 * kPage + (cons & (claimed - 1)), claimed - 8);
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) == -EINVAL) return kRefused;
              uint64_t sum = 0;
              int err = 0;
              auto rb = RingBuffer::New(m, CountBytes, &sum, &err);
              if (rb != nullptr) (void)rb->Consume();
              return kAnswered;
            }),
            kRefused);
  // A size that is a power of two but not the file's is refused too.
  PokeRegion<uint32_t>(fd, offsetof(MapHeader, max_entries), 2 * kPage);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Corrupted positions in a valid ring: the consumer answers EINVAL, the
// producer reserves nothing, neither hangs.
TEST_F(RegionAttach, RingbufCorruptedPositionsAreErrnos) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4 * kPage};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  PokeRegion<uint64_t>(fd, 1 * kPage, 8);
  PokeRegion<uint64_t>(fd, 2 * kPage, uint64_t{1} << 40);      // producer
  PokeRegion<uint64_t>(fd, 2 * kPage + 8, uint64_t{1} << 60);  // pending
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) != 0) return 10;
              auto ring = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(m));
              if (ring == nullptr) return 11;
              if (ring->Reserve(16, 0) != nullptr) return 12;
              uint64_t sum = 0;
              int err = 0;
              auto rb = RingBuffer::New(m, CountBytes, &sum, &err);
              if (rb == nullptr || rb->Consume() != -EINVAL) return 13;
              return kAnswered;
            }),
            kAnswered);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Arrays and fd arrays: the value area and slots must lie where creation
// puts them, the sizes match the file.
TEST_F(RegionAttach, ArrayGeometryIsChecked) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_PERCPU_ARRAY,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 4};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  Poke<uint32_t>(fd, kBodyOffset + 4, 32768);  // value_slot
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  Poke<uint32_t>(fd, kBodyOffset + 4, 16);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kAnswered);
  Poke<uint32_t>(fd, offsetof(MapHeader, max_entries), 1u << 30);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  EXPECT_EQ(CloseFd(fd), 0);

  attr = MapAttr{.map_type = BPF_MAP_TYPE_PROG_ARRAY,
                 .key_size = 4,
                 .value_size = 4,
                 .max_entries = 4};
  const int pfd = MapCreate(attr);
  ASSERT_GE(pfd, 0);
  Poke<uint64_t>(pfd, kBodyOffset + 16, uint64_t{1} << 40);  // slots_off
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(pfd); }), kRefused);
  EXPECT_EQ(CloseFd(pfd), 0);
}

// The LRU's own state (node offsets, counts, targets) is checked, and node
// links out of range land on a scratch node.
TEST_F(RegionAttach, LruLinksStayInsideTheRegion) {
  const int fd = MapCreate(Hash(BPF_MAP_TYPE_LRU_HASH));
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < 16; ++k) {
    const uint64_t v = k;
    ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  }
  const uint64_t lru_off = Peek<uint64_t>(fd, kBodyOffset + 32);
  const uint64_t nodes_off = Peek<uint64_t>(fd, lru_off + 24);
  // Every node's prev/next far outside the node array: 16 nodes, id 0 and
  // 7 sentinels (one list's 3 heads, two CPUs' 2 local heads). The lock
  // words after them are left alone (a held lock is issue 20's item 3).
  for (uint32_t id = 0; id < 24; ++id) {
    Poke<uint32_t>(fd, nodes_off + id * 12, 0x40000000u + id);
    Poke<uint32_t>(fd, nodes_off + id * 12 + 4, 0x50000000u + id);
  }
  EXPECT_EQ(RunVictim([&] {
              const int m = Reopen(fd);
              if (AttachMapFd(m) != 0) return 10;
              for (uint32_t k = 0; k < 64; ++k) {
                uint64_t v = k;
                (void)MapUpdateElem(m, &k, &v, BPF_ANY);
                (void)MapLookupElem(m, &k, &v, 0);
                (void)MapDeleteElem(m, &k);
              }
              return kAnswered;
            }),
            kAnswered);
  // A node offset that does not match the recomputed layout is refused.
  Poke<uint64_t>(fd, lru_off + 24, nodes_off + 64);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  EXPECT_EQ(CloseFd(fd), 0);
}

// Issue 20: the LRU lists' intent records (LruList::Intent, one per list
// lock) are replayed by whoever takes their lock over from a dead holder.
// Crafted records under lock words of a dead thread - plans with node ids
// in and out of range, any list number, flags, counts - must leave every
// operation answering: the replay's stores stay inside the region and the
// walks over the lists it breaks stay bounded. A record claimed by a live
// thread (pid 1) for ever is replayed after a bounded wait.
TEST_F(RegionAttach, CraftedLruIntentRecordsStayInsideTheRegion) {
  // A thread id that no longer exists.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  std::mt19937 rng(20);
  for (int round = 0; round < 12; ++round) {
    const int fd = MapCreate(Hash(BPF_MAP_TYPE_LRU_HASH));
    ASSERT_GE(fd, 0);
    for (uint32_t k = 0; k < 16; ++k) {
      const uint64_t v = k;
      ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    }
    const uint64_t lru_off = Peek<uint64_t>(fd, kBodyOffset + 32);
    const uint64_t lists_off = Peek<uint64_t>(fd, lru_off + 32);
    const uint64_t locals_off = Peek<uint64_t>(fd, lru_off + 40);
    // The layout this test assumes: 16 nodes, the global list's heads 17-19
    // at +16, two CPUs' local heads 20-23 at +8 of 128-byte records; the
    // intent record at +28 (list) or +16 (local): state, pad, 48-byte plan.
    ASSERT_EQ(Peek<uint32_t>(fd, lists_off + 16), 17u);
    ASSERT_EQ(Peek<uint32_t>(fd, locals_off + 8), 20u);
    ASSERT_EQ(Peek<uint32_t>(fd, locals_off + 128 + 8), 22u);
    const uint32_t state =
        round % 4 == 3 ? 0x80000001u : static_cast<uint32_t>(dead);
    for (uint64_t rec : {lists_off + 28, locals_off + 16, locals_off + 144}) {
      const uint64_t lock = rec == lists_off + 28 ? lists_off : rec - 16;
      Poke<uint32_t>(fd, lock, static_cast<uint32_t>(dead));
      Poke<uint32_t>(fd, rec, state);
      for (uint64_t off = 8; off < 56; off += 4) {
        const uint32_t r = rng();
        Poke<uint32_t>(fd, rec + off, round % 2 == 0 ? r % 32 : r);
      }
    }
    EXPECT_EQ(RunVictim([&] {
                const int m = Reopen(fd);
                if (AttachMapFd(m) != 0) return 10;
                for (uint32_t k = 0; k < 64; ++k) {
                  uint64_t v = k;
                  SetThreadCpu(static_cast<int>(k % 2));
                  (void)MapUpdateElem(m, &k, &v, BPF_ANY);
                  (void)MapLookupElem(m, &k, &v, 0);
                  (void)MapDeleteElem(m, &k);
                }
                return kAnswered;
              }),
              kAnswered)
        << round;
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

// fuzz50: a per-CPU LRU_HASH whose second CPU's list lock word names no
// thread able to hold it - the calling thread, a live process that maps no
// region (kworker 8 in the fuzzer's finding,
// fuzz/regressions/region_fuzzer/lru_list_lock_live_non_holder), or no
// tid at all. An update on that CPU slept in ShmMutex::LockSlow for ever
// (PercpuPopFree); now the word is taken over, the list's intent replayed,
// and every update answers.
TEST_F(RegionAttach, LruListLockNamingNoHolderIsTakenOver) {
  const pid_t sleeper = fork();
  if (sleeper == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(sleeper, 0);
  usleep(100 * 1000);  // exec()ed: no region mapped
  for (int round = 0; round < 5; ++round) {
    MapAttr attr = Hash(BPF_MAP_TYPE_LRU_HASH);
    attr.map_flags = BPF_F_NO_COMMON_LRU;
    const int fd = MapCreate(attr);
    ASSERT_GE(fd, 0);
    const uint64_t lru_off = Peek<uint64_t>(fd, kBodyOffset + 32);
    const uint64_t lists_off = Peek<uint64_t>(fd, lru_off + 32);
    // Per-CPU lists: one 128-byte record per CPU, its lock word first.
    ASSERT_EQ(Peek<uint32_t>(fd, lru_off), 1u);  // percpu
    const uint64_t lock1 = lists_off + 128;
    ASSERT_EQ(Peek<uint32_t>(fd, lock1), 0u);
    EXPECT_EQ(RunVictim([&] {
                const uint32_t self = static_cast<uint32_t>(getpid());
                const uint32_t words[5] = {
                    self | ShmMutex::kWaiters, self,
                    static_cast<uint32_t>(sleeper) | ShmMutex::kWaiters,
                    ShmMutex::kWaiters, 0xffffffffu};
                Poke<uint32_t>(fd, lock1, words[round]);
                const int m = Reopen(fd);
                if (AttachMapFd(m) != 0) return 10;
                SetThreadCpu(1);
                for (uint32_t k = 0; k < 32; ++k) {
                  uint64_t v = k;
                  if (MapUpdateElem(m, &k, &v, BPF_ANY) != 0) return 11;
                  if (MapLookupElem(m, &k, &v, 0) != 0 || v != k) return 12;
                }
                if (Peek<uint32_t>(fd, lock1) != 0) return 13;  // released
                return kAnswered;
              }),
              kAnswered)
        << round;
    EXPECT_EQ(CloseFd(fd), 0);
  }
  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
}

// A BPF_F_MMAPABLE array's file is head-at-end (shm.h): its values from
// file offset 0, as the kernel's map file shows them, and its header on the
// last page. The layout is in the file's size (one byte past its pages),
// so a header planted in the values (by a program, a user mapping or an
// update) is read as values, and chmod of the file (a pin's mode) changes
// nothing.
TEST_F(RegionAttach, MmapableArrayKeepsItsValuesAtFileOffsetZero) {
  const MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
                     .key_size = 4,
                     .value_size = 8,
                     .max_entries = 4,
                     .map_flags = BPF_F_MMAPABLE};
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 8193);
  uint32_t k = 1;
  uint64_t v = 0x1234;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(Peek<uint64_t>(fd, 8), 0x1234u);
  EXPECT_EQ(Peek<uint64_t>(fd, 4096), MapHeader::kMagic);
  // The header and body copied into the values.
  uint8_t head[256];
  ASSERT_EQ(pread(fd, head, sizeof(head), 4096), ssize_t{sizeof(head)});
  ASSERT_EQ(pwrite(fd, head, sizeof(head), 0), ssize_t{sizeof(head)});
  ASSERT_EQ(fchmod(fd, 0644), 0);
  EXPECT_EQ(
      RunVictim([&] {
        const int m = Reopen(fd);
        if (AttachMapFd(m) != 0) return 10;
        std::shared_ptr<Map> map = MapFromFd(m);
        if (map == nullptr || (map->map_flags() & BPF_F_MMAPABLE) == 0) {
          return 11;
        }
        uint32_t key = 0;
        uint64_t got = 0;
        if (MapLookupElem(m, &key, &got) != 0 || got != MapHeader::kMagic) {
          return 12;
        }
        int err = 0;
        auto* p = static_cast<uint64_t*>(
            MapMmap(m, 4096, PROT_READ, MAP_SHARED, 0, &err));
        if (p == nullptr || p[0] != MapHeader::kMagic) return 13;
        munmap(p, 4096);
        return kAnswered;
      }),
      kAnswered);
  // The header's flags must agree with the file's layout.
  Poke<uint32_t>(fd, 4096 + offsetof(MapHeader, map_flags), 0);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(fd); }), kRefused);
  EXPECT_EQ(CloseFd(fd), 0);

  // A file of the other layout (an array without the flag) that claims it.
  const int plain = MapCreate(MapAttr{.map_type = BPF_MAP_TYPE_ARRAY,
                                      .key_size = 4,
                                      .value_size = 8,
                                      .max_entries = 512});
  ASSERT_GE(plain, 0);
  ASSERT_EQ(fstat(plain, &st), 0);
  EXPECT_NE(st.st_size % 4096, 1);
  Poke<uint32_t>(plain, offsetof(MapHeader, map_flags), BPF_F_MMAPABLE);
  EXPECT_EQ(RunVictim([&] { return AttachAndUse(plain); }), kRefused);
  EXPECT_EQ(CloseFd(plain), 0);
}

}  // namespace
}  // namespace bpfemu
