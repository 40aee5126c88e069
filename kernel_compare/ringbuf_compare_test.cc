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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdint>
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

enum Op : uint32_t { kReserveSubmit = 0, kReserveDiscard = 1, kOutput = 2, kQuery = 3 };

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
  steps.push_back({kReserveSubmit, 16376, 0});   // larger than the ring allows
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
  const int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "run_step"));
  const int krb = bpf_object__find_map_fd_by_name(obj, "rb");
  const int kstep = bpf_object__find_map_fd_by_name(obj, "step");
  const int ksource = bpf_object__find_map_fd_by_name(obj, "source");
  ASSERT_GE(prog, 0);
  uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(ksource, &zero, source.data(), BPF_ANY), 0);
  std::string klog;
  ring_buffer* kconsumer =
      ring_buffer__new(krb, &Transcribe, &klog, nullptr);
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
        ret = s.size > kSourceSize ? -7
                                   : ering->Output(source.data(), s.size, s.flags);
        break;
      case kQuery:
        ret = static_cast<long>(ering->Query(s.flags));
        break;
    }
    elog += absl::StrFormat("step %d op %u size %u flags %u: %d\n", i, s.op,
                            s.size, s.flags, static_cast<int32_t>(ret));
    if (DrainAfter(i)) {
      klog += absl::StrFormat(" consume: %d\n", ring_buffer__consume(kconsumer));
      elog += absl::StrFormat(" consume: %d\n", econsumer->Consume());
    }
    if (klog != elog) {
      // Show the first differing lines.
      size_t at = 0;
      while (at < klog.size() && at < elog.size() && klog[at] == elog[at]) ++at;
      const size_t line = klog.rfind('\n', at) + 1;
      FAIL() << "divergence after step " << i << "\nkernel: "
             << klog.substr(line, 200) << "\nemu:    " << elog.substr(line, 200);
    }
  }
  ring_buffer__free(kconsumer);
  bpf_object__close(obj);
  econsumer.reset();
  CloseFd(erb);
  RecordProperty("steps", static_cast<int>(steps.size()));
}

}  // namespace
}  // namespace bpfemu
