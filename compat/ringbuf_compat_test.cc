// SPDX-License-Identifier: Apache-2.0
// libbpf's ring_buffer__* API on emulated ring buffers, with libbpf 1.1.2's
// error conventions (measured on 6.18 against libbpf's ring_buffer__*). Links
// the compat layer, never real libbpf.
//
// Cross-process cases (issue 20): every process that can block runs in a
// child bounded by an alarm, so a missed wake-up fails the case (exit code
// 128 + SIGALRM) instead of hanging it. Producers are forked before the
// consumer exists, so they share nothing with it but the map's memory.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "emu/ringbuf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

// TSan cannot start a thread in the child of a multi-threaded process: it
// still lists the parent's threads, and glibc hands the child's new thread
// a reclaimed stack with an id TSan thinks is live ("dup thread with used
// id"). Under TSan the cases whose child adopts a consumer (and so starts
// its own watcher) stop short of that step; the plain and ASan runs do it.
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#else
constexpr bool kTsan = false;
#endif

int Sizes(void* ctx, void*, size_t size) {
  static_cast<std::vector<size_t>*>(ctx)->push_back(size);
  return 0;
}

int Fail7(void*, void*, size_t) { return -7; }

int Ignore(void*, void*, size_t) { return 0; }

class RingbufCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_RINGBUF;
    a.max_entries = 4096;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    ring_ = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd_));
  }
  void TearDown() override {
    ring_.reset();
    CloseFd(fd_);
  }
  void Produce(uint32_t size) {
    std::vector<uint8_t> v(size, 1);
    ASSERT_EQ(ring_->Output(v.data(), size, 0), 0);
  }
  int fd_ = -1;
  std::shared_ptr<RingbufMap> ring_;
};

TEST_F(RingbufCompat, ConsumeAndPoll) {
  std::vector<size_t> sizes;
  ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
  ASSERT_NE(rb, nullptr);
  EXPECT_GE(ring_buffer__epoll_fd(rb), 0);
  Produce(10);
  Produce(11);
  EXPECT_EQ(ring_buffer__consume(rb), 2);
  Produce(12);
  EXPECT_EQ(ring_buffer__poll(rb, 100), 1);
  EXPECT_EQ(ring_buffer__poll(rb, 0), 0);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 11, 12}));
  ring_buffer__free(rb);
  ring_buffer__free(nullptr);  // NULL-safe
}

TEST_F(RingbufCompat, ErrorConventions) {
  // Closed fd: NULL with errno EBADFD (77); another map type: EINVAL.
  errno = 0;
  EXPECT_EQ(ring_buffer__new(1 << 20, &Sizes, nullptr, nullptr), nullptr);
  EXPECT_EQ(errno, EBADFD);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  const int afd = MapCreate(a);
  errno = 0;
  EXPECT_EQ(ring_buffer__new(afd, &Sizes, nullptr, nullptr), nullptr);
  EXPECT_EQ(errno, EINVAL);
  CloseFd(afd);
  // Options: sz below sizeof(size_t), or non-zero bytes past the struct.
  struct {
    ring_buffer_opts opts;
    uint64_t tail;
  } big = {{sizeof(big)}, 1};
  ring_buffer_opts small = {4};
  errno = 0;
  EXPECT_EQ(ring_buffer__new(fd_, &Sizes, nullptr, &small), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(ring_buffer__new(fd_, &Sizes, nullptr, &big.opts), nullptr);
  EXPECT_EQ(errno, EINVAL);
  big.tail = 0;
  ring_buffer* rb = ring_buffer__new(fd_, &Fail7, nullptr, &big.opts);
  ASSERT_NE(rb, nullptr);
  // The same map twice: -EEXIST, errno set.
  errno = 0;
  EXPECT_EQ(ring_buffer__add(rb, fd_, &Sizes, nullptr), -EEXIST);
  EXPECT_EQ(errno, EEXIST);
  // A callback error is returned and lands in errno.
  Produce(10);
  errno = 0;
  EXPECT_EQ(ring_buffer__consume(rb), -7);
  EXPECT_EQ(errno, 7);
  ring_buffer__free(rb);
}

// Runs `body` in a child bounded by `seconds`; the pid.
pid_t Spawn(const std::function<int()>& body, unsigned seconds = 10) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(seconds);
    _exit(body());
  }
  return pid;
}

// The child's exit code, or 128 + the signal that ended it (SIGALRM = 142:
// it hung).
int Reap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// A pipe that releases a waiting process, one byte per step.
struct Gate {
  int fds[2] = {-1, -1};
  Gate() { EXPECT_EQ(pipe(fds), 0); }
  ~Gate() {
    close(fds[0]);
    close(fds[1]);
  }
  bool Open() const { return write(fds[1], "g", 1) == 1; }
  bool Wait() const {
    char c;
    return read(fds[0], &c, 1) == 1;
  }
};

constexpr int kHung = 128 + SIGALRM;

// A consumer blocked in ring_buffer__poll(rb, -1) is woken by a producer in
// another process, by the kernel's rule: a default commit when it had
// caught up, a forced one, never BPF_RB_NO_WAKEUP (then the poll times out,
// and so does the next, as on the kernel: ring_buffer__consume finds it).
TEST_F(RingbufCompat, CrossProcessPollWakes) {
  const uint64_t flags[] = {0, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP};
  Gate go;
  const pid_t producer = Spawn([&] {
    for (uint64_t f : flags) {
      if (!go.Wait()) return 20;
      usleep(100 * 1000);  // the consumer is asleep in poll by now
      uint8_t v[4] = {};
      if (ring_->Output(v, sizeof(v), f) != 0) return 21;
    }
    return 0;
  });
  const pid_t consumer = Spawn([&] {
    std::vector<size_t> sizes;
    ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
    if (rb == nullptr) return 30;
    for (uint64_t f : flags) {
      if (!go.Open()) return 31;
      if (f == BPF_RB_NO_WAKEUP) {
        if (ring_buffer__poll(rb, 400) != 0) return 32;  // not woken
        usleep(100 * 1000);  // the record has surely landed
        if (ring_buffer__poll(rb, 50) != 0) return 33;  // still not woken
        if (ring_buffer__consume(rb) != 1) return 36;
      } else if (ring_buffer__poll(rb, -1) != 1) {
        return 34;
      }
    }
    ring_buffer__free(rb);
    return sizes == std::vector<size_t>{4, 4, 4} ? 0 : 35;
  });
  EXPECT_EQ(Reap(consumer), 0) << kHung << " = poll(-1) was never woken";
  EXPECT_EQ(Reap(producer), 0);
}

// The epoll fd itself becomes readable in a second process that inherited
// it, when a third process submits; that process then consumes and frees
// its inherited copy of the ring_buffer (fork safety: it owns no thread).
TEST_F(RingbufCompat, EpollFdReadableInAnotherProcess) {
  Gate go;
  const pid_t producer = Spawn([&] {
    if (!go.Wait()) return 20;
    usleep(100 * 1000);
    uint8_t v[8] = {};
    return ring_->Output(v, sizeof(v), 0) == 0 ? 0 : 21;
  });
  std::vector<size_t> sizes;
  ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
  ASSERT_NE(rb, nullptr);
  const int epfd = ring_buffer__epoll_fd(rb);
  const pid_t waiter = Spawn([&] {
    epoll_event ev;
    if (epoll_wait(epfd, &ev, 1, 5000) != 1) return 40;
    if (kTsan) return 0;
    if (ring_buffer__consume(rb) != 1 || sizes != std::vector<size_t>{8}) {
      return 41;
    }
    ring_buffer__free(rb);
    return 0;
  });
  ASSERT_TRUE(go.Open());
  EXPECT_EQ(Reap(waiter), 0) << "40 = epoll_wait timed out";
  EXPECT_EQ(Reap(producer), 0);
  ring_buffer__free(rb);
}

// A child keeps a working consumer after the parent that created it freed
// its own copy: its poll(-1) is still woken by another process.
TEST_F(RingbufCompat, ForkedConsumerOutlivesItsCreator) {
  if (kTsan) GTEST_SKIP() << "TSan cannot start threads in a forked child";
  Gate go;
  const pid_t producer = Spawn([&] {
    if (!go.Wait()) return 20;
    usleep(100 * 1000);
    uint8_t v[4] = {};
    return ring_->Output(v, sizeof(v), 0) == 0 ? 0 : 21;
  });
  std::vector<size_t> sizes;
  ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
  ASSERT_NE(rb, nullptr);
  Gate freed;
  const pid_t child = Spawn([&] {
    if (!freed.Wait()) return 50;
    if (!go.Open()) return 51;
    if (ring_buffer__poll(rb, -1) != 1) return 52;
    ring_buffer__free(rb);
    return 0;
  });
  ring_buffer__free(rb);
  ASSERT_TRUE(freed.Open());
  EXPECT_EQ(Reap(child), 0) << kHung << " = poll(-1) was never woken";
  EXPECT_EQ(Reap(producer), 0);
}

// A consumer killed while it waits never wedges producers, and a new
// consumer still gets every record and its wake-ups.
TEST_F(RingbufCompat, DeadConsumerDoesNotWedgeProducers) {
  Gate ready;
  const pid_t consumer = Spawn([&] {
    ring_buffer* rb = ring_buffer__new(fd_, &Ignore, nullptr, nullptr);
    if (rb == nullptr || !ready.Open()) return 60;
    return ring_buffer__poll(rb, -1);  // killed here
  });
  ASSERT_TRUE(ready.Wait());
  usleep(50 * 1000);
  ASSERT_EQ(kill(consumer, SIGKILL), 0);
  EXPECT_EQ(Reap(consumer), 128 + SIGKILL);
  const pid_t producer = Spawn([&] {
    uint8_t v[4] = {};
    for (int i = 0; i < 100; ++i) {
      if (ring_->Output(v, sizeof(v), BPF_RB_FORCE_WAKEUP) != 0) return 21;
    }
    return 0;
  });
  EXPECT_EQ(Reap(producer), 0);
  std::vector<size_t> sizes;
  ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
  ASSERT_NE(rb, nullptr);
  EXPECT_EQ(ring_buffer__poll(rb, 0), 100);
  ring_buffer__free(rb);
}

// Creating and freeing consumers never hangs (the watcher is stopped even
// when the stop races its going to sleep), and a wake-up storm meanwhile
// changes nothing.
TEST_F(RingbufCompat, NewFreeCyclesDoNotHang) {
  const pid_t cycles = Spawn(
      [&] {
        for (int i = 0; i < 300; ++i) {
          ring_buffer* rb = ring_buffer__new(fd_, &Ignore, nullptr, nullptr);
          if (rb == nullptr) return 70;
          if (i % 3 == 0) {
            uint8_t v[4] = {};
            if (ring_->Output(v, sizeof(v), BPF_RB_FORCE_WAKEUP) != 0)
              return 71;
            if (ring_buffer__consume(rb) < 0) return 72;
          }
          ring_buffer__free(rb);
        }
        return 0;
      },
      30);
  EXPECT_EQ(Reap(cycles), 0) << kHung << " = a free hung";
}

// Without futex_waitv (a seccomp filter answers ENOSYS, as some sandboxes
// do) the watcher falls back to timed futex waits: wake-ups still cross
// processes and a free still ends.
TEST_F(RingbufCompat, WorksWithoutFutexWaitv) {
  Gate go;
  const pid_t producer = Spawn([&] {
    if (!go.Wait()) return 20;
    usleep(100 * 1000);
    uint8_t v[4] = {};
    return ring_->Output(v, sizeof(v), 0) == 0 ? 0 : 21;
  });
  const pid_t consumer = Spawn([&] {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex_waitv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      return 90;
    }
    if (syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, 0) != -1 ||
        errno != ENOSYS) {
      return 91;
    }
    std::vector<size_t> sizes;
    ring_buffer* rb = ring_buffer__new(fd_, &Sizes, &sizes, nullptr);
    if (rb == nullptr || !go.Open()) return 92;
    if (ring_buffer__poll(rb, -1) != 1) return 93;
    ring_buffer__free(rb);
    for (int i = 0; i < 5; ++i) {
      ring_buffer__free(ring_buffer__new(fd_, &Ignore, nullptr, nullptr));
    }
    return 0;
  });
  EXPECT_EQ(Reap(consumer), 0) << kHung << " = hung";
  EXPECT_EQ(Reap(producer), 0);
}

// A crafted ring region (shared memory is a trust boundary): a record
// header claiming a length past the mapping, positions more than the ring
// apart, a consumer past the producer, and garbage in the wake-up words.
// The consumer answers -EINVAL (errno EINVAL), never a crash or a hang.
TEST_F(RingbufCompat, CraftedRegionIsAnErrorNotACrash) {
  struct Case {
    const char* what;
    uint64_t cons, prod;
    uint32_t hdr_len;
  };
  const Case cases[] = {
      {"record longer than the mapping", 0, 16, 0x3ffffff0},
      {"discarded record longer than the ring", 4088, 4104,
       kRingbufDiscardBit | 8192},
      {"record just past the ring", 0, 4096, 4096 - 7},
      {"producer more than the ring ahead", 8, uint64_t{1} << 40, 8},
      {"consumer past the producer", 1024, 16, 8},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const pid_t victim = Spawn([&] {
      ring_->consumer_pos().store(c.cons);
      ring_->producer_pos().store(c.prod);
      std::memcpy(ring_->data() + (c.cons & ring_->mask()), &c.hdr_len, 4);
      ring_->wakeups().store(0xffffffff);
      ring_buffer* rb = ring_buffer__new(fd_, &Ignore, nullptr, nullptr);
      if (rb == nullptr) return 80;
      errno = 0;
      if (ring_buffer__consume(rb) != -EINVAL || errno != EINVAL) return 81;
      if (ring_buffer__poll(rb, 10) != -EINVAL) return 82;
      ring_buffer__free(rb);
      return 0;
    });
    EXPECT_EQ(Reap(victim), 0);
    // The region is restored for the next case (the child wrote it).
    ring_->consumer_pos().store(0);
    ring_->producer_pos().store(0);
  }
}

}  // namespace
}  // namespace bpfemu
