// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel: the same scripted ring-buffer steps run in the kernel,
// by progs/ringbuf_script.bpf.c under BPF_PROG_TEST_RUN, and on an emulated
// ring. The steps are reserve+submit, reserve+discard, output and query,
// with sizes 1..4096 and every wake-up flag, on a 16 KiB ring that wraps
// and fills up. A libbpf consumer (kernel) and bpfemu's RingBuffer (emulator)
// drain at irregular intervals. The two transcripts must be identical:
// helper results (which reservations failed), query values, and every
// delivered record's size and bytes. Needs bpf(): tagged "local", skipped
// with a one-line reason without permission.
//
// CrossProcessWakeupAgrees (issue 20): a consumer blocked in poll(-1) and
// an epoll fd waited on in a second process are woken when another process
// produces: on the kernel the producer child runs the program with
// BPF_PROG_TEST_RUN, on the emulator it calls the helper on the shared ring.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "emu/ringbuf.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

enum Op : uint32_t {
  kReserveSubmit = 0,
  kReserveDiscard = 1,
  kOutput = 2,
  kQuery = 3
};

struct Step {
  uint32_t op;
  uint32_t size;
  uint64_t flags;
};

constexpr size_t kSourceSize = 8192;

uint8_t SourceByte(size_t i) { return static_cast<uint8_t>(i * 7 + 3); }

// A consumer callback that appends "size:hex" lines to a transcript.
int Transcribe(void* ctx, void* data, size_t size) {
  auto* log = static_cast<std::string*>(ctx);
  *log += absl::StrFormat("  record %u:", size);
  uint32_t sum = 0;
  for (size_t i = 0; i < size; ++i) {
    sum = sum * 31 + static_cast<uint8_t*>(data)[i];
  }
  *log += absl::StrFormat("%08x\n", sum);
  return 0;
}

std::vector<Step> Script() {
  absl::BitGen gen(std::seed_seq{42});
  std::vector<Step> steps;
  const uint64_t wake[] = {0, BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP};
  // Every size 1..4096 once, in a shuffled order of ops and flags, then
  // random sizes; a query of each kind now and then.
  for (uint32_t size = 1; size <= 4096; ++size) {
    const uint32_t op = absl::Uniform<uint32_t>(gen, 0, 3);
    steps.push_back({op, size, wake[absl::Uniform<uint32_t>(gen, 0, 3)]});
    if (size % 97 == 0) {
      steps.push_back({kQuery, 0, absl::Uniform<uint64_t>(gen, 0, 5)});
    }
  }
  for (int i = 0; i < 2000; ++i) {
    steps.push_back({absl::Uniform<uint32_t>(gen, 0, 3),
                     absl::Uniform<uint32_t>(gen, 0, 300), 0});
  }
  steps.push_back({kReserveSubmit, 16376, 0});  // larger than the ring allows
  steps.push_back({kOutput, 16377, 0});
  steps.push_back({kReserveSubmit, 1u << 25, 0});  // above DYNPTR_MAX_SIZE
  steps.push_back({kReserveSubmit, 8, 1});         // reserve flags: -EINVAL
  steps.push_back({kOutput, 8, 4});                // output flags: -EINVAL
  for (uint64_t q = 0; q < 4; ++q) steps.push_back({kQuery, 0, q});
  return steps;
}

// Drains after a varying number of steps, so the ring fills and wraps.
bool DrainAfter(size_t i) { return i % 23 == 0 || (i / 200) % 3 == 2; }

class RingbufCompare : public KernelTest<> {};

TEST_F(RingbufCompare, ScriptedStepsAgree) {
  const std::vector<Step> steps = Script();
  std::vector<uint8_t> source(kSourceSize);
  for (size_t i = 0; i < source.size(); ++i) source[i] = SourceByte(i);

  // Kernel: load the program, fill its payload source, attach a consumer.
  bpf_object* obj =
      bpf_object__open_file("kernel_compare/ringbuf_script.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr) << "open: " << errno;
  ASSERT_EQ(bpf_object__load(obj), 0);
  const int prog =
      bpf_program__fd(bpf_object__find_program_by_name(obj, "run_step"));
  const int krb = bpf_object__find_map_fd_by_name(obj, "rb");
  const int kstep = bpf_object__find_map_fd_by_name(obj, "step");
  const int ksource = bpf_object__find_map_fd_by_name(obj, "source");
  ASSERT_GE(prog, 0);
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(ksource, &zero, source.data(), BPF_ANY), 0);
  std::string klog;
  ring_buffer* kconsumer = ring_buffer__new(krb, &Transcribe, &klog, nullptr);
  ASSERT_NE(kconsumer, nullptr);

  // Emulator: the same ring and consumer.
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_RINGBUF;
  a.max_entries = 16384;
  const int erb = MapCreate(a);
  ASSERT_GE(erb, 0);
  auto ering = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(erb));
  std::string elog;
  int err;
  auto econsumer = RingBuffer::New(erb, &Transcribe, &elog, &err);
  ASSERT_NE(econsumer, nullptr);

  uint8_t packet[64] = {};
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    // Kernel step.
    ASSERT_EQ(bpf_map_update_elem(kstep, &zero, &s, BPF_ANY), 0);
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
                .data_size_in = sizeof(packet), .repeat = 1);
    ASSERT_EQ(bpf_prog_test_run_opts(prog, &run), 0);
    klog += absl::StrFormat("step %d op %u size %u flags %u: %d\n", i, s.op,
                            s.size, s.flags, static_cast<int32_t>(run.retval));
    // Emulated step, as the program does it.
    long ret = 0;
    void* sample = nullptr;
    switch (s.op) {
      case kReserveSubmit:
        ret = ering->ReserveDynptr(s.size, 0, &sample);
        if (sample != nullptr) {
          std::memcpy(sample, source.data(), s.size);
          ering->Submit(sample, s.flags);
        }
        break;
      case kReserveDiscard:
        ret = ering->ReserveDynptr(s.size, 0, &sample);
        if (sample != nullptr) ering->Discard(sample, s.flags);
        break;
      case kOutput:
        ret = s.size > kSourceSize
                  ? -7
                  : ering->Output(source.data(), s.size, s.flags);
        break;
      case kQuery:
        ret = static_cast<long>(ering->Query(s.flags));
        break;
    }
    elog += absl::StrFormat("step %d op %u size %u flags %u: %d\n", i, s.op,
                            s.size, s.flags, static_cast<int32_t>(ret));
    if (DrainAfter(i)) {
      klog +=
          absl::StrFormat(" consume: %d\n", ring_buffer__consume(kconsumer));
      elog += absl::StrFormat(" consume: %d\n", econsumer->Consume());
    }
    if (klog != elog) {
      // Show the first differing lines.
      size_t at = 0;
      while (at < klog.size() && at < elog.size() && klog[at] == elog[at]) ++at;
      const size_t line = klog.rfind('\n', at) + 1;
      FAIL() << "divergence after step " << i
             << "\nkernel: " << klog.substr(line, 200)
             << "\nemu:    " << elog.substr(line, 200);
    }
  }
  ring_buffer__free(kconsumer);
  bpf_object__close(obj);
  econsumer.reset();
  CloseFd(erb);
  RecordProperty("steps", static_cast<int>(steps.size()));
}

// One side of the cross-process comparison: a producer (run in a child),
// and a consumer's new / poll / epoll fd / free.
struct Side {
  std::function<long(uint32_t size, uint64_t flags)> produce;
  std::function<void*()> make;
  std::function<int(void*, int timeout_ms)> poll;
  std::function<int(void*)> consume;
  std::function<int(void*)> epoll_fd;
  std::function<void(void*)> free;
};

void WriteAll(int fd, const std::string& s) {
  (void)!write(fd, s.data(), s.size());
}

// How a child ended, as transcript text: a hang (SIGALRM) or crash is a
// line of the transcript, so the comparison fails instead of stalling.
std::string Ended(const char* who, pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return absl::StrFormat("%s: lost\n", who);
  if (WIFEXITED(status)) {
    return absl::StrFormat("%s: exit %d\n", who, WEXITSTATUS(status));
  }
  return absl::StrFormat(
      "%s: %s\n", who,
      WTERMSIG(status) == SIGALRM ? "hung (watchdog)" : "killed by a signal");
}

// Forks `body(out_fd)` bounded by 10 s (alarm); waits for it.
pid_t Fork(const std::function<int(int)>& body, int out_fd) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(body(out_fd));
  }
  return pid;
}

std::string CrossProcessTranscript(const Side& side) {
  const uint64_t flags[] = {0, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP, 0};
  int go[2], out[2];
  if (pipe(go) != 0 || pipe(out) != 0) return "pipe failed";
  // The producer is forked first: it shares nothing with the consumer but
  // the ring. Each step waits until the consumer is about to sleep.
  const pid_t producer = Fork(
      [&](int) {
        for (uint64_t f : flags) {
          char c;
          if (read(go[0], &c, 1) != 1) return 1;
          usleep(100 * 1000);
          if (side.produce(16, f) != 0) return 2;
        }
        return 0;
      },
      -1);
  const pid_t consumer = Fork(
      [&](int fd) {
        void* c = side.make();
        if (c == nullptr) return 1;
        for (int i = 0; i < 3; ++i) {
          WriteAll(go[1], "g");
          if (flags[i] == BPF_RB_NO_WAKEUP) {
            // Not woken; the record is there for a consume. (A poll(-1)
            // would sleep on the kernel: libbpf waits in epoll first and no
            // wake-up came.)
            WriteAll(fd, absl::StrFormat("no-wakeup poll(400): %d\n",
                                         side.poll(c, 400)));
            usleep(100 * 1000);
            WriteAll(fd, absl::StrFormat("consume: %d\n", side.consume(c)));
          } else {
            WriteAll(fd, absl::StrFormat("flags %d poll(-1): %d\n", flags[i],
                                         side.poll(c, -1)));
          }
        }
        // The epoll fd, waited on by another process.
        const int epfd = side.epoll_fd(c);
        const pid_t waiter = Fork(
            [&](int) {
              epoll_event ev;
              return epoll_wait(epfd, &ev, 1, 5000);
            },
            -1);
        WriteAll(go[1], "g");
        WriteAll(fd, Ended("epoll_wait in another process", waiter));
        side.free(c);
        return 0;
      },
      out[1]);
  close(out[1]);
  std::string log;
  char buf[256];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;) log.append(buf, n);
  close(out[0]);
  log += Ended("consumer", consumer);
  log += Ended("producer", producer);
  close(go[0]);
  close(go[1]);
  return log;
}

TEST_F(RingbufCompare, CrossProcessWakeupAgrees) {
  bpf_object* obj =
      bpf_object__open_file("kernel_compare/ringbuf_script.bpf.o", nullptr);
  ASSERT_NE(obj, nullptr) << "open: " << errno;
  ASSERT_EQ(bpf_object__load(obj), 0);
  const int prog =
      bpf_program__fd(bpf_object__find_program_by_name(obj, "run_step"));
  const int krb = bpf_object__find_map_fd_by_name(obj, "rb");
  const int kstep = bpf_object__find_map_fd_by_name(obj, "step");
  ASSERT_GE(prog, 0);
  Side kernel;
  kernel.produce = [&](uint32_t size, uint64_t flags) -> long {
    const uint32_t zero = 0;
    const Step s = {kOutput, size, flags};
    if (bpf_map_update_elem(kstep, &zero, &s, BPF_ANY) != 0) return -errno;
    uint8_t packet[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
                .data_size_in = sizeof(packet), .repeat = 1);
    if (bpf_prog_test_run_opts(prog, &run) != 0) return -errno;
    return static_cast<int32_t>(run.retval);
  };
  std::string ignored;
  kernel.make = [&]() -> void* {
    return ring_buffer__new(krb, &Transcribe, &ignored, nullptr);
  };
  kernel.poll = [](void* c, int t) {
    return ring_buffer__poll(static_cast<ring_buffer*>(c), t);
  };
  kernel.consume = [](void* c) {
    return ring_buffer__consume(static_cast<ring_buffer*>(c));
  };
  kernel.epoll_fd = [](void* c) {
    return ring_buffer__epoll_fd(static_cast<ring_buffer*>(c));
  };
  kernel.free = [](void* c) {
    ring_buffer__free(static_cast<ring_buffer*>(c));
  };
  const std::string klog = CrossProcessTranscript(kernel);
  bpf_object__close(obj);

  MapAttr a;
  a.map_type = BPF_MAP_TYPE_RINGBUF;
  a.max_entries = 16384;
  const int erb = MapCreate(a);
  ASSERT_GE(erb, 0);
  auto ering = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(erb));
  const std::vector<uint8_t> payload(16, 7);
  Side emu;
  emu.produce = [&](uint32_t size, uint64_t flags) {
    return ering->Output(payload.data(), size, flags);
  };
  emu.make = [&]() -> void* {
    int err;
    return RingBuffer::New(erb, &Transcribe, &ignored, &err).release();
  };
  emu.poll = [](void* c, int t) {
    return static_cast<RingBuffer*>(c)->Poll(t);
  };
  emu.consume = [](void* c) { return static_cast<RingBuffer*>(c)->Consume(); };
  emu.epoll_fd = [](void* c) { return static_cast<RingBuffer*>(c)->EpollFd(); };
  emu.free = [](void* c) { delete static_cast<RingBuffer*>(c); };
  const std::string elog = CrossProcessTranscript(emu);
  ering.reset();
  CloseFd(erb);

  EXPECT_EQ(klog,
            "flags 0 poll(-1): 1\n"
            "flags 2 poll(-1): 1\n"
            "no-wakeup poll(400): 0\n"
            "consume: 1\n"
            "epoll_wait in another process: exit 1\n"
            "consumer: exit 0\n"
            "producer: exit 0\n");
  EXPECT_EQ(elog, klog);
}

}  // namespace
}  // namespace bpfemu
