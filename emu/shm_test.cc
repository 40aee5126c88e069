// SPDX-License-Identifier: Apache-2.0
#include "emu/shm.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "emu/bpffs.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

TEST(ShmRegion, CreateIsZeroFilledAndAttachSeesTheSameBytes) {
  ShmRegion a;
  int fd = -1;
  ASSERT_EQ(ShmRegion::Create("t", 8192, &fd, &a), 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(a.size(), 8192u);
  for (uint64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a.base()[i], 0);
  ShmRegion b;
  ASSERT_EQ(ShmRegion::Attach(fd, &b), 0);
  a.base()[100] = 42;
  EXPECT_EQ(b.base()[100], 42);
  close(fd);
}

// Many live regions of both layouts on a disk file system (the test's
// temporary directory): the layout mark used to be the inode number's
// parity, which ext4 (lowest free inode first) stopped giving after 64
// files of one layout: ENOMEM for the 65th map.
TEST(ShmRegion, ManyRegionsOfBothLayoutsOnADiskFileSystem) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/many_regions";
  SetBpffsForTesting("/sys/fs/bpf", dir);
  std::vector<std::pair<int, ShmRegion>> live;
  for (int i = 0; i < 300; ++i) {
    const bool head_at_end = i % 5 == 4;
    int fd = -1;
    ShmRegion r;
    ASSERT_EQ(ShmRegion::Create("t", head_at_end ? 8192 : 4096 + 8 * i, &fd, &r,
                                0, UINT64_MAX, head_at_end),
              0)
        << "region " << i;
    EXPECT_EQ(r.head_at_end(), head_at_end) << "region " << i;
    ShmRegion again;
    ASSERT_EQ(ShmRegion::Attach(fd, &again), 0) << "region " << i;
    EXPECT_EQ(again.head_at_end(), head_at_end) << "region " << i;
    EXPECT_EQ(again.size(), r.size()) << "region " << i;
    live.emplace_back(fd, std::move(r));
  }
  for (auto& [fd, r] : live) close(fd);
}

// A size of the head-at-end form is refused for the other layout.
TEST(ShmRegion, NoPlainRegionHasTheHeadAtEndMark) {
  int fd = -1;
  ShmRegion r;
  EXPECT_EQ(ShmRegion::Create("t", 8193, &fd, &r), -EINVAL);
}

TEST(ShmRegion, AttachRejectsEmptyFile) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ShmRegion r;
  EXPECT_EQ(ShmRegion::Attach(fds[0], &r), -EINVAL);
  close(fds[0]);
  close(fds[1]);
}

TEST(ShmRegion, HugeSizeIsEnomem) {
  ShmRegion r;
  int fd = -1;
  EXPECT_EQ(ShmRegion::Create("t", uint64_t{1} << 62, &fd, &r), -ENOMEM);
}

TEST(ShmMutex, ExcludesThreads) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* mu = r.At<ShmMutex>(0);
  auto* counter = r.At<uint64_t>(64);
  auto work = [&] {
    for (int i = 0; i < 100000; ++i) {
      ShmMutexLock l(mu);
      ++*counter;
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(*counter, 200000u);
  close(fd);
}

TEST(ShmMutex, ExcludesProcesses) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* mu = r.At<ShmMutex>(0);
  auto* counter = r.At<uint64_t>(64);
  constexpr int kChildren = 3, kIters = 20000;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < kIters; ++i) {
        mu->Lock();
        uint64_t v = __atomic_load_n(counter, __ATOMIC_RELAXED);
        __atomic_store_n(counter, v + 1, __ATOMIC_RELAXED);
        mu->Unlock();
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(__atomic_load_n(counter, __ATOMIC_RELAXED),
            uint64_t{kChildren} * kIters);
  close(fd);
}

// Runs `body` in a forked child bounded by 10 seconds: its exit code, or
// 128 + the signal that ended it (SIGALRM: it hung).
int InBoundedChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(body());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// A live process that maps no region: `sleep` (exec drops the mappings
// fork gave it). Its pid once it has exec()ed.
pid_t StartSleeper() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(p[1]);
  char c;
  (void)!read(p[0], &c, 1);  // EOF once exec closed the write end
  close(p[0]);
  return pid;
}

void StopSleeper(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Lock words that name no thread able to hold them (docs/reliability.md,
// "Locks and owner death": a word planted in a region, fuzz50): garbage,
// the waiting thread itself, a live process that does not map the region.
// Each is taken over (Lock() reports it, so the caller repairs), instead
// of the waiter sleeping for ever.
std::vector<uint32_t> NoHolderWords(uint32_t self, uint32_t sleeper) {
  return {
      ShmMutex::kWaiters,               // no tid at all
      ShmMutex::kWaiters | (1u << 22),  // tid >= PID_MAX_LIMIT
      0x7fffffffu,                      // the same, no waiters bit
      0xffffffffu,                      //
      self,                             // the waiter itself
      self | ShmMutex::kWaiters,        //
      sleeper,                          // alive, maps no region
      sleeper | ShmMutex::kWaiters,     //
  };
}

TEST(ShmMutex, WordNamingNoPossibleHolderIsTakenOver) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* mu = r.At<ShmMutex>(0);
  const pid_t sleeper = StartSleeper();
  ASSERT_GT(sleeper, 0);
  EXPECT_EQ(InBoundedChild([&] {
              const uint32_t self = static_cast<uint32_t>(getpid());
              int i = 1;
              for (uint32_t word : NoHolderWords(self, sleeper)) {
                *r.At<uint32_t>(0) = word;
                if (!mu->Lock()) return 10 + i;  // not reported as taken over
                if ((mu->holder() & ~ShmMutex::kWaiters) != self) return 20 + i;
                mu->Unlock();
                if (mu->holder() != 0) return 30 + i;
                ++i;
              }
              return 0;
            }),
            0);
  StopSleeper(sleeper);
  close(fd);
}

TEST(ShmSpinLock, WordNamingNoPossibleHolderIsTakenOver) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* lock = r.At<ShmSpinLock>(0);
  const pid_t sleeper = StartSleeper();
  ASSERT_GT(sleeper, 0);
  EXPECT_EQ(InBoundedChild([&] {
              const uint32_t self = static_cast<uint32_t>(getpid());
              int i = 1;
              for (uint32_t word : NoHolderWords(self, sleeper)) {
                *r.At<uint32_t>(0) = word;
                if (!lock->Lock()) return 10 + i;
                if (lock->holder() != self) return 20 + i;
                lock->Unlock();
                ++i;
              }
              return 0;
            }),
            0);
  StopSleeper(sleeper);
  close(fd);
}

// A value's bpf_spin_lock word naming the waiter (a BPF_F_LOCK copy of a
// crafted value) or a live process that does not map the region.
TEST(ValueSpinLock, WordNamingNoPossibleHolderIsTakenOverWithItsGeneration) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* word = r.At<uint32_t>(0);
  const pid_t sleeper = StartSleeper();
  ASSERT_GT(sleeper, 0);
  EXPECT_EQ(InBoundedChild([&] {
              const uint32_t self = static_cast<uint32_t>(getpid());
              *word = (3u << kValueLockTidBits) | self;
              SpinLockAcquire(word);  // for ever, unless taken over
              if (*word != ((3u << kValueLockTidBits) | self)) return 11;
              SpinLockRelease(word);
              *word =
                  (5u << kValueLockTidBits) | static_cast<uint32_t>(sleeper);
              if (!SpinLockAcquireFor(word, int64_t{8} * 1000 * 1000 * 1000)) {
                return 12;
              }
              if (*word != ((5u << kValueLockTidBits) | self)) return 13;
              SpinLockRelease(word);
              return 0;
            }),
            0);
  StopSleeper(sleeper);
  close(fd);
}

// Starts `body` in a forked child bounded by 10 seconds; WaitBounded
// gives its exit code, or 128 + the signal that ended it.
pid_t StartBounded(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(body());
  }
  return pid;
}

int WaitBounded(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// A live holder that maps the region is never robbed, however long it
// holds the lock: the waiters get it only once the holder unlocks. The
// holder maps the file only through a description of its own, reopened
// through /proc/PID/fd/N (the fork's mapping is dropped), as a peer that
// attached the pinned map would. One waiter blocks on the spin lock first
// and then on the mutex; the other on the mutex alone, from the start, so
// its futex waits time out and the mutex's liveness check (HolderGone:
// the holder's maps) runs about 15 times.
TEST(ShmMutex, LiveHolderThatMapsTheRegionIsWaitedFor) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* mu = r.At<ShmMutex>(0);
  auto* spin = r.At<ShmSpinLock>(64);
  auto* done = r.At<std::atomic<uint32_t>>(128);
  auto* ready = r.At<std::atomic<uint32_t>>(192);
  const pid_t parent = getpid();
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/fd/%d", parent, fd);
    const int own = open(path, O_RDWR | O_CLOEXEC);
    if (own < 0) _exit(2);
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, own, 0);
    if (m == MAP_FAILED) _exit(3);
    close(own);
    close(fd);
    if (munmap(r.base(), r.mapped_size()) != 0) _exit(4);
    auto* b = static_cast<uint8_t*>(m);
    auto* hmu = reinterpret_cast<ShmMutex*>(b);
    auto* hspin = reinterpret_cast<ShmSpinLock*>(b + 64);
    auto* hdone = reinterpret_cast<std::atomic<uint32_t>*>(b + 128);
    auto* hready = reinterpret_cast<std::atomic<uint32_t>*>(b + 192);
    hmu->Lock();
    hspin->Lock();
    hready->store(1);
    usleep(300 * 1000);  // 15 of the waiters' 20 ms liveness checks
    hdone->store(1);
    hspin->Unlock();
    hmu->Unlock();
    _exit(0);
  }
  while (ready->load() == 0) usleep(1000);
  const pid_t both = StartBounded([&] {
    const bool spin_recovered = spin->Lock();
    if (spin_recovered || done->load() != 1) return 1;
    spin->Unlock();
    const bool recovered = mu->Lock();
    if (recovered || done->load() != 1) return 2;
    mu->Unlock();
    return 0;
  });
  const pid_t mutex_only = StartBounded([&] {
    const bool recovered = mu->Lock();
    if (recovered || done->load() != 1) return 3;
    mu->Unlock();
    return 0;
  });
  EXPECT_EQ(WaitBounded(both), 0);
  EXPECT_EQ(WaitBounded(mutex_only), 0);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fd);
}

// A live holder the waiter may not inspect: the waiter runs as nobody with
// /proc mounted hidepid=invisible in its own mount namespace, so kill(tid,
// 0) answers EPERM and /proc/TID/{stat,maps} ENOENT (fs/proc/base.c
// proc_pid_lookup). The holder exists, so it is waited for, not robbed.
TEST(ShmMutex, LiveHolderHiddenByHidepidIsWaitedFor) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* mu = r.At<ShmMutex>(0);
  auto* done = r.At<std::atomic<uint32_t>>(128);
  auto* ready = r.At<std::atomic<uint32_t>>(192);
  auto* go = r.At<std::atomic<uint32_t>>(256);
  const pid_t holder = fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    mu->Lock();
    ready->store(1);
    while (go->load() == 0) usleep(1000);
    usleep(300 * 1000);  // 15 of the waiter's 20 ms liveness checks
    done->store(1);
    mu->Unlock();
    _exit(0);
  }
  while (ready->load() == 0) usleep(1000);
  const int rc = InBoundedChild([&] {
    // 77: cannot set up the hidden view; 78: it does not hide the holder.
    if (unshare(CLONE_NEWNS) != 0) return 77;
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return 77;
    }
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "hidepid=invisible") != 0) {
      return 77;
    }
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
        setuid(65534) != 0) {
      return 77;
    }
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/%d/stat", holder);
    if (kill(holder, 0) == 0 || errno != EPERM) return 78;
    if (open(path, O_RDONLY | O_CLOEXEC) >= 0 || errno != ENOENT) return 78;
    go->store(1);
    const bool recovered = mu->Lock();
    if (recovered || done->load() != 1) return 1;
    mu->Unlock();
    return 0;
  });
  go->store(1);
  int status = 0;
  ASSERT_EQ(waitpid(holder, &status, 0), holder);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(fd);
  if (rc == 77) GTEST_SKIP() << "unshare/mount/setuid not permitted";
  if (rc == 78) GTEST_SKIP() << "hidepid=invisible does not hide the holder";
  EXPECT_EQ(rc, 0);
}

// A value's bpf_spin_lock word: the holder's tid in the low 22 bits, a
// generation every unlock bumps in the high 10 (issue 20: what lets a
// read-only BPF_F_LOCK reader notice a whole locked section).
TEST(ValueSpinLock, UnlockBumpsTheGenerationAndLockKeepsIt) {
  uint32_t word = 0;
  SpinLockAcquire(&word);
  EXPECT_EQ(word, static_cast<uint32_t>(getpid()));  // main thread: tid = pid
  SpinLockRelease(&word);
  EXPECT_EQ(word, 1u << kValueLockTidBits);
  ASSERT_TRUE(SpinLockAcquireFor(&word, 1000 * 1000));
  EXPECT_EQ(word, (1u << kValueLockTidBits) | static_cast<uint32_t>(getpid()));
  SpinLockRelease(&word);
  EXPECT_EQ(word, 2u << kValueLockTidBits);
  // The generation wraps after 1,024 unlocks.
  word = 1023u << kValueLockTidBits;
  SpinLockAcquire(&word);
  SpinLockRelease(&word);
  EXPECT_EQ(word, 0u);
}

TEST(ValueSpinLock, ExcludesThreadsAndTimesOutOnALiveHolder) {
  alignas(8) uint32_t word = 5u << kValueLockTidBits;
  uint64_t counter = 0;
  auto work = [&] {
    for (int i = 0; i < 100000; ++i) {
      SpinLockAcquire(&word);
      __atomic_store_n(&counter,
                       __atomic_load_n(&counter, __ATOMIC_RELAXED) + 1,
                       __ATOMIC_RELAXED);
      SpinLockRelease(&word);
    }
  };
  std::thread t1(work), t2(work);
  t1.join();
  t2.join();
  EXPECT_EQ(counter, 200000u);
  EXPECT_EQ(word, ((5u + 200000u) % 1024u) << kValueLockTidBits);
  // Held by this (live) thread: another waiter gives up after its limit.
  SpinLockAcquire(&word);
  bool got = true;
  std::thread([&] {
    got = SpinLockAcquireFor(&word, 50 * 1000 * 1000);
  }).join();
  EXPECT_FALSE(got);
  SpinLockRelease(&word);
}

TEST(ValueSpinLock, DeadHoldersWordIsTakenOverWithItsGeneration) {
  ShmRegion r;
  int fd;
  ASSERT_EQ(ShmRegion::Create("t", 4096, &fd, &r), 0);
  auto* word = r.At<uint32_t>(0);
  *word = 7u << kValueLockTidBits;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SpinLockAcquire(word);
    _exit(0);  // dies holding it
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(*word, (7u << kValueLockTidBits) | static_cast<uint32_t>(child));
  ASSERT_TRUE(SpinLockAcquireFor(word, int64_t{10} * 1000 * 1000 * 1000));
  EXPECT_EQ(*word, (7u << kValueLockTidBits) | static_cast<uint32_t>(getpid()));
  SpinLockRelease(word);
  EXPECT_EQ(*word, 8u << kValueLockTidBits);
  close(fd);
}

TEST(CopyMap, RoundTripsOddSizes) {
  alignas(8) uint8_t map[64] = {};
  uint8_t src[37], dst[37];
  for (int i = 0; i < 37; ++i) src[i] = static_cast<uint8_t>(i + 1);
  CopyToMap(map, src, sizeof(src));
  CopyFromMap(dst, map, sizeof(dst));
  EXPECT_EQ(std::memcmp(src, dst, sizeof(src)), 0);
  EXPECT_EQ(map[37], 0);  // nothing past n is written
  EXPECT_TRUE(EqualsMap(map, src, sizeof(src)));
  src[36] ^= 1;
  EXPECT_FALSE(EqualsMap(map, src, sizeof(src)));
  ZeroMap(map, 37);
  for (uint8_t b : map) EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace bpfemu
