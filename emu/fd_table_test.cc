// SPDX-License-Identifier: Apache-2.0
// The fd table's borrow protocol: errnos, lifetime of a borrowed map across
// close, nesting beyond the hazard slots, concurrent borrowers and writers,
// and fork. Run under --config=asan / --config=tsan to check the reclamation.

#include "emu/fd_table.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "emu/array_map.h"
#include "emu/hazard.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// A fresh ARRAY map and the descriptor that names it.
int NewMap(std::shared_ptr<Map>* out) {
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 4;
  int fd = -1;
  std::unique_ptr<Map> map;
  if (ArrayMap::kArrayOps.alloc(attr, 1, &fd, &map) != 0) return -1;
  *out = std::move(map);
  return fd;
}

TEST(FdTableTest, BorrowAnswersLikeBpfMapGet) {
  std::shared_ptr<Map> map;
  const int fd = NewMap(&map);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{map, true, false}), 0);
  {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    EXPECT_EQ(ref->map.get(), map.get());
    EXPECT_TRUE(ref->readable);
    EXPECT_FALSE(ref->writable);
  }
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  FdRef not_a_map;
  EXPECT_EQ(FdTable::Get().Borrow(pipe_fds[0], &not_a_map), -EINVAL);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  FdRef closed;
  EXPECT_EQ(FdTable::Get().Borrow(pipe_fds[0], &closed), -EBADF);
  FdRef negative;
  EXPECT_EQ(FdTable::Get().Borrow(-1, &negative), -EBADF);
  EXPECT_EQ(FdTable::Get().Insert(FdTable::kMaxFd, FdEntry{map, true, true}),
            -EMFILE);
  EXPECT_TRUE(FdTable::Get().Erase(fd));
  EXPECT_FALSE(FdTable::Get().Erase(fd));
  close(fd);
}

// The per-thread borrow cache (fd_table.h) never answers with an entry the
// table no longer holds: a descriptor rebound to another map or mode, closed,
// or sharing a cache line with another descriptor answers as the table does.
TEST(FdTableTest, BorrowCacheFollowsEveryChange) {
  std::shared_ptr<Map> first, second, other;
  const int fd = NewMap(&first);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{first, true, false}), 0);
  for (int round = 0; round < 2; ++round) {  // the second round hits
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    EXPECT_EQ(ref->map.get(), first.get());
    EXPECT_FALSE(ref->writable);
  }
  // Rebound (a dup by id of another map landing on this number).
  const int second_fd = NewMap(&second);
  ASSERT_GE(second_fd, 0);
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{second, true, true}), 0);
  for (int round = 0; round < 2; ++round) {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    EXPECT_EQ(ref->map.get(), second.get());
    EXPECT_TRUE(ref->writable);
  }
  // Another descriptor on the same cache line, then this one again.
  const int other_fd = NewMap(&other);
  ASSERT_GE(other_fd, 0);
  const int same_line = fd + 8;
  ASSERT_EQ(FdTable::Get().Insert(same_line, FdEntry{other, true, false}), 0);
  {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(same_line, &ref), 0);
    EXPECT_EQ(ref->map.get(), other.get());
  }
  {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    EXPECT_EQ(ref->map.get(), second.get());
  }
  // Closed: the cached entry is not used.
  EXPECT_TRUE(FdTable::Get().Erase(fd));
  {
    FdRef ref;
    // Still an open descriptor, no longer a map: EINVAL (__bpf_map_get).
    EXPECT_EQ(FdTable::Get().Borrow(fd, &ref), -EINVAL);
  }
  EXPECT_TRUE(FdTable::Get().Erase(same_line));
  close(fd);
  close(second_fd);
  close(other_fd);
}

// Like a file an in-flight syscall holds, a borrowed map outlives its
// close and goes away with the borrow.
TEST(FdTableTest, BorrowedMapOutlivesErase) {
  std::weak_ptr<Map> weak;
  int fd;
  {
    std::shared_ptr<Map> map;
    fd = NewMap(&map);
    ASSERT_GE(fd, 0);
    weak = map;
    ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{std::move(map), true, true}),
              0);
  }
  {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    EXPECT_TRUE(FdTable::Get().Erase(fd));
    EXPECT_FALSE(weak.expired());
    EXPECT_EQ(ref->map->max_entries(), 4u);
    EXPECT_TRUE(FdTable::Get().reclaim_pending());
  }
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(FdTable::Get().reclaim_pending());
  close(fd);
}

// Each thread has four hazard slots; deeper nesting falls back to a counted
// copy taken under the table's lock.
TEST(FdTableTest, NestedBorrowsBeyondTheHazardSlots) {
  std::shared_ptr<Map> map;
  const int fd = NewMap(&map);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{map, true, true}), 0);
  constexpr int kDepth = 7;
  std::vector<std::unique_ptr<FdRef>> refs;
  for (int i = 0; i < kDepth; ++i) {
    refs.push_back(std::make_unique<FdRef>());
    ASSERT_EQ(FdTable::Get().Borrow(fd, refs.back().get()), 0) << i;
    EXPECT_EQ((*refs.back())->map.get(), map.get());
  }
  // Released out of order, the slots are still handed back.
  refs.erase(refs.begin() + 1);
  refs.erase(refs.begin());
  refs.clear();
  hazard::Guard fresh;
  EXPECT_TRUE(fresh.ok());
  EXPECT_TRUE(FdTable::Get().Erase(fd));
  close(fd);
}

// Borrowers on two threads while a writer keeps rebinding the descriptor to
// new maps and closing it. Every borrow sees a whole entry, and every map is
// freed at the end. ASan and TSan check that no entry is freed under a
// borrower.
TEST(FdTableTest, ConcurrentBorrowersAndWriters) {
  std::shared_ptr<Map> first;
  const int fd = NewMap(&first);
  ASSERT_GE(fd, 0);
  std::vector<std::weak_ptr<Map>> made = {first};
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{std::move(first), true, true}),
            0);
  std::atomic<bool> stop{false};
  std::atomic<long> hits{0}, misses{0};
  auto reader = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      FdRef ref;
      if (FdTable::Get().Borrow(fd, &ref) == 0) {
        ASSERT_EQ(ref->map->max_entries(), 4u);
        ASSERT_EQ(ref->map->value_size(), 8u);
        hits.fetch_add(1, std::memory_order_relaxed);
      } else {
        misses.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::thread a(reader), b(reader);
  for (int i = 0; i < 2000; ++i) {
    std::shared_ptr<Map> next;
    const int other = NewMap(&next);
    ASSERT_GE(other, 0);
    close(other);  // the region stays mapped; fd keeps naming a real file
    made.push_back(next);
    if (i % 3 == 0) FdTable::Get().Erase(fd);
    ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{std::move(next), true, true}),
              0);
  }
  stop = true;
  a.join();
  b.join();
  EXPECT_GT(hits.load(), 0);
  EXPECT_TRUE(FdTable::Get().Erase(fd));
  FdTable::Get().Reclaim();
  EXPECT_FALSE(FdTable::Get().reclaim_pending());
  for (const auto& w : made) EXPECT_TRUE(w.expired());
  close(fd);
}

// A fork()ed child inherits the parent's other threads' hazard records but
// not the threads: their announcements must not pin entries in the child.
TEST(FdTableTest, ForkedChildIgnoresTheParentsOtherThreads) {
  std::shared_ptr<Map> map;
  const int fd = NewMap(&map);
  ASSERT_GE(fd, 0);
  std::weak_ptr<Map> weak = map;
  ASSERT_EQ(FdTable::Get().Insert(fd, FdEntry{std::move(map), true, true}), 0);
  std::atomic<bool> borrowed{false}, done{false};
  std::thread holder([&] {
    FdRef ref;
    ASSERT_EQ(FdTable::Get().Borrow(fd, &ref), 0);
    borrowed = true;
    while (!done.load()) std::this_thread::yield();
  });
  while (!borrowed.load()) std::this_thread::yield();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FdTable::Get().Erase(fd);
    _exit(weak.expired() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // In the parent the holder still pins it.
  EXPECT_TRUE(FdTable::Get().Erase(fd));
  EXPECT_FALSE(weak.expired());
  done = true;
  holder.join();
  FdTable::Get().Reclaim();
  EXPECT_TRUE(weak.expired());
  close(fd);
}

}  // namespace
}  // namespace bpfemu
