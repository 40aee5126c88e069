// SPDX-License-Identifier: Apache-2.0
// Ring buffer throughput, producer to consumer, measured side by side in one
// run:
//
//   Emu     RingbufMap::Output (the bpf_ringbuf_output helper) into an
//           emulated ring, drained by bpfemu's RingBuffer
//   Kernel  bpf_ringbuf_output in a SCHED_CLS program run with
//           BPF_PROG_TEST_RUN (repeat = kBatch per run), drained by libbpf's
//           ring_buffer. (Not XDP: on this kernel an XDP test run with
//           repeat > 1 adds a fixed ~20 ms per call, measured in passing.)
//
// BM_RingbufEvents/<record bytes>/<producers>: each iteration produces kBatch
// records per producer and consumes them all; items = records delivered.
// One producer: produce then consume on the same thread. Two producers: two
// producer threads pinned to CPUs 0 and 1 while the calling thread consumes,
// sleeping in poll until woken (on 2 cores a spinning consumer would steal a
// producer's CPU). 16 MiB ring, so a batch never fills it (2 x 20000 x
// 264 bytes at most).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "emu/cpu.h"
#include "emu/ringbuf.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

// Records per producer and iteration: enough that starting the producer
// threads (about 0.1 ms) is a few percent of an iteration.
constexpr int kBatch = 20000;
std::string g_object_path;

int Count(void* ctx, void*, size_t) {
  ++*static_cast<uint64_t*>(ctx);
  return 0;
}

// One timed loop for both sides: each iteration, `producers` threads (or the
// calling thread, for one) run produce(cpu); the caller drains with
// consume() (one producer) or wait_and_consume() (two) until kBatch records
// per producer have arrived. *seen is advanced by the consumer callback.
template <typename Produce, typename Consume, typename Wait>
void RunPipeline(benchmark::State& state, int producers, const uint64_t* seen,
                 Produce produce, Consume consume, Wait wait_and_consume) {
  for (auto _ : state) {
    const uint64_t want = *seen + uint64_t{kBatch} * producers;
    if (producers == 1) {
      produce(0);
    } else {
      std::vector<std::thread> threads;
      for (int p = 0; p < producers; ++p) threads.emplace_back(produce, p);
      while (*seen < want) wait_and_consume();  // sleeps until woken
      for (auto& t : threads) t.join();
    }
    while (*seen < want) consume();
  }
  state.SetItemsProcessed(static_cast<int64_t>(*seen));
}

void BM_RingbufEventsEmu(benchmark::State& state) {
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  const int producers = static_cast<int>(state.range(1));
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_RINGBUF;
  a.max_entries = 1 << 24;
  const int fd = MapCreate(a);
  auto ring = std::dynamic_pointer_cast<RingbufMap>(MapFromFd(fd));
  uint64_t seen = 0;
  int err;
  auto consumer = RingBuffer::New(fd, &Count, &seen, &err);
  std::vector<uint8_t> payload(size, 0x5a);
  auto produce = [&](int cpu) {
    ScopedCpu pin(cpu);
    for (int i = 0; i < kBatch; ++i) ring->Output(payload.data(), size, 0);
  };
  RunPipeline(
      state, producers, &seen, produce, [&] { consumer->Consume(); },
      [&] { consumer->Poll(1); });
  consumer.reset();
  CloseFd(fd);
}

void BM_RingbufEventsKernel(benchmark::State& state) {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  const int producers = static_cast<int>(state.range(1));
  bpf_object* obj = bpf_object__open_file(g_object_path.c_str(), nullptr);
  if (obj == nullptr || bpf_object__load(obj) != 0) {
    state.SkipWithError("cannot load ringbuf_bench.bpf.o");
    return;
  }
  const int prog =
      bpf_program__fd(bpf_object__find_program_by_name(obj, "produce"));
  const int rb = bpf_object__find_map_fd_by_name(obj, "rb");
  uint32_t zero = 0;
  bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "cfg"), &zero, &size,
                      BPF_ANY);
  uint64_t seen = 0;
  ring_buffer* consumer = ring_buffer__new(rb, &Count, &seen, nullptr);
  auto produce = [&](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
    uint8_t packet[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = packet,
                .data_size_in = sizeof(packet), .repeat = kBatch);
    bpf_prog_test_run_opts(prog, &run);
  };
  RunPipeline(
      state, producers, &seen, produce, [&] { ring_buffer__consume(consumer); },
      [&] { ring_buffer__poll(consumer, 1); });
  ring_buffer__free(consumer);
  bpf_object__close(obj);
}

// Record sizes 16 and 256 bytes; 1 and 2 producers.
BENCHMARK(BM_RingbufEventsEmu)->ArgsProduct({{16, 256}, {1, 2}})->UseRealTime();
BENCHMARK(BM_RingbufEventsKernel)
    ->ArgsProduct({{16, 256}, {1, 2}})
    ->UseRealTime();

}  // namespace
}  // namespace bpfemu

int main(int argc, char** argv) {
  // The BPF object sits beside the binary in its runfiles.
  bpfemu::g_object_path =
      std::string(argv[0]) + ".runfiles/bpfemu/bench/ringbuf_bench.bpf.o";
  if (access(bpfemu::g_object_path.c_str(), R_OK) != 0) {
    bpfemu::g_object_path = "bench/ringbuf_bench.bpf.o";
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
