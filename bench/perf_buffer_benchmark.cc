// SPDX-License-Identifier: Apache-2.0
// Perf buffer throughput, producer to consumer, measured side by side in one
// run (compare with bench/ringbuf_benchmark.cc's BM_RingbufEvents*/x/1):
//
//   Emu     PerfEventArrayMap::Output (the bpf_perf_event_output helper)
//           into the emulated perf event of CPU 0, drained by
//           bpfemu::PerfBuffer (what libbpfemu's perf_buffer__* run)
//   Kernel  bpf_perf_event_output in a SCHED_CLS program run with
//           BPF_PROG_TEST_RUN (repeat = kBatch per run) on CPU 0, drained
//           by libbpf's perf_buffer
//
// BM_PerfBufferEvents*/<sample bytes>: each iteration produces kBatch
// samples on one thread pinned to CPU 0, then consumes them all;
// items = samples delivered. 2048 pages (8 MiB) per CPU, so a batch never
// fills a ring (10000 x 272 bytes at most).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "emu/cpu.h"
#include "emu/perf_buffer.h"
#include "emu/perf_event_array.h"
#include "emu/syscall.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

constexpr int kBatch = 10000;
constexpr size_t kPages = 2048;
std::string g_object_path;

void Count(void* ctx, int, void*, __u32) { ++*static_cast<uint64_t*>(ctx); }

void BM_PerfBufferEventsEmu(benchmark::State& state) {
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = static_cast<uint32_t>(NumPossibleCpus());
  const int fd = MapCreate(a);
  auto map = std::dynamic_pointer_cast<PerfEventArrayMap>(MapFromFd(fd));
  uint64_t seen = 0;
  const struct perf_event_attr attr = PerfBuffer::DefaultAttr();
  PerfBuffer::Params p;
  p.attr = &attr;
  p.sample_cb = &Count;
  p.ctx = &seen;
  int err;
  auto pb = PerfBuffer::New(fd, kPages, p, &err);
  if (pb == nullptr) {
    state.SkipWithError("PerfBuffer::New failed");
    return;
  }
  std::vector<uint8_t> payload(size, 0x5a);
  ScopedCpu pin(0);
  for (auto _ : state) {
    const uint64_t want = seen + kBatch;
    for (int i = 0; i < kBatch; ++i) {
      map->Output(BPF_F_CURRENT_CPU, payload.data(), size);
    }
    while (seen < want) pb->Consume();
  }
  state.SetItemsProcessed(static_cast<int64_t>(seen));
  pb.reset();
  CloseFd(fd);
}

void BM_PerfBufferEventsKernel(benchmark::State& state) {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  bpf_object* obj = bpf_object__open_file(g_object_path.c_str(), nullptr);
  if (obj == nullptr || bpf_object__load(obj) != 0) {
    state.SkipWithError("cannot load perf_buffer_bench.bpf.o");
    return;
  }
  const int prog =
      bpf_program__fd(bpf_object__find_program_by_name(obj, "produce"));
  const int events = bpf_object__find_map_fd_by_name(obj, "events");
  uint32_t zero = 0;
  bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "cfg"), &zero, &size,
                      BPF_ANY);
  uint64_t seen = 0;
  perf_buffer* pb =
      perf_buffer__new(events, kPages, &Count, nullptr, &seen, nullptr);
  if (pb == nullptr) {
    state.SkipWithError("perf_buffer__new failed");
    bpf_object__close(obj);
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof(set), &set);
  uint8_t packet[64] = {};
  for (auto _ : state) {
    const uint64_t want = seen + kBatch;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
                .data_size_in = sizeof(packet), .repeat = kBatch);
    bpf_prog_test_run_opts(prog, &run);
    while (seen < want) perf_buffer__consume(pb);
  }
  state.SetItemsProcessed(static_cast<int64_t>(seen));
  perf_buffer__free(pb);
  bpf_object__close(obj);
}

BENCHMARK(BM_PerfBufferEventsEmu)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_PerfBufferEventsKernel)->Arg(16)->Arg(256)->UseRealTime();

}  // namespace
}  // namespace bpfemu

int main(int argc, char** argv) {
  // The BPF object sits beside the binary in its runfiles.
  bpfemu::g_object_path =
      std::string(argv[0]) + ".runfiles/bpfemu/bench/perf_buffer_bench.bpf.o";
  if (access(bpfemu::g_object_path.c_str(), R_OK) != 0) {
    bpfemu::g_object_path = "bench/perf_buffer_bench.bpf.o";
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
