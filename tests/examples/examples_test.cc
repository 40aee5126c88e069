// SPDX-License-Identifier: Apache-2.0
// The seed's examples, compiled natively from their unmodified BPF C and run
// against emulated maps, without root.

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/cgroup.h"
#include "emu/cpu.h"
#include "emu/jhash.h"
#include "emu/netdev.h"
#include "emu/perf_buffer.h"
#include "emu/prog.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "native/helpers.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using native::Object;
using native::Program;

std::unique_ptr<Object> LoadObject(const char* name) {
  auto obj = Object::Open(name);
  EXPECT_TRUE(obj.ok()) << obj.status();
  if (!obj.ok()) return nullptr;
  EXPECT_EQ((*obj)->Load(), 0);
  return std::move(*obj);
}

uint64_t LookupU64(int fd, uint32_t key) {
  uint64_t v = 0;
  EXPECT_EQ(MapLookupElem(fd, &key, &v), 0);
  return v;
}

class ExamplesTest : public ::testing::Test {
 protected:
  void TearDown() override { native::ResetHelpers(); }
};

TEST_F(ExamplesTest, CounterInsertsWithNoexistThenAddsInPlace) {
  auto obj = LoadObject("counter");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("count_syscalls");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(prog->type(), BPF_PROG_TYPE_RAW_TRACEPOINT);
  const uint64_t args[2] = {0, 0};
  for (uint32_t pid : {100u, 100u, 200u, 100u}) {
    native::SetPidTgid(uint64_t{pid} << 32 | pid);
    EXPECT_EQ(prog->RunRawTp(args), 0u);
  }
  const int fd = obj->MapFd("counts");
  EXPECT_EQ(LookupU64(fd, 100), 3u);
  EXPECT_EQ(LookupU64(fd, 200), 1u);
  // max_entries 4: the fifth process's insert fails with E2BIG.
  for (uint32_t pid : {300u, 400u}) {
    native::SetPidTgid(uint64_t{pid} << 32 | pid);
    EXPECT_EQ(prog->RunRawTp(args), 0u);
  }
  native::SetPidTgid(uint64_t{500} << 32);
  EXPECT_EQ(prog->RunRawTp(args), uint32_t{E2BIG});
  // By default the pid is the caller's, as in bpf_prog_test_run.
  native::ResetHelpers();
  const uint32_t self = static_cast<uint32_t>(getpid());
  uint64_t v;
  EXPECT_EQ(MapLookupElem(fd, &self, &v), -ENOENT);
}

TEST_F(ExamplesTest, HistogramCountsAtomicallyFromTwoThreads) {
  auto obj = LoadObject("histogram");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("size_histogram");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 60)).retval, 5u);  // 32..63
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 1000)).retval, 9u);
  constexpr int kPerThread = 20000;
  auto work = [&](int cpu) {
    ScopedCpu on(cpu);
    const auto frame = EthFrame(ETH_P_IP, 64);  // bucket 6
    for (int i = 0; i < kPerThread; ++i) prog->RunSkb(frame);
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  const int fd = obj->MapFd("sizes");
  EXPECT_EQ(LookupU64(fd, 5), 1u);
  EXPECT_EQ(LookupU64(fd, 9), 1u);
  EXPECT_EQ(LookupU64(fd, 6), 2u * kPerThread);
  EXPECT_EQ(LookupU64(obj->MapFd("total_bytes"), 0),
            60u + 1000u + 2u * kPerThread * 64u);
}

TEST_F(ExamplesTest, PercpuCountersAreSummedOverCpusInUserspace) {
  SetNumPossibleCpus(2);
  auto obj = LoadObject("percpu_bytes");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("count_bytes");
  ASSERT_NE(prog, nullptr);
  {
    ScopedCpu on(0);
    EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_IP, 60)).retval, uint32_t{XDP_PASS});
    EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_ARP, 42)).retval, uint32_t{XDP_PASS});
  }
  {
    ScopedCpu on(1);
    EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_IP, 100)).retval, uint32_t{XDP_PASS});
  }
  uint64_t per_cpu[2];
  const uint32_t zero = 0;
  ASSERT_EQ(MapLookupElem(obj->MapFd("bytes"), &zero, per_cpu), 0);
  EXPECT_EQ(per_cpu[0], 102u);
  EXPECT_EQ(per_cpu[1], 100u);
  // The per-CPU hash: inserted from CPU 0 with only CPU 0's slot set (the
  // others zeroed), then CPU 1 adds to its own slot.
  const uint16_t ip = ETH_P_IP, arp = ETH_P_ARP;
  ASSERT_EQ(MapLookupElem(obj->MapFd("packets_by_proto"), &ip, per_cpu), 0);
  EXPECT_EQ(per_cpu[0], 1u);
  EXPECT_EQ(per_cpu[1], 1u);
  ASSERT_EQ(MapLookupElem(obj->MapFd("packets_by_proto"), &arp, per_cpu), 0);
  EXPECT_EQ(per_cpu[0], 1u);
  EXPECT_EQ(per_cpu[1], 0u);
}

// The per-CPU array lookup is inlined into native programs (native_abi.h
// bpfemu_fast_cpu): the emulated CPU, the real one when none is set (the
// rseq cpu_id, as sched_getcpu() reports it), and a CPU beyond the map's
// count folded into range by the helper, as CurrentCpu() does.
TEST_F(ExamplesTest, PercpuArrayInlineLookupFollowsTheCurrentCpu) {
  SetNumPossibleCpus(2);
  auto obj = LoadObject("percpu_bytes");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("count_bytes");
  ASSERT_NE(prog, nullptr);
  const uint32_t zero = 0;
  uint64_t per_cpu[2];
  {
    ScopedCpu on(5);  // folded: 5 % 2 = CPU 1
    EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_IP, 60)).retval, uint32_t{XDP_PASS});
  }
  ASSERT_EQ(MapLookupElem(obj->MapFd("bytes"), &zero, per_cpu), 0);
  EXPECT_EQ(per_cpu[0], 0u);
  EXPECT_EQ(per_cpu[1], 60u);
  // No emulated CPU: the thread's real one, pinned so it cannot move.
  cpu_set_t old_set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(old_set), &old_set), 0);
  int real = -1;
  for (int c = 0; c < CPU_SETSIZE && real < 0; ++c) {
    if (CPU_ISSET(c, &old_set)) real = c;
  }
  ASSERT_GE(real, 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(real, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(sched_getcpu(), real);
  EXPECT_EQ(CurrentCpu(2), static_cast<uint32_t>(real % 2));
  EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_IP, 100)).retval, uint32_t{XDP_PASS});
  ASSERT_EQ(sched_setaffinity(0, sizeof(old_set), &old_set), 0);
  ASSERT_EQ(MapLookupElem(obj->MapFd("bytes"), &zero, per_cpu), 0);
  EXPECT_EQ(per_cpu[real % 2], (real % 2 == 1 ? 60u : 0u) + 100u);
  EXPECT_EQ(per_cpu[1 - real % 2], real % 2 == 1 ? 0u : 60u);
}

struct Event {
  uint32_t tgid, pid, uid, syscall_nr;
  char comm[16];
};

int Collect(void* ctx, void* data, size_t size) {
  EXPECT_EQ(size, sizeof(Event));
  Event e;
  std::memcpy(&e, data, sizeof(e));
  static_cast<std::vector<Event>*>(ctx)->push_back(e);
  return 0;
}

TEST_F(ExamplesTest, ExecveEventsReachTheRingBuffer) {
  auto obj = LoadObject("execve_events");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("on_sys_enter");
  ASSERT_NE(prog, nullptr);
  native::SetPidTgid(uint64_t{1234} << 32 | 1240);
  native::SetUidGid(uint64_t{100} << 32 | 1000);
  native::SetComm("bash");
  const uint64_t execve[2] = {0, 59}, execveat[2] = {0, 322}, read[2] = {0, 0};
  EXPECT_EQ(prog->RunRawTp(execve), 0u);
  EXPECT_EQ(prog->RunRawTp(read), 0u);
  EXPECT_EQ(prog->RunRawTp(execveat), 0u);
  std::vector<Event> events;
  int err;
  auto rb = RingBuffer::New(obj->MapFd("events"), Collect, &events, &err);
  ASSERT_NE(rb, nullptr) << err;
  EXPECT_EQ(rb->Consume(), 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].tgid, 1234u);
  EXPECT_EQ(events[0].pid, 1240u);
  EXPECT_EQ(events[0].uid, 1000u);
  EXPECT_EQ(events[0].syscall_nr, 59u);
  EXPECT_STREQ(events[0].comm, "bash");
  EXPECT_EQ(events[1].syscall_nr, 322u);
  // 4096 bytes hold 102 records of 8 + 32 bytes; then reserve fails.
  int full = 0;
  for (int i = 0; i < 110; ++i) full += prog->RunRawTp(execve);
  EXPECT_EQ(full, 110 - 4096 / 40);
}

// The traces the stack tests set as the helper input, innermost first.
constexpr uint64_t kSetKernelStack[] = {0xffffffff81100000, 0xffffffff81200000,
                                        0xffffffff81300000};
constexpr uint64_t kSetUserStack[] = {0x401234, 0x405678};
void SetTestStacks() {
  native::SetStacks({std::begin(kSetKernelStack), std::end(kSetKernelStack)},
                    {std::begin(kSetUserStack), std::end(kSetUserStack)});
}

// bpf_get_stack on the traces a test sets (stack_profiler's copy_stacks,
// whose answers examples_compare_test compares with the kernel's), and the
// bytes it copies: skipped, cut to the buffer, the rest zeroed; the build-id
// form of a user stack is the ip form.
TEST_F(ExamplesTest, GetStackCopiesTheTrace) {
  auto obj = LoadObject("stack_profiler");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("copy_stacks");
  ASSERT_NE(prog, nullptr);
  const auto& kernel = kSetKernelStack;
  const auto& user = kSetUserStack;
  SetTestStacks();
  const uint64_t args[2] = {0, 0};
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  const std::vector<int64_t> want = {1, -EINVAL, -EINVAL, -EINVAL, 1,
                                     1, -EFAULT, 0,       1};
  for (uint32_t i = 0; i < want.size(); ++i) {
    int64_t got = 7;
    ASSERT_EQ(MapLookupElem(obj->MapFd("stack_rets"), &i, &got), 0);
    EXPECT_EQ(got, want[i]) << "case " << i;
  }
  uint64_t buf[4];
  std::memset(buf, 0x5a, sizeof(buf));
  EXPECT_EQ(bpfemu_get_stack(nullptr, buf, sizeof(buf), 1), 16);
  EXPECT_EQ(buf[0], kernel[1]);
  EXPECT_EQ(buf[1], kernel[2]);
  EXPECT_EQ(buf[2], 0u);
  EXPECT_EQ(buf[3], 0u);
  EXPECT_EQ(bpfemu_get_stack(nullptr, buf, 8, 0), 8);
  EXPECT_EQ(buf[0], kernel[0]);
  EXPECT_EQ(bpfemu_get_stack(nullptr, buf, sizeof(buf), 3), 0);
  EXPECT_EQ(bpfemu_get_stack(nullptr, buf, sizeof(buf), 4), -EFAULT);
  EXPECT_EQ(buf[0], 0u);
  uint8_t ids[64];
  EXPECT_EQ(bpfemu_get_stack(nullptr, ids, sizeof(ids),
                             BPF_F_USER_STACK | BPF_F_USER_BUILD_ID),
            64);
  int32_t status;
  uint64_t ip;
  std::memcpy(&status, ids + 32, 4);
  std::memcpy(&ip, ids + 32 + 24, 8);
  EXPECT_EQ(status, BPF_STACK_BUILD_ID_IP);
  EXPECT_EQ(ip, user[1]);
  native::ResetHelpers();
}

// bpf_get_stackid on the traces a test sets: the kernel trace's id is its
// jhash2 bucket, a repeated trace keeps its id, the user trace goes to its
// own map, and the two calls that must fail fail as in the kernel.
TEST_F(ExamplesTest, StackProfilerCountsSamplesPerStack) {
  auto obj = LoadObject("stack_profiler");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("sample");
  ASSERT_NE(prog, nullptr);
  const auto& kernel = kSetKernelStack;
  const auto& user = kSetUserStack;
  SetTestStacks();
  const uint64_t args[2] = {0, 0};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(prog->RunRawTp(args), 0u);
  std::vector<uint32_t> words(6);
  std::memcpy(words.data(), kernel, 24);
  const uint32_t kid = Jhash2(words.data(), 6, 0) & 63;
  words.resize(4);
  std::memcpy(words.data(), user, 16);
  const uint32_t uid = Jhash2(words.data(), 4, 0) & 63;
  // The stored traces: the frames, then zeroes.
  std::vector<uint64_t> trace(16, 1);
  ASSERT_EQ(MapLookupElem(obj->MapFd("kernel_stacks"), &kid, trace.data()), 0);
  EXPECT_EQ(std::vector<uint64_t>(trace.begin(), trace.begin() + 4),
            (std::vector<uint64_t>{kernel[0], kernel[1], kernel[2], 0}));
  ASSERT_EQ(MapLookupElem(obj->MapFd("user_stacks"), &uid, trace.data()), 0);
  EXPECT_EQ(trace[1], user[1]);
  const int32_t key[2] = {static_cast<int32_t>(kid), static_cast<int32_t>(uid)};
  uint64_t count = 0;
  EXPECT_EQ(MapLookupElem(obj->MapFd("counts"), key, &count), 0);
  EXPECT_EQ(count, 5u);
  const int results = obj->MapFd("results");
  auto result = [&](uint32_t i) {
    int64_t v = 0;
    EXPECT_EQ(MapLookupElem(results, &i, &v), 0);
    return v;
  };
  EXPECT_EQ(result(0), 5);  // samples
  EXPECT_EQ(result(1), 5);  // kernel stacks found
  EXPECT_EQ(result(2), 5);  // user stacks found
  EXPECT_EQ(result(3), 4);  // same kernel id as the sample before
  EXPECT_EQ(result(4), -EINVAL);
  EXPECT_EQ(result(5), -EFAULT);
  // By default the user trace is the caller's own stack: still found. Its
  // bucket depends on where the stack lies (ASLR): the set trace is
  // deleted first, or a run whose stack hashes to its bucket would get
  // -EEXIST (no BPF_F_REUSE_STACKID), 1 run in 64.
  ASSERT_EQ(MapDeleteElem(obj->MapFd("user_stacks"), &uid), 0);
  native::ResetHelpers();
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  EXPECT_EQ(result(2), 6);
}

// user_ringbuf_channel.bpf.c, natively, fed by libbpfemu's
// user_ring_buffer__* producer (compat/user_ringbuf_compat.cc).
TEST_F(ExamplesTest, UserRingbufChannelAppliesSubmittedCommands) {
  auto obj = LoadObject("user_ringbuf_channel");
  ASSERT_NE(obj, nullptr);
  user_ring_buffer* rb = user_ring_buffer__new(obj->MapFd("commands"), nullptr);
  ASSERT_NE(rb, nullptr) << errno;
  struct Command {
    uint32_t op, key;
    uint64_t value;
  };
  auto send = [&](Command c, bool discard = false) {
    auto* s = static_cast<Command*>(user_ring_buffer__reserve(rb, sizeof(c)));
    ASSERT_NE(s, nullptr) << errno;
    *s = c;
    discard ? user_ring_buffer__discard(rb, s)
            : user_ring_buffer__submit(rb, s);
  };
  send({1, 1, 100});
  send({2, 1, 5});
  send({1, 2, 7}, /*discard=*/true);
  send({5, 3, 33});
  send({4, 0, 0});  // stop
  send({3, 1, 0});  // left for the next drain
  const Program* prog = obj->FindProgram("apply");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> pkt(64, 0);
  EXPECT_EQ(prog->RunXdp(pkt).retval, uint32_t{XDP_PASS});
  const int table = obj->MapFd("table"), stats = obj->MapFd("stats");
  EXPECT_EQ(LookupU64(table, 1), 105u);
  EXPECT_EQ(LookupU64(table, 3), 33u);
  uint32_t two = 2;
  uint64_t v;
  EXPECT_EQ(MapLookupElem(table, &two, &v), -ENOENT);       // discarded
  EXPECT_EQ(static_cast<int64_t>(LookupU64(stats, 0)), 4);  // 5 seen, 1 dropped
  EXPECT_EQ(prog->RunXdp(pkt).retval, uint32_t{XDP_PASS});
  EXPECT_EQ(static_cast<int64_t>(LookupU64(stats, 0)), 1);
  uint32_t one = 1;
  EXPECT_EQ(MapLookupElem(table, &one, &v), -ENOENT);  // deleted
  EXPECT_EQ(static_cast<int64_t>(LookupU64(stats, 1)), 5);
  user_ring_buffer__free(rb);
}

// perf_events.bpf.c natively: ENOENT before a perf buffer exists, then
// samples on the running CPU's buffer with the padded raw size, E2BIG and
// EINVAL for a bad index or flags, EOPNOTSUPP for another CPU's slot.
TEST_F(ExamplesTest, PerfEventsReachThePerfBuffer) {
  SetNumPossibleCpus(2);
  auto obj = LoadObject("perf_events");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("emit");
  ASSERT_NE(prog, nullptr);
  ScopedCpu on(1);
  const uint64_t current[2] = {BPF_F_CURRENT_CPU, 5};
  EXPECT_EQ(prog->RunRawTp(current), static_cast<uint32_t>(-ENOENT));
  struct Got {
    std::vector<std::pair<int, uint32_t>> samples;
    static void Sample(void* ctx, int cpu, void*, __u32 size) {
      static_cast<Got*>(ctx)->samples.emplace_back(cpu, size);
    }
  } got;
  const struct perf_event_attr attr = PerfBuffer::DefaultAttr();
  PerfBuffer::Params params;
  params.attr = &attr;
  params.sample_cb = &Got::Sample;
  params.ctx = &got;
  int err;
  auto pb = PerfBuffer::New(obj->MapFd("events"), 2, params, &err);
  ASSERT_NE(pb, nullptr) << err;
  EXPECT_EQ(pb->BufferCnt(), 2u);
  EXPECT_EQ(prog->RunRawTp(current), 0u);
  const uint64_t index1[2] = {1, 9}, index0[2] = {0, 9}, index2[2] = {2, 9},
                 bad[2] = {BPF_F_CURRENT_CPU | (1ULL << 32), 9};
  EXPECT_EQ(prog->RunRawTp(index1), 0u);
  EXPECT_EQ(prog->RunRawTp(index0), static_cast<uint32_t>(-EOPNOTSUPP));
  EXPECT_EQ(prog->RunRawTp(index2), static_cast<uint32_t>(-E2BIG));
  EXPECT_EQ(prog->RunRawTp(bad), static_cast<uint32_t>(-EINVAL));
  EXPECT_EQ(pb->Poll(100), 1);
  ASSERT_EQ(got.samples.size(), 2u);
  EXPECT_EQ(got.samples[0], std::make_pair(1, 12u));  // 4 + 5 -> 16
  EXPECT_EQ(got.samples[1], std::make_pair(1, 12u));  // 4 + 9 -> 16
  pb.reset();
  SetNumPossibleCpus(0);
}

TEST_F(ExamplesTest, FlowTableEvictsInsteadOfGrowing) {
  auto obj = LoadObject("flow_lru");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("track_flows");
  ASSERT_NE(prog, nullptr);
  ScopedCpu on(0);
  for (uint16_t port = 1; port <= 40; ++port) {
    const auto pkt = Ipv4Frame(0x0a000001, 0x0a000002, port, 80, IPPROTO_TCP);
    EXPECT_EQ(prog->RunXdp(pkt).retval, uint32_t{XDP_TX});
    EXPECT_EQ(prog->RunXdp(pkt).retval, uint32_t{XDP_PASS});
  }
  EXPECT_EQ(prog->RunXdp(EthFrame(ETH_P_ARP, 60)).retval, uint32_t{XDP_PASS});
  const int fd = obj->MapFd("flows");
  int n = 0;
  uint8_t key[16], next[16];
  for (int err = MapGetNextKey(fd, nullptr, next); err == 0;
       err = MapGetNextKey(fd, key, next)) {
    std::memcpy(key, next, sizeof(key));
    uint64_t stats[2];
    ASSERT_EQ(MapLookupElem(fd, key, stats), 0);
    EXPECT_EQ(stats[0], 2u);
    EXPECT_EQ(stats[1], 256u);
    ++n;
  }
  EXPECT_GT(n, 0);
  EXPECT_LE(n, 16);
}

// bpf_for_each_map_elem natively (for_each.bpf.c; the kernel comparison is
// examples_compare_test ForEachMapElem): the array walk stops after key
// len % 8, the hash walk follows get_next_key's order, bad flags are
// -EINVAL, and `prune` deletes the odd values from inside the walk.
TEST_F(ExamplesTest, ForEachMapElemWalksInTheKernelsOrder) {
  auto obj = LoadObject("for_each");
  ASSERT_NE(obj, nullptr);
  const Program* fill = obj->FindProgram("fill");
  const Program* walk = obj->FindProgram("walk");
  const Program* prune = obj->FindProgram("prune");
  ASSERT_TRUE(fill != nullptr && walk != nullptr && prune != nullptr);
  ScopedCpu on(0);
  for (size_t len : {60, 61, 75, 90, 91, 100}) fill->RunXdp(EthFrame(0, len));
  constexpr uint32_t kSlots = 32;
  const int out = obj->MapFd("out");
  auto hash_keys = [&] {
    std::vector<uint64_t> keys;
    uint32_t k, next;
    const void* prev = nullptr;
    while (MapGetNextKey(obj->MapFd("hash"), prev, &next) == 0) {
      keys.push_back(next);
      k = next;
      prev = &k;
    }
    return keys;
  };
  walk->RunXdp(EthFrame(0, 67));  // stop after key 3
  EXPECT_EQ(LookupU64(out, kSlots - 3), 4u);
  EXPECT_EQ(LookupU64(out, kSlots - 1), 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(LookupU64(out, i), i);
  // arr[len % 8] += len: 60 -> 4, 61 -> 5, 75 -> 3, 90 -> 2, 91 -> 3.
  EXPECT_EQ(LookupU64(out, kSlots - 2), 90u + 75 + 91);
  const std::vector<uint64_t> order = hash_keys();
  ASSERT_EQ(order.size(), 6u);
  for (uint32_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(LookupU64(out, kSlots + i), order[i]);
  }
  EXPECT_EQ(LookupU64(out, 2 * kSlots - 1), 6u);
  EXPECT_EQ(LookupU64(out, 2 * kSlots - 2), 60u + 61 + 75 + 90 + 91 + 100);
  EXPECT_EQ(LookupU64(out, 3 * kSlots - 1), 4u);  // the per-CPU array
  EXPECT_EQ(LookupU64(out, 4 * kSlots - 1), 6u);  // the LRU hash
  EXPECT_EQ(LookupU64(out, 5 * kSlots - 1), static_cast<uint64_t>(-EINVAL));
  prune->RunXdp(EthFrame(0, 60));
  EXPECT_EQ(LookupU64(out, 5 * kSlots - 1), 6u);
  EXPECT_EQ(hash_keys().size(), 3u);  // 61, 75 and 91 deleted
}

// The longest CIDR rule decides; a program adds a /24 rule (BPF_NOEXIST:
// EEXIST the second time) and deletes it (ENOENT the second time).
TEST_F(ExamplesTest, LpmFirewallLongestPrefixDecides) {
  auto obj = LoadObject("lpm_firewall");
  ASSERT_NE(obj, nullptr);
  const Program* filter = obj->FindProgram("filter");
  const Program* learn = obj->FindProgram("learn");
  ASSERT_NE(filter, nullptr);
  ASSERT_NE(learn, nullptr);
  struct Cidr {
    uint32_t prefixlen;
    uint8_t addr[4];
  };
  struct Rule {
    uint32_t action, id;
    uint64_t hits;
  };
  const int rules = obj->MapFd("rules");
  const Cidr k8{8, {10, 0, 0, 0}}, k24{24, {10, 1, 2, 0}};
  const Rule drop{XDP_DROP, 1, 0}, pass{XDP_PASS, 2, 0};
  ASSERT_EQ(MapUpdateElem(rules, &k8, &drop, BPF_NOEXIST), 0);
  ASSERT_EQ(MapUpdateElem(rules, &k24, &pass, BPF_NOEXIST), 0);
  ScopedCpu on(0);
  auto verdict = [&](uint32_t saddr) {
    return filter->RunXdp(Ipv4Frame(saddr, 1, 1000, 80, IPPROTO_TCP)).retval;
  };
  EXPECT_EQ(verdict(0x0a010203), uint32_t{XDP_PASS});  // the /24
  EXPECT_EQ(verdict(0x0a090909), uint32_t{XDP_DROP});  // the /8
  EXPECT_EQ(verdict(0x0b000001), uint32_t{XDP_PASS});  // no rule
  Rule got{};
  ASSERT_EQ(MapLookupElem(rules, &k24, &got), 0);
  EXPECT_EQ(got.hits, 1u);
  // Learn blocks 10.7.7.0/24 inside the /8's drop.
  auto learn_port = [&](uint16_t port) {
    return learn->RunXdp(Ipv4Frame(0x0a070707, 1, 9, port, IPPROTO_UDP)).retval;
  };
  EXPECT_EQ(learn_port(1), uint32_t{XDP_PASS});
  EXPECT_EQ(learn_port(1), uint32_t{XDP_ABORTED});  // EEXIST
  const Cidr learned{24, {10, 7, 7, 0}};
  ASSERT_EQ(MapLookupElem(rules, &learned, &got), 0);
  EXPECT_EQ(got.id, 107u);
  EXPECT_EQ(learn_port(2), uint32_t{XDP_PASS});
  EXPECT_EQ(learn_port(2), uint32_t{XDP_ABORTED});  // ENOENT
  EXPECT_EQ(LookupU64(obj->MapFd("stats"), 2), uint64_t(-EEXIST));
}

TEST_F(ExamplesTest, TailCallsJumpFallThroughAndStopAfter33) {
  auto obj = LoadObject("tail_calls");
  ASSERT_NE(obj, nullptr);
  const int table = obj->MapFd("jmp_table");
  auto set = [&](uint32_t slot, const char* name) {
    const int fd = obj->FindProgram(name)->fd();
    return MapUpdateElem(table, &slot, &fd, BPF_ANY);
  };
  ASSERT_EQ(set(1, "drop_it"), 0);
  ASSERT_EQ(set(2, "bounce_it"), 0);
  ASSERT_EQ(set(3, "self_loop"), 0);
  const Program* dispatch = obj->FindProgram("dispatch");
  const int hits = obj->MapFd("hits");
  EXPECT_EQ(dispatch->RunXdp(EthFrame(ETH_P_IP, 60, 1)).retval,
            uint32_t{XDP_DROP});
  EXPECT_EQ(dispatch->RunXdp(EthFrame(ETH_P_IP, 60, 2)).retval,
            uint32_t{XDP_TX});
  EXPECT_EQ(LookupU64(hits, 7), 0u);  // never returned to the dispatcher
  EXPECT_EQ(dispatch->RunXdp(EthFrame(ETH_P_IP, 60, 5)).retval,
            uint32_t{XDP_PASS});  // empty slot
  EXPECT_EQ(dispatch->RunXdp(EthFrame(ETH_P_IP, 60, 200)).retval,
            uint32_t{XDP_PASS});  // out of range
  EXPECT_EQ(LookupU64(hits, 7), 2u);
  // The dispatcher's jump counts against the same budget: the self loop then
  // runs 33 times. Run directly, it runs 1 + 33 times.
  EXPECT_EQ(dispatch->RunXdp(EthFrame(ETH_P_IP, 60, 3)).retval,
            uint32_t{XDP_REDIRECT});
  EXPECT_EQ(LookupU64(hits, 3), 33u);
  EXPECT_EQ(
      obj->FindProgram("self_loop")->RunXdp(EthFrame(ETH_P_IP, 60)).retval,
      uint32_t{XDP_REDIRECT});
  EXPECT_EQ(LookupU64(hits, 3), 33u + 34u);
  EXPECT_EQ(LookupU64(hits, 0), 5u);
  EXPECT_EQ(LookupU64(hits, 1), 1u);
  EXPECT_EQ(LookupU64(hits, 2), 1u);
}

TEST_F(ExamplesTest, ProgArrayErrnosFollowTheKernel) {
  auto tails = LoadObject("tail_calls");
  auto hist = LoadObject("histogram");
  ASSERT_NE(tails, nullptr);
  ASSERT_NE(hist, nullptr);
  const int table = tails->MapFd("jmp_table");
  const int xdp_fd = tails->FindProgram("drop_it")->fd();
  const int tc_fd = hist->FindProgram("size_histogram")->fd();
  uint32_t slot = 0;
  uint32_t id;
  EXPECT_EQ(MapLookupElem(table, &slot, &id), -ENOENT);
  EXPECT_EQ(MapDeleteElem(table, &slot), -ENOENT);
  int bad_fd = 9999;
  EXPECT_EQ(MapUpdateElem(table, &slot, &bad_fd, BPF_ANY), -EBADF);
  const int map_fd = hist->MapFd("sizes");
  EXPECT_EQ(MapUpdateElem(table, &slot, &map_fd, BPF_ANY), -EINVAL);
  EXPECT_EQ(MapUpdateElem(table, &slot, &xdp_fd, BPF_NOEXIST), -EINVAL);
  slot = 8;
  EXPECT_EQ(MapUpdateElem(table, &slot, &xdp_fd, BPF_ANY), -E2BIG);
  EXPECT_EQ(MapDeleteElem(table, &slot), -E2BIG);
  EXPECT_EQ(MapLookupElem(table, &slot, &id), -ENOENT);
  slot = 0;
  EXPECT_EQ(MapUpdateElem(table, &slot, &xdp_fd, BPF_ANY), 0);
  EXPECT_EQ(MapLookupElem(table, &slot, &id), 0);
  EXPECT_GT(id, 0u);
  // The map now belongs to XDP programs: a tc program is incompatible.
  slot = 1;
  EXPECT_EQ(MapUpdateElem(table, &slot, &tc_fd, BPF_ANY), -EINVAL);
  uint32_t next;
  EXPECT_EQ(MapGetNextKey(table, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  slot = 0;
  EXPECT_EQ(MapDeleteElem(table, &slot), 0);
  EXPECT_EQ(MapLookupAndDeleteElem(table, &slot, &id), -524);  // ENOTSUPP
}

TEST_F(ExamplesTest, OneLoadPerObjectAtATime) {
  auto a = LoadObject("counter");
  ASSERT_NE(a, nullptr);
  auto b = Object::Open("tests/examples/counter.bpf.o");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Load(), -EBUSY);
  a.reset();
  EXPECT_EQ((*b)->Load(), 0);
  EXPECT_FALSE(Object::Open("no_such_object").ok());
}

struct LockedValue {
  uint32_t lock, pad;
  uint64_t packets, bytes;
};

TEST_F(ExamplesTest, SpinLockKeepsTwoCpusFromLosingUpdates) {
  auto obj = LoadObject("helpers");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("lock_add");
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 100)).retval, 1u);
  constexpr int kPerThread = 20000;
  auto work = [&](int cpu) {
    ScopedCpu on(cpu);
    const auto frame = EthFrame(ETH_P_IP, 64);
    for (int i = 0; i < kPerThread; ++i) prog->RunSkb(frame);
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  LockedValue v;
  const uint32_t key = 0;
  ASSERT_EQ(MapLookupElem(obj->MapFd("locked"), &key, &v), 0);
  EXPECT_EQ(v.lock, 0u);  // a syscall copy never shows the lock word
  EXPECT_EQ(v.packets, 1u + 2 * kPerThread);
  EXPECT_EQ(v.bytes, 100u + 2u * kPerThread * 64);
}

TEST_F(ExamplesTest, PercpuLookupReadsAnotherCpusSlot) {
  SetNumPossibleCpus(2);
  auto obj = LoadObject("helpers");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("percpu_peek");
  const auto frame = EthFrame(ETH_P_IP, 60);
  {
    ScopedCpu on(1);
    EXPECT_EQ(prog->RunSkb(frame).retval, 101u);
  }
  ScopedCpu on(0);
  EXPECT_EQ(prog->RunSkb(frame).retval, 1u);
  EXPECT_EQ(prog->RunSkb(frame).retval, 1u);
}

TEST_F(ExamplesTest, LoopStopsWhenTheCallbackSaysSo) {
  auto obj = LoadObject("helpers");
  ASSERT_NE(obj, nullptr);
  // 0 + 1 + ... + 6 = 21 in 7 iterations.
  EXPECT_EQ(obj->FindProgram("loop_sum")->RunSkb(EthFrame(ETH_P_IP, 60)).retval,
            21007u);
  const int fd = obj->MapFd("samples");
  EXPECT_EQ(static_cast<int64_t>(LookupU64(fd, 0)), -EINVAL);
  // The verifier inlines bpf_loop; its E2BIG is a 32-bit -7.
  EXPECT_EQ(LookupU64(fd, 1), uint64_t{uint32_t(-E2BIG)});
}

TEST_F(ExamplesTest, MapInMapLookupGivesAnInnerMapUsableWithHelpers) {
  auto obj = LoadObject("helpers");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("count_in_table");
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 8,
               .max_entries = 4};
  const int inner = MapCreate(attr);
  ASSERT_GE(inner, 0);
  const int tables = obj->MapFd("tables");
  const uint32_t slot0 = 0;
  ASSERT_EQ(MapUpdateElem(tables, &slot0, &inner, BPF_ANY), 0);
  // A template mismatch (max_entries) is refused as by the kernel.
  attr.max_entries = 8;
  const int wrong = MapCreate(attr);
  EXPECT_EQ(MapUpdateElem(tables, &slot0, &wrong, BPF_ANY), -EINVAL);
  CloseFd(wrong);
  CloseFd(inner);  // the outer slot keeps the inner map alive
  struct __sk_buff ctx = {};
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 61), &ctx).retval, 1u);
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 65), &ctx).retval, 2u);
  ctx.mark = 1;  // slot 1 is empty
  EXPECT_EQ(prog->RunSkb(EthFrame(ETH_P_IP, 61), &ctx).retval, 1000u);
  uint32_t id;
  ASSERT_EQ(MapLookupElem(tables, &slot0, &id), 0);
  const int again = MapGetFdById(id);
  ASSERT_GE(again, 0);
  EXPECT_EQ(LookupU64(again, 1), 2u);
  CloseFd(again);
}

TEST_F(ExamplesTest, SocketRedirectsFollowTheKernelsVerdicts) {
  auto obj = LoadObject("sock_redirect");
  ASSERT_NE(obj, nullptr);
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  const int socks = obj->MapFd("socks");
  uint32_t k = 0;
  uint64_t fd = pair[0];
  ASSERT_EQ(MapUpdateElem(socks, &k, &fd, BPF_ANY), 0);
  k = 1;
  fd = listener;
  ASSERT_EQ(MapUpdateElem(socks, &k, &fd, BPF_ANY), 0);
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  ASSERT_EQ(getsockopt(pair[0], SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);

  const Program* skb_prog = obj->FindProgram("redirect_skb");
  EXPECT_EQ(skb_prog->type(), BPF_PROG_TYPE_SK_SKB);
  struct __sk_buff skb = {};
  native::ClearRedirect();
  EXPECT_EQ(skb_prog->Run(&skb), 1u);  // SK_PASS: a connected socket
  EXPECT_TRUE(native::LastRedirect().taken);
  EXPECT_EQ(native::LastRedirect().cookie, cookie);
  skb.priority = BPF_F_INGRESS;
  EXPECT_EQ(skb_prog->Run(&skb), 1u);
  EXPECT_EQ(native::LastRedirect().flags, uint64_t{BPF_F_INGRESS});
  skb.priority = 4;  // unknown flag
  EXPECT_EQ(skb_prog->Run(&skb), 0u);
  skb.priority = 0;
  skb.mark = 1;  // a listener: no redirect
  EXPECT_EQ(skb_prog->Run(&skb), 0u);
  skb.mark = 2;  // empty slot
  EXPECT_EQ(skb_prog->Run(&skb), 0u);

  // sk_msg through the SOCKHASH: with BPF_F_INGRESS a unix socket may take
  // the message; a missing key drops it.
  const Program* msg_prog = obj->FindProgram("redirect_msg");
  EXPECT_EQ(msg_prog->type(), BPF_PROG_TYPE_SK_MSG);
  uint32_t port = 4242;
  fd = pair[1];
  ASSERT_EQ(MapUpdateElem(obj->MapFd("socks_by_port"), &port, &fd, BPF_ANY), 0);
  struct sk_msg_md msg = {};
  msg.local_port = 4242;
  EXPECT_EQ(msg_prog->Run(&msg), 1u);
  msg.local_port = 1;
  EXPECT_EQ(msg_prog->Run(&msg), 0u);
  close(pair[0]);
  close(pair[1]);
  close(listener);
}

// bpf_sk_redirect_hash and bpf_msg_redirect_map (net/core/sock_map.c),
// which the kernel cannot test-run (SK_SKB and SK_MSG have no test_run), in
// both faces: the verdicts of the source. Stream verdicts: unknown flags,
// a missing key or a listener -> SK_DROP; a connected socket of any family
// -> SK_PASS, with or without BPF_F_INGRESS. Message verdicts: the same,
// but egress (no BPF_F_INGRESS) only to TCP.
TEST_F(ExamplesTest, SocketRedirectsTheOtherWayAround) {
  for (const bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto opened =
        bytecode ? Object::OpenBytecode("tests/examples/sock_redirect.bpf.o")
                 : Object::Open("sock_redirect");
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::unique_ptr<Object> obj = std::move(*opened);
    ASSERT_EQ(obj->Load(), 0);
    int unix_pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair), 0);
    // A connected TCP pair over loopback, and its listener.
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(listener, 1), 0);
    socklen_t alen = sizeof(a);
    ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &alen), 0);
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    const int server = accept(listener, nullptr, nullptr);
    ASSERT_GE(server, 0);
    const int socks = obj->MapFd("socks"),
              by_port = obj->MapFd("socks_by_port");
    auto put = [](int map, uint32_t key, int fd) {
      const uint64_t v = static_cast<uint64_t>(fd);
      EXPECT_EQ(MapUpdateElem(map, &key, &v, BPF_ANY), 0);
    };
    // Slot/key 0: the unix socket, 1: the listener, 2: the TCP client.
    put(socks, 0, unix_pair[0]);
    put(socks, 1, listener);
    put(socks, 2, client);
    put(by_port, 0, unix_pair[1]);
    put(by_port, 1, listener);
    put(by_port, 2, server);
    uint64_t server_cookie = 0, client_cookie = 0;
    socklen_t len = sizeof(uint64_t);
    ASSERT_EQ(getsockopt(server, SOL_SOCKET, SO_COOKIE, &server_cookie, &len),
              0);
    ASSERT_EQ(getsockopt(client, SOL_SOCKET, SO_COOKIE, &client_cookie, &len),
              0);

    const Program* skb_prog = obj->FindProgram("redirect_skb_hash");
    ASSERT_NE(skb_prog, nullptr);
    EXPECT_EQ(skb_prog->type(), BPF_PROG_TYPE_SK_SKB);
    struct Want {
      uint32_t key;
      uint32_t flags;
      uint32_t verdict;
    };
    for (const Want& w :
         {Want{0, 0, SK_PASS}, Want{0, BPF_F_INGRESS, SK_PASS},
          Want{1, 0, SK_DROP}, Want{2, 0, SK_PASS},
          Want{2, BPF_F_INGRESS, SK_PASS}, Want{2, 2, SK_DROP},
          Want{3, 0, SK_DROP}, Want{7, BPF_F_INGRESS, SK_DROP}}) {
      SCOPED_TRACE("skb key " + std::to_string(w.key) + " flags " +
                   std::to_string(w.flags));
      struct __sk_buff skb = {};
      skb.mark = w.key;
      skb.priority = w.flags;
      native::ClearRedirect();
      EXPECT_EQ(skb_prog->Run(&skb), w.verdict);
      EXPECT_EQ(native::LastRedirect().taken, w.verdict == SK_PASS);
      if (w.verdict == SK_PASS) {
        EXPECT_EQ(native::LastRedirect().flags, w.flags);
        if (w.key == 2) {
          EXPECT_EQ(native::LastRedirect().cookie, server_cookie);
        }
      }
    }

    const Program* msg_prog = obj->FindProgram("redirect_msg_map");
    ASSERT_NE(msg_prog, nullptr);
    EXPECT_EQ(msg_prog->type(), BPF_PROG_TYPE_SK_MSG);
    for (const Want& w :
         {Want{0, 0, SK_DROP},  // egress to a unix socket
          Want{0, BPF_F_INGRESS, SK_PASS}, Want{1, BPF_F_INGRESS, SK_DROP},
          Want{2, 0, SK_PASS}, Want{2, BPF_F_INGRESS, SK_PASS},
          Want{2, BPF_F_INGRESS | 2, SK_DROP}, Want{3, 0, SK_DROP},
          Want{200, BPF_F_INGRESS, SK_DROP}}) {
      SCOPED_TRACE("msg slot " + std::to_string(w.key) + " flags " +
                   std::to_string(w.flags));
      struct sk_msg_md msg = {};
      msg.local_port = w.key | w.flags << 8;
      native::ClearRedirect();
      EXPECT_EQ(msg_prog->Run(&msg), w.verdict);
      EXPECT_EQ(native::LastRedirect().taken, w.verdict == SK_PASS);
      if (w.verdict == SK_PASS && w.key == 2) {
        EXPECT_EQ(native::LastRedirect().cookie, client_cookie);
      }
    }
    for (int fd : {unix_pair[0], unix_pair[1], listener, client, server}) {
      close(fd);
    }
  }
}

TEST_F(ExamplesTest, TaskTimeAndRandomHelpersAreSettable) {
  auto obj = LoadObject("helpers");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("task_info");
  const int fd = obj->MapFd("samples");
  const uint64_t args[1] = {0};
  native::SetPidTgid(uint64_t{42} << 32 | 43);
  native::SetUidGid(uint64_t{7} << 32 | 8);
  native::SetKtime(1000, 10);
  native::SetComm("zsh");
  native::SetPrandomSeed(1);
  native::ClearPrintk();
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  EXPECT_EQ(LookupU64(fd, 2), uint64_t{42} << 32 | 43);
  EXPECT_EQ(LookupU64(fd, 3), uint64_t{7} << 32 | 8);
  EXPECT_EQ(LookupU64(fd, 4), 1000u);
  EXPECT_EQ(LookupU64(fd, 5), 1010u);
  EXPECT_EQ(LookupU64(fd, 7), uint64_t{'z'});
  const uint64_t first_random = LookupU64(fd, 6);
  EXPECT_EQ(native::PrintkLines(),
            std::vector<std::string>{"task 42 comm zsh"});
  // The same seed gives the same sequence.
  native::SetPrandomSeed(1);
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  EXPECT_EQ(LookupU64(fd, 6), first_random);
  // Defaults come from the calling thread and the monotonic clock.
  native::ResetHelpers();
  EXPECT_EQ(prog->RunRawTp(args), 0u);
  EXPECT_EQ(LookupU64(fd, 2) >> 32, static_cast<uint64_t>(getpid()));
  EXPECT_EQ(LookupU64(fd, 3) & 0xffffffff, getuid());
  EXPECT_LE(LookupU64(fd, 4), LookupU64(fd, 5));
}

// cgroups.bpf.c natively, with the current cgroup set per test: the
// root holds everyone; a child cgroup holds only the tasks in it.
TEST_F(ExamplesTest, CurrentCgroupIsSettable) {
  if (Cgroup2Mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const int root = open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(root, 0);
  auto obj = LoadObject("cgroups");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("under_cgroup");
  const int cgroups = obj->MapFd("cgroups");
  const int out = obj->MapFd("out");
  uint32_t slot = 0;
  int32_t value = root;
  ASSERT_EQ(MapUpdateElem(cgroups, &slot, &value, BPF_ANY), 0);
  const uint64_t at_root[2] = {0, 0}, at_child[2] = {1, 0};
  native::SetCurrentCgroup("/");
  EXPECT_EQ(prog->RunRawTp(at_root), 1u);
  EXPECT_EQ(LookupU64(out, 0), 1u);
  EXPECT_EQ(static_cast<int64_t>(LookupU64(out, 1)), -E2BIG);
  EXPECT_EQ(LookupU64(out, 2), kRootCgroupId);
  EXPECT_EQ(prog->RunRawTp(at_child), 0u);
  EXPECT_EQ(static_cast<int64_t>(LookupU64(out, 0)), -EAGAIN);
  close(root);
  const std::string child = "/bpfemu-examples-" + std::to_string(getpid());
  if (mkdir((Cgroup2Mount() + child).c_str(), 0755) != 0) {
    GTEST_SKIP() << "the cgroup2 root is not writable: no child cgroup";
  }
  const int fd = open((Cgroup2Mount() + child).c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  slot = 1;
  value = fd;
  ASSERT_EQ(MapUpdateElem(cgroups, &slot, &value, BPF_ANY), 0);
  EXPECT_EQ(prog->RunRawTp(at_child), 0u);  // "/" is not under the child
  EXPECT_EQ(LookupU64(out, 0), 0u);
  native::SetCurrentCgroup(child);
  EXPECT_EQ(prog->RunRawTp(at_child), 1u);
  EXPECT_EQ(LookupU64(out, 2), st.st_ino);
  EXPECT_EQ(prog->RunRawTp(at_root), 1u);
  close(fd);
  rmdir((Cgroup2Mount() + child).c_str());
}

// cgroup_storage.bpf.c natively: each BPF_PROG_TEST_RUN has its own zeroed
// storages, kept across its repeats; the maps stay empty.
TEST_F(ExamplesTest, CgroupStorageLivesForOneTestRun) {
  auto obj = LoadObject("cgroup_storage");
  ASSERT_NE(obj, nullptr);
  const Program* prog = obj->FindProgram("count_egress");
  std::shared_ptr<const Prog> p;
  ASSERT_EQ(ProgFromFd(prog->fd(), &p), 0);
  const std::vector<uint8_t> pkt = EthFrame(ETH_P_IP, 100);
  ScopedCpu on(0);
  for (uint32_t repeat : {1u, 4u, 5u}) {
    native::TestRunAttr attr;
    attr.data_in = pkt.data();
    attr.data_size_in = static_cast<uint32_t>(pkt.size());
    attr.repeat = repeat;
    native::TestRunOutput result;
    ASSERT_EQ(native::TestRun(*p, attr, &result), 0);
    EXPECT_EQ(result.retval, repeat & 1);
    EXPECT_EQ(LookupU64(obj->MapFd("seen"), 0), repeat);
    EXPECT_EQ(LookupU64(obj->MapFd("seen"), 2), repeat);  // all on CPU 0
  }
  uint64_t key[2] = {0, 0}, next[2];
  EXPECT_EQ(MapGetNextKey(obj->MapFd("stats"), nullptr, next), -ENOENT);
  EXPECT_EQ(MapLookupElem(obj->MapFd("stats"), key, next), -ENOENT);
}

// strings.bpf.c natively: the values kernel/bpf/helpers.c's __bpf_strtoull
// and lib/string.c's strncmp give (returns are the characters consumed or
// a negative errno; the result is zeroed on error).
TEST_F(ExamplesTest, StringsMirrorTheKernelsParsers) {
  auto obj = LoadObject("strings");
  ASSERT_NE(obj, nullptr);
  const int fd = obj->MapFd("out");
  auto at = [&](uint32_t slot) {
    return static_cast<int64_t>(LookupU64(fd, slot));
  };
  ASSERT_EQ(
      obj->FindProgram("parse_strtox")->RunSkb(EthFrame(ETH_P_IP, 64)).retval,
      0u);
  EXPECT_EQ(at(0), 8);  // "  \t-1234": space, tab, sign, four digits
  EXPECT_EQ(at(1), -1234);
  EXPECT_EQ(at(6), 4);  // "0x1f", base 0 -> 16
  EXPECT_EQ(at(7), 0x1f);
  EXPECT_EQ(at(14), 4);  // "0755": base 0 -> 8
  EXPECT_EQ(at(15), 0755);
  EXPECT_EQ(at(18), 1);  // "0x" with no hex digit: base 8, "0"
  EXPECT_EQ(at(19), 0);
  EXPECT_EQ(at(20), -EINVAL);  // base 16: prefix skipped, no digit
  EXPECT_EQ(at(21), 0);
  EXPECT_EQ(at(26), -EINVAL);  // '+' is not a sign
  EXPECT_EQ(at(30), -EINVAL);  // whitespace only
  EXPECT_EQ(at(32), -EINVAL);  // "-" only
  EXPECT_EQ(at(42), 19);
  EXPECT_EQ(at(43), INT64_MAX);
  EXPECT_EQ(at(44), -ERANGE);
  EXPECT_EQ(at(46), 20);
  EXPECT_EQ(at(47), INT64_MIN);
  EXPECT_EQ(at(48), -ERANGE);
  EXPECT_EQ(at(50), -ERANGE);
  EXPECT_EQ(at(52), -ERANGE);
  EXPECT_EQ(at(54), 63);  // 69 characters: only 63 are parsed
  EXPECT_EQ(at(56), 3);   // NBSP (0xa0) is kernel whitespace
  EXPECT_EQ(at(57), 42);
  EXPECT_EQ(at(58), 2);
  EXPECT_EQ(at(59), 12);
  EXPECT_EQ(at(64), 2);  // stops at the NUL
  for (uint32_t slot : {66u, 68u, 70u, 72u}) {
    EXPECT_EQ(at(slot), -EINVAL) << slot;  // base 2, flag bit, base 1, 17
    EXPECT_EQ(at(slot + 1), 0) << slot;
  }
  EXPECT_EQ(at(80), -EINVAL);  // strtoul of a negative number
  EXPECT_EQ(at(82), -EINVAL);
  EXPECT_EQ(at(83), 0);
  EXPECT_EQ(at(84), 20);
  EXPECT_EQ(at(85), -1);  // ULLONG_MAX
  EXPECT_EQ(at(86), -ERANGE);
  EXPECT_EQ(at(88), 18);
  EXPECT_EQ(at(90), -ERANGE);
  EXPECT_EQ(at(104), 19);
  EXPECT_EQ(at(105), INT64_MIN);
  EXPECT_EQ(at(106), 3);  // "0Xa": base 0 sees the prefix
  EXPECT_EQ(at(107), 10);

  ASSERT_EQ(
      obj->FindProgram("cmp_strings")->RunSkb(EthFrame(ETH_P_IP, 64)).retval,
      0u);
  const int64_t cmp[] = {0, -1, 1, 0, -1, 1, 0, -1, 1, 0, 1, -1, -1, 0, -1};
  for (uint32_t i = 0; i < std::size(cmp); ++i) {
    EXPECT_EQ(at(i), cmp[i]) << "strncmp case " << i;
  }

  ASSERT_EQ(
      obj->FindProgram("read_clocks")->RunSkb(EthFrame(ETH_P_IP, 64)).retval,
      0u);
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(at(i), 1) << "clock check " << i;
  EXPECT_EQ(at(8), 0);  // bpf_get_numa_node_id
}

// The clock model: by default each clock is its own (CLOCK_BOOTTIME,
// _MONOTONIC_COARSE, _TAI); native::SetKtime makes them all read the one
// stepping sequence, jiffies64 as INITIAL_JIFFIES plus its ticks at HZ 250.
TEST_F(ExamplesTest, ClocksFollowSetKtime) {
  constexpr uint64_t kInitialJiffies = 0x100000000ULL - 300 * 250;
  const uint64_t mono = bpfemu_ktime_get_ns();
  EXPECT_GE(bpfemu_ktime_get_boot_ns(), mono);
  EXPECT_GT(bpfemu_ktime_get_tai_ns(), mono);
  EXPECT_LE(bpfemu_ktime_get_coarse_ns(), bpfemu_ktime_get_ns());
  EXPECT_GE(bpfemu_jiffies64(), kInitialJiffies + mono / 4000000 - 1);
  native::SetKtime(1000, 10);
  EXPECT_EQ(bpfemu_ktime_get_ns(), 1000u);
  EXPECT_EQ(bpfemu_ktime_get_boot_ns(), 1010u);
  EXPECT_EQ(bpfemu_ktime_get_coarse_ns(), 1020u);
  EXPECT_EQ(bpfemu_ktime_get_tai_ns(), 1030u);
  EXPECT_EQ(bpfemu_jiffies64(), kInitialJiffies);
  native::SetKtime(uint64_t{3} * 1000000000, 0);
  EXPECT_EQ(bpfemu_jiffies64(), kInitialJiffies + 750);  // 3 s at HZ 250
  EXPECT_EQ(bpfemu_get_numa_node_id(), 0);
}

// packet_rewrite.bpf.c's argument errors and bpf_csum_diff under both
// of its versions (the 6.18 values are the kernel's, measured by
// examples_compare_test's PacketRewrite; 6.12's follow its scratchpad sum).
TEST_F(ExamplesTest, PacketRewriteErrorsAndCsumDiffByVersion) {
  auto obj = LoadObject("packet_rewrite");
  ASSERT_NE(obj, nullptr);
  const Program* errors = obj->FindProgram("errors");
  const Program* encap = obj->FindProgram("encap");
  ASSERT_NE(errors, nullptr);
  ASSERT_NE(encap, nullptr);
  const int fd = obj->MapFd("results");
  const KernelVersion saved = TargetKernel();
  auto result = [&](uint32_t slot) {
    return static_cast<int64_t>(LookupU64(fd, slot));
  };
  const std::vector<uint8_t> frame =
      Ipv4Frame(0xc0a80001, 0xc0a80002, 4000, 53, IPPROTO_UDP, 60);
  for (KernelVersion v : {KernelVersion::k6_12, KernelVersion::k6_18}) {
    SetTargetKernel(v);
    SCOPED_TRACE(KernelVersionName(v));
    ASSERT_EQ(errors->RunSkb(frame).err, 0);
    EXPECT_EQ(result(16), -EINVAL);  // store_bytes: unknown flag
    EXPECT_EQ(result(17), -EFAULT);  // past the frame
    EXPECT_EQ(result(18), -EFAULT);  // offset over INT_MAX
    EXPECT_EQ(result(19), 0);        // the last 4 bytes
    EXPECT_EQ(result(20), -EFAULT);  // l3: odd offset
    EXPECT_EQ(result(21), -EINVAL);  // size 3
    EXPECT_EQ(result(22), -EINVAL);  // size 0 with from != 0
    EXPECT_EQ(result(23), -EINVAL);  // flags beyond the size field
    EXPECT_EQ(result(24), -EFAULT);  // offset over 0xffff
    EXPECT_EQ(result(25), -EFAULT);  // l4: odd offset
    EXPECT_EQ(result(26), -EFAULT);  // at the frame's end
    EXPECT_EQ(result(27), -EINVAL);  // unknown flag
    EXPECT_EQ(result(28), -EINVAL);  // size 8
    ASSERT_EQ(encap->RunXdp(frame).retval, uint32_t{XDP_TX});
    if (v == KernelVersion::k6_12) {
      EXPECT_EQ(result(29), -EINVAL);  // 3 bytes
      EXPECT_EQ(result(30), -EINVAL);  // 516 bytes
      EXPECT_EQ(result(31), 0xfffffffe);
      EXPECT_EQ(result(32), 0x12345678);  // the seed as it is
      EXPECT_EQ(result(1), 0x45000499);   // the outer header's 32-bit sum
    } else {
      EXPECT_EQ(result(29), 0);
      EXPECT_EQ(result(30), 0xffff);
      EXPECT_EQ(result(31), 0xfffe);
      EXPECT_EQ(result(32), 0x68ac);  // the seed folded
      EXPECT_EQ(result(1), 0x4999);
    }
  }
  SetTargetKernel(saved);
}

// xdp_lb.bpf.c natively: what bpf_redirect_map records (LastRedirect) for
// each of the program's paths, on emulated devices beyond lo.
TEST_F(ExamplesTest, XdpLoadBalancerRecordsItsRedirects) {
  auto obj = LoadObject("xdp_lb");
  ASSERT_NE(obj, nullptr);
  const int veth = NetdevAdd("veth-lb");
  ASSERT_GT(veth, 1);
  struct Val {
    uint32_t first, prog;
  };
  const int backends = obj->MapFd("backends");
  const int stats = obj->MapFd("stats");
  const Val to_veth{static_cast<uint32_t>(veth), 0}, to_lo{1, 0};
  uint32_t k = 0;
  ASSERT_EQ(MapUpdateElem(backends, &k, &to_veth, 0), 0);
  k = 1;
  ASSERT_EQ(MapUpdateElem(backends, &k, &to_lo, 0), 0);
  const uint64_t two = 2;
  k = 0;
  ASSERT_EQ(MapUpdateElem(stats, &k, &two, 0), 0);
  const Program* lb = obj->FindProgram("lb");
  // UDP flows land on either backend, as their hash says.
  int seen_veth = 0;
  for (uint16_t sport = 1000; sport < 1040; ++sport) {
    native::ClearRedirect();
    const auto r =
        lb->RunXdp(Ipv4Frame(0x0a000001, 0x0a000002, sport, 53, IPPROTO_UDP));
    ASSERT_EQ(r.retval, uint32_t{XDP_REDIRECT});
    const native::Redirect rd = native::LastRedirect();
    ASSERT_TRUE(rd.taken);
    EXPECT_EQ(rd.map_type, uint32_t{BPF_MAP_TYPE_DEVMAP_HASH});
    EXPECT_EQ(rd.key, LookupU64(stats, 6));
    EXPECT_EQ(rd.ifindex, LookupU64(stats, 7));
    EXPECT_EQ(rd.ifindex, rd.key == 0 ? static_cast<uint32_t>(veth) : 1u);
    seen_veth += rd.ifindex == static_cast<uint32_t>(veth);
  }
  EXPECT_GT(seen_veth, 0);
  EXPECT_LT(seen_veth, 40);
  // Broadcast: every backend but the ingress device lo.
  auto bcast = EthFrame(ETH_P_IP, 64);
  std::memset(bcast.data(), 0xff, ETH_ALEN);
  ASSERT_EQ(lb->RunXdp(bcast).retval, uint32_t{XDP_REDIRECT});
  EXPECT_EQ(native::LastRedirect().broadcast,
            std::vector<uint32_t>{static_cast<uint32_t>(veth)});
  EXPECT_EQ(native::LastRedirect().flags,
            uint64_t{BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS});
  // Received on the emulated device instead: lo gets the copy.
  struct xdp_md ctx = {};
  ctx.data_end = static_cast<uint32_t>(bcast.size());
  ctx.ingress_ifindex = static_cast<uint32_t>(veth);
  ASSERT_EQ(lb->RunXdp(bcast, &ctx).retval, uint32_t{XDP_REDIRECT});
  EXPECT_EQ(native::LastRedirect().broadcast, std::vector<uint32_t>{1});
  ctx.ingress_ifindex = 250;  // no such device
  EXPECT_EQ(lb->RunXdp(bcast, &ctx).err, -ENODEV);
  // TCP goes to a CPU; an empty CPU slot falls back to XDP_DROP and clears
  // the record.
  const int cpus = obj->MapFd("cpus");
  const Val q{32, 0};
  for (uint32_t cpu = 0; cpu < 2; ++cpu) {
    native::ClearRedirect();
    uint16_t sport = 2000;
    for (; sport < 3000; ++sport) {
      lb->RunXdp(Ipv4Frame(0x0a000001, 0x0a000002, sport, 80, IPPROTO_TCP));
      if (LookupU64(stats, 9) == cpu) break;
    }
    const auto pkt = Ipv4Frame(0x0a000001, 0x0a000002, sport, 80, IPPROTO_TCP);
    EXPECT_EQ(lb->RunXdp(pkt).retval, uint32_t{XDP_DROP});
    EXPECT_FALSE(native::LastRedirect().taken);
    ASSERT_EQ(MapUpdateElem(cpus, &cpu, &q, 0), 0);
    EXPECT_EQ(lb->RunXdp(pkt).retval, uint32_t{XDP_REDIRECT});
    EXPECT_EQ(native::LastRedirect().map_type, uint32_t{BPF_MAP_TYPE_CPUMAP});
    EXPECT_EQ(native::LastRedirect().cpu, cpu);
  }
  // Flags the device map does not take: XDP_ABORTED; a missing CPU key
  // gives the fallback.
  lb->RunXdp(EthFrame(ETH_P_IP, 64));
  obj->FindProgram("bad_flags")->RunXdp(EthFrame(ETH_P_IP, 64));
  EXPECT_EQ(LookupU64(stats, 4), uint64_t{XDP_ABORTED});
  EXPECT_EQ(LookupU64(stats, 5), uint64_t{XDP_TX});
  // bpf_redirect by ifindex, checked against the device table.
  auto frame = [](uint8_t ifindex, uint8_t flags) {
    auto f = EthFrame(0x88b5, 64, ifindex);
    f[ETH_HLEN + 1] = flags;
    return f;
  };
  const Program* xdp = obj->FindProgram("to_device");
  const Program* tc = obj->FindProgram("tc_to_device");
  EXPECT_EQ(xdp->RunXdp(frame(static_cast<uint8_t>(veth), 0)).retval,
            uint32_t{XDP_REDIRECT});
  EXPECT_EQ(native::LastRedirect().ifindex, static_cast<uint32_t>(veth));
  EXPECT_EQ(native::LastRedirect().map_id, uint32_t{INT32_MAX});
  EXPECT_FALSE(native::LastRedirect().device_missing);
  EXPECT_EQ(xdp->RunXdp(frame(99, 0)).retval, uint32_t{XDP_REDIRECT});
  EXPECT_TRUE(native::LastRedirect().device_missing);
  EXPECT_EQ(xdp->RunXdp(frame(1, BPF_F_INGRESS)).retval, uint32_t{XDP_ABORTED});
  EXPECT_EQ(tc->RunSkb(frame(1, BPF_F_INGRESS)).retval, 7u);  // REDIRECT
  EXPECT_EQ(native::LastRedirect().flags, uint64_t{BPF_F_INGRESS});
  EXPECT_EQ(native::LastRedirect().map_id, 0u);
  EXPECT_EQ(tc->RunSkb(frame(1, 2)).retval, 2u);  // TC_ACT_SHOT
  // Removing the device drops its backend: its flows fall back to XDP_PASS.
  ASSERT_EQ(NetdevRemove(veth), 0);
  k = 0;
  Val out;
  EXPECT_EQ(MapLookupElem(backends, &k, &out), -ENOENT);
}

}  // namespace
}  // namespace bpfemu::examples
