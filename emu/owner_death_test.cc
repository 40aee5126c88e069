// SPDX-License-Identifier: Apache-2.0
// Locks that survive their owner's death (issue 20, item 3): a process is
// SIGKILLed while it holds a lock of a shared map - stopped there by a test
// point (shm.h LockPointReached) - and the other processes must carry on:
// no wait forever, 0 lost updates, and the map's invariants intact (the
// live count equals the keys reachable by iteration, no key twice, every
// key with the value last written).
//
// Every wait is bounded: the victim's signal is awaited with poll() and a
// timeout, and the survivors run in a child with an alarm(), so a wedged
// lock fails the test as SIGALRM instead of hanging it.
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "emu/cpu.h"
#include "emu/hash_map.h"
#include "emu/kill_at_lock_point.h"
#include "emu/ringbuf.h"
#include "emu/ringbuf_consumer.h"
#include "emu/shm.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// Runs `body` in a child with a 30 s alarm; its exit code (0 = pass), or
// a message naming the signal that ended it.
std::string Survivors(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return "survivors killed by signal " + std::to_string(WTERMSIG(status)) +
           (WTERMSIG(status) == SIGALRM ? " (wedged: waited 30 s)" : "");
  }
  const int code = WEXITSTATUS(status);
  return code == 0 ? "" : "survivors failed check " + std::to_string(code);
}

// Two processes write keys [base, base + n) each (value = key * 3), then
// every invariant is checked. `expect` holds keys that must also be there.
int WriteAndCheck(int fd, uint32_t n, const std::set<uint32_t>& expect) {
  const pid_t other = fork();
  const uint32_t base = other == 0 ? 1000 : 0;
  for (uint32_t k = base; k < base + n; ++k) {
    uint64_t v[2] = {k * 3, k * 3};  // per-CPU maps: one value per CPU
    if (MapUpdateElem(fd, &k, v, BPF_ANY) != 0) {
      if (other == 0) _exit(10);
      return 10;
    }
  }
  if (other == 0) _exit(0);
  int status = 0;
  waitpid(other, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 11;
  std::set<uint32_t> seen;
  uint32_t key, next;
  const void* prev = nullptr;
  while (MapGetNextKey(fd, prev, &next) == 0) {
    if (!seen.insert(next).second) return 12;  // a key twice
    key = next;
    prev = &key;
    if (seen.size() > 4 * n + expect.size()) return 13;  // a cycle
  }
  for (uint32_t k = 0; k < n; ++k) {
    for (uint32_t kk : {k, k + 1000}) {
      uint64_t v[2] = {0, 0};
      if (MapLookupElem(fd, &kk, v) != 0 || v[0] != kk * 3) return 14;  // lost
    }
  }
  for (uint32_t k : expect) {
    uint64_t v[2];
    if (MapLookupElem(fd, &k, v) != 0) return 15;
  }
  std::set<uint32_t> want = expect;
  for (uint32_t k = 0; k < n; ++k) want.insert({k, k + 1000});
  return seen == want ? 0 : 16;
}

int HashMapOf(uint32_t type, uint32_t max_entries, uint32_t flags = 0) {
  MapAttr a;
  a.map_type = type;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = max_entries;
  a.map_flags = flags;
  return MapCreate(a);
}

// Fills the map to exactly max_entries: a count above the reachable keys
// would refuse the last inserts with E2BIG.
int FillsToCapacity(int fd, uint32_t max_entries) {
  uint32_t n = 0, key;
  const void* prev = nullptr;
  uint32_t next;
  while (MapGetNextKey(fd, prev, &next) == 0) {
    ++n;
    key = next;
    prev = &key;
  }
  for (uint32_t k = 100000; n < max_entries; ++k, ++n) {
    uint64_t v[2] = {1, 1};
    if (MapUpdateElem(fd, &k, v, BPF_NOEXIST) != 0) return 20;
  }
  uint32_t k = 999999;
  uint64_t v[2] = {1, 1};
  return MapUpdateElem(fd, &k, v, BPF_NOEXIST) == -E2BIG ? 0 : 21;
}

class OwnerDeath : public ::testing::Test {
 protected:
  void SetUp() override { SetNumPossibleCpus(2); }
};

TEST_F(OwnerDeath, BucketLockHolderKilled) {
  for (uint32_t type :
       {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH}) {
    const int fd = HashMapOf(type, 4096);
    ASSERT_GE(fd, 0);
    uint32_t k = 7;
    uint64_t v[2] = {21, 21};
    ASSERT_TRUE(KillAtLockPoint(LockPoint::kBucketLocked, [&] {
      (void)!MapUpdateElem(fd, &k, v, BPF_ANY);
    })) << type;
    EXPECT_EQ(
        Survivors([&] {
          // The dead process's key's bucket first, then everything.
          if (MapUpdateElem(fd, &k, v, BPF_ANY) != 0) return 1;
          if (int r = WriteAndCheck(fd, 500, {7}); r != 0) return r;
          // LRU maps evict instead of refusing (no E2BIG to see).
          return type == BPF_MAP_TYPE_LRU_HASH ? 0 : FillsToCapacity(fd, 4096);
        }),
        "")
        << type;
    CloseFd(fd);
  }
}

TEST_F(OwnerDeath, WriterKilledInsideChainChange) {
  // The sequence count is left odd: lock-free lookups of that bucket
  // must not spin forever, and the next writer repairs it.
  const int fd = HashMapOf(BPF_MAP_TYPE_HASH, 4096);
  ASSERT_GE(fd, 0);
  uint32_t k = 7;
  uint64_t v = 21;
  ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  ASSERT_TRUE(KillAtLockPoint(LockPoint::kChainWrite,
                              [&] { (void)!MapDeleteElem(fd, &k); }));
  EXPECT_EQ(Survivors([&] {
              uint64_t got = 0;
              // Lookup first: only a reader on the dead writer's bucket.
              if (MapLookupElem(fd, &k, &got) != 0 || got != 21) return 1;
              if (int r = WriteAndCheck(fd, 500, {7}); r != 0) return r;
              if (MapDeleteElem(fd, &k) != 0) return 2;
              return FillsToCapacity(fd, 4096);
            }),
            "");
  CloseFd(fd);
}

TEST_F(OwnerDeath, LruListLockHolderKilled) {
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_COMMON_LRU}}) {
    const int fd = HashMapOf(BPF_MAP_TYPE_LRU_HASH, 256, flags);
    ASSERT_GE(fd, 0);
    uint32_t k = 7;
    uint64_t v = 21;
    ASSERT_TRUE(KillAtLockPoint(LockPoint::kLruListLocked, [&] {
      (void)!MapUpdateElem(fd, &k, &v, BPF_ANY);
    })) << flags;
    EXPECT_EQ(Survivors([&] {
                // More keys than fit: eviction runs through every list.
                for (uint32_t i = 0; i < 2000; ++i) {
                  uint64_t val = i * 3;
                  if (MapUpdateElem(fd, &i, &val, BPF_ANY) != 0) return 1;
                  uint64_t got = 0;
                  if (MapLookupElem(fd, &i, &got) != 0 || got != i * 3) {
                    return 2;  // the update just made was lost
                  }
                }
                return 0;
              }),
              "")
        << flags;
    CloseFd(fd);
  }
}

TEST_F(OwnerDeath, RingbufProducerKilled) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_RINGBUF;
  a.max_entries = 4096;
  const int fd = MapCreate(a);
  ASSERT_GE(fd, 0);
  auto ring = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd));
  ASSERT_NE(ring, nullptr);
  ASSERT_TRUE(KillAtLockPoint(LockPoint::kRingbufLocked, [&] {
    uint64_t x = 1;
    (void)!ring->Output(&x, sizeof(x), 0);
  }));
  EXPECT_EQ(Survivors([&] {
              for (uint64_t i = 0; i < 100; ++i) {
                if (ring->Output(&i, sizeof(i), 0) != 0) return 1;
              }
              // 100 records of 16 bytes, none from the dead producer.
              return ring->Query(BPF_RB_AVAIL_DATA) == 100 * 16 ? 0 : 2;
            }),
            "");
  ring.reset();
  CloseFd(fd);
}

// A producer killed between reserve and commit (a process running a
// program, or a userspace producer) left its record busy for ever: every
// consumer stopped at it and, once the ring filled, every producer failed.
// Its record is now committed as discarded on its behalf: by the next
// producer (waking a consumer asleep at it, in another process) or by a
// consumer that reaches it.
TEST_F(OwnerDeath, RingbufRecordOfAKilledProducerIsDiscarded) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_RINGBUF;
  a.max_entries = 4096;
  const int fd = MapCreate(a);
  ASSERT_GE(fd, 0);
  auto ring = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd));
  ASSERT_NE(ring, nullptr);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t producer = fork();
  if (producer == 0) {
    alarm(30);
    if (ring->Reserve(8, 0) == nullptr) _exit(1);
    (void)!write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  // A consumer in another process, asleep at the busy record (its producer
  // still alive), must be woken with the next producer's record.
  const pid_t consumer = fork();
  if (consumer == 0) {
    alarm(30);
    uint64_t got = 0;
    int err = 0;
    auto rb = RingBuffer::New(
        fd,
        [](void* ctx, void* data, size_t) {
          std::memcpy(ctx, data, sizeof(uint64_t));
          return 0;
        },
        &got, &err);
    if (rb == nullptr) _exit(2);
    while (got != 42) {
      if (rb->Poll(-1) < 0) _exit(3);
    }
    _exit(0);
  }
  usleep(200 * 1000);  // the consumer is asleep
  kill(producer, SIGKILL);
  waitpid(producer, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
  EXPECT_EQ(Survivors([&] {
              const uint64_t v = 42;
              return ring->Output(&v, sizeof(v), 0) == 0 ? 0 : 1;
            }),
            "");
  int status = 0;
  ASSERT_EQ(waitpid(consumer, &status, 0), consumer);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "consumer: status " << status;
  // The ring keeps turning: 1,000 records of 16 bytes through a 4 KiB ring.
  EXPECT_EQ(Survivors([&] {
              uint64_t sum = 0;
              int err = 0;
              auto rb = RingBuffer::New(
                  fd,
                  [](void* ctx, void* data, size_t) {
                    uint64_t x;
                    std::memcpy(&x, data, sizeof(x));
                    *static_cast<uint64_t*>(ctx) += x;
                    return 0;
                  },
                  &sum, &err);
              if (rb == nullptr) return 3;
              for (uint64_t i = 1; i <= 1000; ++i) {
                if (ring->Output(&i, sizeof(i), 0) != 0) return 4;
                if (i % 10 == 0 && rb->Consume() != 10) return 5;
              }
              return sum == 1000 * 1001 / 2 ? 0 : 6;
            }),
            "");
  ring.reset();
  CloseFd(fd);
}

TEST_F(OwnerDeath, FreezeLockHolderKilled) {
  const int fd = HashMapOf(BPF_MAP_TYPE_HASH, 16);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      KillAtLockPoint(LockPoint::kFreezeLocked, [&] { (void)!MapFreeze(fd); }));
  EXPECT_EQ(Survivors([&] {
              if (MapFrozen(fd) != 0) return 1;  // it died before the store
              if (MapFreeze(fd) != 0) return 2;
              uint32_t k = 1;
              uint64_t v = 1;
              return MapUpdateElem(fd, &k, &v, BPF_ANY) == -EPERM ? 0 : 3;
            }),
            "");
  CloseFd(fd);
}

TEST_F(OwnerDeath, ValueSpinLockHolderKilled) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 16;
  a.max_entries = 1;
  a.spin_lock_off = 0;
  const int fd = MapCreate(a);
  ASSERT_GE(fd, 0);
  uint32_t k = 0;
  ASSERT_TRUE(KillAtLockPoint(LockPoint::kValueLocked, [&] {
    uint64_t v[2] = {0, 5};
    (void)!MapUpdateElem(fd, &k, v, BPF_F_LOCK);
  }));
  EXPECT_EQ(Survivors([&] {
              uint64_t v[2] = {0, 9};
              if (MapUpdateElem(fd, &k, v, BPF_F_LOCK) != 0) return 1;
              uint64_t got[2] = {1, 1};
              if (MapLookupElem(fd, &k, got, BPF_F_LOCK) != 0) return 2;
              return got[0] == 0 && got[1] == 9 ? 0 : 3;
            }),
            "");
  CloseFd(fd);
}

// Issue 20: a writer killed *between the steps* of an update or delete
// (element taken but not linked, linked but the old one not unlinked,
// unlinked but not freed, count changed but element not linked, an LRU
// node in hand) must leave the map as if its operation had completed or
// never started. A child updates and deletes random keys in a loop and
// logs, in shared memory, every result it got back; it is SIGKILLed at
// the N-th step boundary (LockPoint::kBetweenSteps, N random) or after a
// random delay. A checker process then verifies: every key whose
// operation returned has the logged state (the one in flight: before or
// after), no key twice, the live count equal to the keys a walk reaches,
// and (non-LRU) the map fills to exactly max_entries, then E2BIG; (LRU)
// max_entries fresh keys all fit. It prints how many kills left which
// inconsistency.
constexpr uint32_t kKeys = 24;
constexpr uint32_t kNone = UINT32_MAX;

struct OpLog {
  std::atomic<uint64_t> expect[kKeys];  // 0: absent
  std::atomic<uint32_t> inflight_key;
  std::atomic<uint64_t> inflight_val;  // its state if the op completes
  std::atomic<uint32_t> ops;
};

int g_steps_left = 0;
void StopBetweenSteps(LockPoint p) {
  if (p != LockPoint::kBetweenSteps || --g_steps_left > 0) return;
  const char c = 1;
  (void)!write(g_signal_fd, &c, 1);
  for (;;) pause();
}

[[noreturn]] void WriterLoop(int fd, OpLog* log, uint32_t seed) {
  std::mt19937 rng(seed);
  for (uint64_t seq = 1;; ++seq) {
    const uint32_t k = rng() % kKeys;
    const bool del = rng() % 3 == 0;
    const uint64_t val = (uint64_t{seed} << 32) | seq;
    log->inflight_val.store(del ? 0 : val);
    log->inflight_key.store(k);
    int r;
    if (del) {
      r = MapDeleteElem(fd, &k);
    } else {
      uint64_t v[2] = {val, val};
      r = MapUpdateElem(fd, &k, v, BPF_ANY);
    }
    if (r == 0) log->expect[k].store(del ? 0 : val);
    log->inflight_key.store(kNone);
    log->ops.fetch_add(1);
  }
}

// 0 when consistent, else the first failed check.
int CheckAfterKill(int fd, uint32_t type, uint32_t max_entries,
                   const OpLog* log) {
  const bool lru = type == BPF_MAP_TYPE_LRU_HASH;
  // 1: a lost update (or a delete undone): keys whose op returned.
  for (uint32_t k = 0; k < kKeys; ++k) {
    uint64_t v[2] = {0, 0};
    const int r = MapLookupElem(fd, &k, v);
    const uint64_t got = r == 0 ? v[0] : 0;
    if (r != 0 && r != -ENOENT) return 1;
    if (got == log->expect[k].load()) continue;
    if (k == log->inflight_key.load() && got == log->inflight_val.load()) {
      continue;
    }
    return 1;
  }
  // 2: a key twice; 3: the count is not the number of keys reachable.
  auto walk = [&](std::set<uint32_t>* seen) {
    uint32_t key, next;
    const void* prev = nullptr;
    while (MapGetNextKey(fd, prev, &next) == 0) {
      if (!seen->insert(next).second) return false;
      if (seen->size() > 2 * max_entries) return false;
      key = next;
      prev = &key;
    }
    return true;
  };
  std::set<uint32_t> seen;
  if (!walk(&seen)) return 2;
  auto hm = std::dynamic_pointer_cast<HashMap>(MapFromFd(fd));
  if (hm == nullptr) return 9;
  if (hm->count() != seen.size()) return 3;
  if (!lru) {
    // 4: E2BIG below max_entries (a leaked element or count);
    // 5: more than max_entries (a count too low).
    uint32_t k = 1000;
    for (size_t n = seen.size(); n < max_entries; ++n, ++k) {
      uint64_t v[2] = {1, 1};
      if (MapUpdateElem(fd, &k, v, BPF_NOEXIST) != 0) return 4;
    }
    uint64_t v[2] = {1, 1};
    if (MapUpdateElem(fd, &k, v, BPF_NOEXIST) != -E2BIG) return 5;
  } else {
    // 4: a leaked LRU node - one neither free nor holding a key. The
    // eviction scans reclaim the nodes a dead writer had in hand; they
    // are made to pass over every node: fresh keys, twice the map's size;
    // every key deleted (the next refill then rotates ACTIVE into
    // INACTIVE, where the scans look); twice the map's size again.
    for (uint32_t k = 1000; k < 1000 + 2 * max_entries; ++k) {
      uint64_t v[2] = {1, 1};
      if (MapUpdateElem(fd, &k, v, BPF_ANY) != 0) return 4;
    }
    for (uint32_t k = 0; k < 1000 + 2 * max_entries; ++k) {
      const int r = MapDeleteElem(fd, &k);
      if (r != 0 && r != -ENOENT) return 7;
    }
    for (uint32_t k = 5000; k < 5000 + 2 * max_entries; ++k) {
      uint64_t v[2] = {1, 1};
      if (MapUpdateElem(fd, &k, v, BPF_ANY) != 0) return 4;
    }
    uint32_t in_use = 0;
    for (uint32_t id = 1; id <= max_entries; ++id) {
      const uint8_t t = hm->lru()->TypeOf(id);
      if (t != LruList::kFree && t != LruList::kLocalFree) ++in_use;
    }
    if (in_use != hm->count()) return 4;
  }
  seen.clear();
  if (!walk(&seen)) return 2;
  return hm->count() == seen.size() ? 0 : 3;
}

TEST_F(OwnerDeath, KilledBetweenTheStepsOfAnUpdate) {
  auto* log =
      static_cast<OpLog*>(mmap(nullptr, sizeof(OpLog), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(log, MAP_FAILED);
  struct Case {
    const char* name;
    uint32_t type, flags, max_entries, cpus;
  };
  const Case cases[] = {
      {"HASH", BPF_MAP_TYPE_HASH, 0, 16, 2},
      {"PERCPU_HASH", BPF_MAP_TYPE_PERCPU_HASH, 0, 16, 2},
      {"HASH NO_PREALLOC", BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC, 16, 2},
      // One CPU: no other CPU's local lists, where a node could sit out of
      // the eviction scans; big enough that the child's keys are never
      // evicted (refills always find free nodes).
      {"LRU_HASH", BPF_MAP_TYPE_LRU_HASH, 0, 1024, 1},
  };
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  constexpr int kIterations = 40;
#else
  constexpr int kIterations = 150;
#endif
  std::mt19937 rng(20);
  int total_bad = 0;
  for (const Case& c : cases) {
    std::map<int, int> bad;  // failed check -> kills
    int at_point = 0, stalled = 0;
    for (int it = 0; it < 2 * kIterations; ++it) {
      const bool injected = it < kIterations;
      SetNumPossibleCpus(c.cpus);
      const int fd = HashMapOf(c.type, c.max_entries, c.flags);
      SetNumPossibleCpus(2);
      ASSERT_GE(fd, 0) << c.name;
      std::memset(static_cast<void*>(log), 0, sizeof(OpLog));
      log->inflight_key.store(kNone);
      int fds[2];
      ASSERT_EQ(pipe(fds), 0);
      const uint32_t seed = rng();
      const int steps = 1 + static_cast<int>(rng() % 60);
      const int delay_us = static_cast<int>(rng() % 3000);
      const pid_t pid = fork();
      if (pid == 0) {
        alarm(30);
        close(fds[0]);
        if (injected) {
          g_signal_fd = fds[1];
          g_steps_left = steps;
          g_lock_point_hook = StopBetweenSteps;
        }
        WriterLoop(fd, log, seed);
      }
      close(fds[1]);
      if (injected) {
        pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 5000) == 1 && (p.revents & POLLIN)) {
          ++at_point;
        } else {
          ++stalled;
        }
      } else {
        usleep(delay_us);
      }
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(fds[0]);
      const pid_t checker = fork();
      if (checker == 0) {
        alarm(30);
        _exit(CheckAfterKill(fd, c.type, c.max_entries, log));
      }
      int status = 0;
      waitpid(checker, &status, 0);
      const int code =
          WIFEXITED(status) ? WEXITSTATUS(status) : 50 + WTERMSIG(status);
      if (code != 0) ++bad[injected ? code : 100 * code];
      CloseFd(fd);
    }
    // Checks failed by kills at injected step points (code) and by kills
    // at random moments (100 * code).
    int n = 0, lru_list = 0;
    std::string detail;
    for (auto [code, count] : bad) {
      detail += std::string(code >= 100 ? " random:" : " injected:") + "check" +
                std::to_string(code >= 100 ? code / 100 : code) + "=" +
                std::to_string(count);
      // A random kill can land inside an LRU list section, leaving a node
      // half moved between two lists: not repaired (docs/reliability.md),
      // so a leaked LRU node there is reported, not failed.
      if (c.type == BPF_MAP_TYPE_LRU_HASH && code == 400) {
        lru_list += count;
      } else {
        n += count;
      }
    }
    std::printf(
        "%-17s %d kills (%d at injected step points, %d random): "
        "%d left the map inconsistent%s%s\n",
        c.name, 2 * kIterations, at_point, kIterations, n + lru_list,
        detail.c_str(),
        lru_list != 0 ? " (random check4 = LRU node leaked)" : "");
    // Before the next fork: a child must not inherit (and print) it again.
    std::fflush(stdout);
    EXPECT_EQ(stalled, 0) << c.name;
    EXPECT_EQ(n, 0) << c.name << detail;
    total_bad += n;
  }
  std::printf("total inconsistent: %d\n", total_bad);
  munmap(log, sizeof(OpLog));
}

// The recovery can start inside an eviction: the LRU holds one of its
// locks when it asks the table to delete a node (DeleteNode), whose bucket
// is the dead writer's. It must neither deadlock nor lose the map.
TEST_F(OwnerDeath, RecoveryStartedByAnEviction) {
  for (int point = 1; point <= 4; ++point) {
    SetNumPossibleCpus(1);
    const int fd = HashMapOf(BPF_MAP_TYPE_LRU_HASH, 64);
    SetNumPossibleCpus(2);
    ASSERT_GE(fd, 0);
    for (uint32_t k = 0; k < 64; ++k) {
      uint64_t v = k;
      ASSERT_EQ(MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
    }
    uint32_t k = 5;
    // Stopped at the point-th step boundary of replacing key 5.
    g_steps_left = point;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(30);
      close(fds[0]);
      g_signal_fd = fds[1];
      g_lock_point_hook = StopBetweenSteps;
      uint64_t v = 555;
      (void)!MapUpdateElem(fd, &k, &v, BPF_ANY);
      _exit(3);
    }
    close(fds[1]);
    pollfd p = {fds[0], POLLIN, 0};
    const bool reached = poll(&p, 1, 5000) == 1;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(fds[0]);
    // The replacement has 4 step boundaries; a 5th is never reached.
    if (!reached) break;
    EXPECT_EQ(Survivors([&] {
                // Fresh keys only: evictions reach the dead bucket first.
                for (uint32_t i = 1000; i < 3000; ++i) {
                  uint64_t v = i;
                  if (MapUpdateElem(fd, &i, &v, BPF_ANY) != 0) return 1;
                  uint64_t got = 0;
                  if (MapLookupElem(fd, &i, &got) != 0 || got != i) return 2;
                }
                auto hm = std::dynamic_pointer_cast<HashMap>(MapFromFd(fd));
                uint32_t n = 0, key, next;
                const void* prev = nullptr;
                while (MapGetNextKey(fd, prev, &next) == 0 && n <= 64) {
                  ++n;
                  key = next;
                  prev = &key;
                }
                return hm->count() == n ? 0 : 3;
              }),
              "")
        << point;
    CloseFd(fd);
  }
}

// A live holder is never robbed: a waiter past the liveness check interval
// still waits for it.
TEST(OwnerAlive, LiveAndDeadThreads) {
  EXPECT_TRUE(OwnerAlive(CurrentTid()));
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  // Unreaped, the child is a zombie: dead for the locks.
  usleep(100 * 1000);
  EXPECT_FALSE(OwnerAlive(static_cast<uint32_t>(pid)));
  waitpid(pid, nullptr, 0);
  EXPECT_FALSE(OwnerAlive(static_cast<uint32_t>(pid)));
}

}  // namespace
}  // namespace bpfemu
