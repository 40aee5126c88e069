// SPDX-License-Identifier: Apache-2.0
// libbpf's perf_buffer__* API on emulated perf events (libbpf 1.1's
// conventions, tools/lib/bpf/libbpf.c). Links the compat layer, never real
// libbpf. The producer is PerfEventArrayMap::Output, what
// bpf_perf_event_output runs.
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/perf_event_array.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

struct Seen {
  std::vector<std::pair<int, std::string>> samples;  // (cpu, bytes)
  std::vector<std::pair<int, uint64_t>> lost;
};

void OnSample(void* ctx, int cpu, void* data, __u32 size) {
  static_cast<Seen*>(ctx)->samples.emplace_back(
      cpu, std::string(static_cast<char*>(data), size));
}
void OnLost(void* ctx, int cpu, __u64 cnt) {
  static_cast<Seen*>(ctx)->lost.emplace_back(cpu, cnt);
}

class PerfBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetNumPossibleCpus(2);
    MapAttr a;
    a.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 2;
    fd_ = MapCreate(a);
    ASSERT_GE(fd_, 0);
    map_ = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd_));
    ASSERT_NE(map_, nullptr);
  }
  void TearDown() override {
    map_.reset();
    CloseFd(fd_);
    SetNumPossibleCpus(0);
  }
  int fd_ = -1;
  std::shared_ptr<PerfEventArrayMap> map_;
  Seen seen_;
};

TEST_F(PerfBufferTest, NewValidation) {
  errno = 0;
  EXPECT_EQ(perf_buffer__new(fd_, 3, OnSample, OnLost, &seen_, nullptr),
            nullptr);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(perf_buffer__new(fd_, 0, OnSample, OnLost, &seen_, nullptr),
            nullptr);
  EXPECT_EQ(errno, EINVAL);
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 2;
  const int array = MapCreate(a);
  EXPECT_EQ(perf_buffer__new(array, 1, OnSample, OnLost, &seen_, nullptr),
            nullptr);
  EXPECT_EQ(errno, EINVAL);
  CloseFd(array);
  // A closed fd: the info call fails with EBADFD, which is passed on.
  EXPECT_EQ(perf_buffer__new(9999, 1, OnSample, OnLost, &seen_, nullptr),
            nullptr);
  EXPECT_EQ(errno, EBADFD);
  struct perf_buffer_opts bad {};
  bad.sz = 1;
  EXPECT_EQ(perf_buffer__new(fd_, 1, OnSample, OnLost, &seen_, &bad), nullptr);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(perf_buffer__new_raw(fd_, 1, nullptr, nullptr, nullptr, nullptr),
            nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(PerfBufferTest, SamplesAndLostRecordsPerCpu) {
  struct perf_buffer* pb =
      perf_buffer__new(fd_, 1, OnSample, OnLost, &seen_, nullptr);
  ASSERT_NE(pb, nullptr) << errno;
  ASSERT_EQ(perf_buffer__buffer_cnt(pb), 2u);
  EXPECT_GE(perf_buffer__buffer_fd(pb, 0), 0);
  EXPECT_EQ(perf_buffer__buffer_fd(pb, 2), -EINVAL);
  EXPECT_EQ(perf_buffer__consume_buffer(pb, 2), -EINVAL);
  EXPECT_GE(perf_buffer__epoll_fd(pb), 0);
  void* buf = nullptr;
  size_t size = 0;
  EXPECT_EQ(perf_buffer__buffer(pb, 1, &buf, &size), 0);
  EXPECT_EQ(size, 4096u);
  // Nothing yet: poll times out.
  EXPECT_EQ(perf_buffer__poll(pb, 0), 0);

  EXPECT_EQ(map_->Output(BPF_F_CURRENT_CPU, "abc", 3, 0), 0);
  EXPECT_EQ(map_->Output(BPF_F_CURRENT_CPU, "defgh", 5, 1), 0);
  // Another CPU's slot from CPU 0.
  EXPECT_EQ(map_->Output(1, "x", 1, 0), -EOPNOTSUPP);
  EXPECT_EQ(perf_buffer__poll(pb, 100), 2);
  ASSERT_EQ(seen_.samples.size(), 2u);
  // Sizes are the padded raw sizes the kernel reports (4 + n rounded to 8).
  EXPECT_EQ(seen_.samples[0].second.size(), 4u);
  EXPECT_EQ(seen_.samples[0].second.substr(0, 3), "abc");
  EXPECT_EQ(seen_.samples[1].first, 1);
  EXPECT_EQ(seen_.samples[1].second.size(), 12u);
  EXPECT_EQ(seen_.samples[1].second.substr(0, 5), "defgh");

  // Overflow CPU 0's one-page ring with 64-byte records.
  std::string big(52, 'z');
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    ok += map_->Output(0, big.data(), big.size(), 0) == 0;
  }
  EXPECT_EQ(ok, 63);
  EXPECT_EQ(perf_buffer__consume(pb), 0);
  EXPECT_EQ(seen_.samples.size(), 2u + 63u);
  EXPECT_EQ(map_->Output(0, "end", 3, 0), 0);
  EXPECT_EQ(perf_buffer__consume_buffer(pb, 0), 0);
  ASSERT_EQ(seen_.lost.size(), 1u);
  EXPECT_EQ(seen_.lost[0], std::make_pair(0, uint64_t{37}));
  EXPECT_EQ(seen_.samples.back().second.substr(0, 3), "end");

  // Freed: the map entries are deleted.
  perf_buffer__free(pb);
  EXPECT_EQ(map_->Output(0, "x", 1, 0), -ENOENT);
  uint32_t k = 1;
  EXPECT_EQ(MapDeleteElem(fd_, &k), -ENOENT);
}

TEST_F(PerfBufferTest, CraftedRingDoesNotHangOrCrash) {
  struct perf_buffer* pb =
      perf_buffer__new(fd_, 1, OnSample, OnLost, &seen_, nullptr);
  ASSERT_NE(pb, nullptr);
  void* buf;
  size_t size;
  ASSERT_EQ(perf_buffer__buffer(pb, 0, &buf, &size), 0);
  auto* page = static_cast<perf_event_mmap_page*>(buf);
  auto* data = static_cast<uint8_t*>(buf) + 4096;
  // A zero-sized record header: libbpf itself would spin forever.
  page->data_head = 64;
  std::memset(data, 0, 64);
  EXPECT_EQ(perf_buffer__consume_buffer(pb, 0), -EINVAL);
  // A sample whose size word overruns its record.
  perf_event_header h{PERF_RECORD_SAMPLE, 0, 16};
  std::memcpy(data, &h, sizeof(h));
  const uint32_t huge = 1u << 30;
  std::memcpy(data + 8, &huge, 4);
  EXPECT_EQ(perf_buffer__consume_buffer(pb, 0), -EINVAL);
  // A record larger than the ring.
  h.size = 65528;
  std::memcpy(data, &h, sizeof(h));
  page->data_head = ~0ULL;
  EXPECT_EQ(perf_buffer__consume_buffer(pb, 0), -EINVAL);
  EXPECT_TRUE(seen_.samples.empty());
  perf_buffer__free(pb);
}

// A fork()ed child (a producer process that inherited the map and the
// events) outputs; the parent, blocked in perf_buffer__poll, is woken.
TEST_F(PerfBufferTest, ChildProcessProducerWakesPoll) {
  struct perf_buffer* pb =
      perf_buffer__new(fd_, 1, OnSample, OnLost, &seen_, nullptr);
  ASSERT_NE(pb, nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(10);
    usleep(50 * 1000);  // let the parent block in poll
    int ok = 0;
    for (int i = 0; i < 5; ++i) ok += map_->Output(0, "child", 5, 0) == 0;
    _exit(ok == 5 ? 0 : 1);
  }
  int got = 0;
  for (int i = 0; i < 50 && seen_.samples.size() < 5; ++i) {
    got += perf_buffer__poll(pb, 200) > 0;
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GE(got, 1);
  ASSERT_EQ(seen_.samples.size(), 5u);
  EXPECT_EQ(seen_.samples[4].second.substr(0, 5), "child");
  perf_buffer__free(pb);
}

}  // namespace
}  // namespace bpfemu
