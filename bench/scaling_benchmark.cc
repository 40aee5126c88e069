// SPDX-License-Identifier: Apache-2.0
// One thread vs two on one hash map: lookups and BPF_ANY updates of keys
// that are disjoint between the threads (each thread its own block) or
// shared (both threads walk the same keys, so updates contend for the same
// bucket locks). Four sides:
//   * kMapObject: bpfemu's Map object, called from C++;
//   * kSyscall: the kernel through bpf(), syscalls from both threads;
//   * kNativeProg: bench/scaling.bpf.c built natively, on emulated maps;
//   * kKernelProg: the same program in the kernel, bpf_prog_test_run_opts
//     with repeat from both threads at once (each pinned to its CPU).
// Beside them a pure ALU loop shows how far the machine itself scales.
// Throughput is items/s of all threads against the wall clock;
// bench/ratios.py divides 2 threads by 1.
//
//   (cd bazel-bin/bench/scaling_benchmark.runfiles/bpfemu &&
//    ../../scaling_benchmark --benchmark_format=json)

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "emu/cpu.h"
#include "emu/map.h"
#include "emu/syscall.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"

namespace bpfemu {
namespace {

constexpr uint32_t kEntries = 1 << 16;

std::vector<uint32_t> Keys() {
  std::vector<uint32_t> keys(kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) keys[i] = i * 2654435761u;
  return keys;
}

MapAttr Attr() {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = kEntries;
  return a;
}

enum Side { kMapObject, kSyscall, kNativeProg, kKernelProg };
enum Op { kLookup, kUpdate, kCompute };

constexpr int kOpsPerThread = 200000;
constexpr int kOpsPerRun = 64;  // OPS in scaling.bpf.c
constexpr int kRunsPerThread = kOpsPerThread / kOpsPerRun;

// The maps and programs, filled once and shared by all benchmark threads.
struct Maps {
  std::vector<uint32_t> keys = Keys();
  std::shared_ptr<Map> emu;
  int kernel_fd = -1;
  std::string kernel_why;
  std::unique_ptr<native::Object> native_obj;
  std::string native_why;
  std::unique_ptr<KernelObject> kernel_obj;

  static Maps& Get() {
    static auto* m = new Maps;
    return *m;
  }

  // Tells the programs how many blocks the keys form (blocks[0]).
  void SetBlocks(uint32_t n) {
    const uint32_t zero = 0;
    if (native_obj)
      (void)MapUpdateElem(native_obj->MapFd("blocks"), &zero, &n, 0);
    if (kernel_obj)
      bpf_map_update_elem(kernel_obj->MapFd("blocks"), &zero, &n, 0);
  }

 private:
  Maps() {
    const int fd = MapCreate(Attr());
    emu = MapFromFd(fd);
    kernel_why = KernelBackend::Get().Unavailable();
    if (kernel_why.empty()) kernel_fd = KernelBackend::Get().CreateMap(Attr());
    auto obj = native::Object::Open("scaling");
    if (!obj.ok() || (*obj)->Load() != 0) {
      native_why = "the native scaling object did not load";
    } else {
      native_obj = std::move(*obj);
    }
    if (kernel_why.empty() &&
        KernelObject::Load("bench/scaling.bpf.o", &kernel_obj) != 0) {
      kernel_why = "bench/scaling.bpf.o did not load (run from the runfiles)";
    }
    for (uint32_t k : keys) {
      const uint64_t v = k;
      (void)emu->UpdateElem(&k, &v, BPF_ANY);
      if (kernel_fd >= 0) bpf_map_update_elem(kernel_fd, &k, &v, BPF_ANY);
      if (native_obj) {
        (void)MapUpdateElem(native_obj->MapFd("hash"), &k, &v, BPF_ANY);
      }
      if (kernel_obj) {
        bpf_map_update_elem(kernel_obj->MapFd("hash"), &k, &v, BPF_ANY);
      }
    }
  }
};

// A program side's thread t: kRunsPerThread runs of kOpsPerRun operations,
// on CPU t, where the program picks its block by bpf_get_smp_processor_id().
template <Side kSide, Op kOp>
uint64_t RunProgram(int t) {
  Maps& m = Maps::Get();
  const char* name = kOp == kLookup ? "scale_lookup" : "scale_update";
  const std::vector<uint8_t> frame(64, 0);
  KernelBackend::Get().PinCpu(t);
  uint64_t sum = 0;
  if constexpr (kSide == kKernelProg) {
    KernelObject::Result r = KernelObject::RunPacket(m.kernel_obj->ProgFd(name),
                                                     frame, kRunsPerThread);
    sum = r.err == 0 ? r.retval : 0;
  } else {
    ScopedCpu cpu(t);
    const native::Program* prog = m.native_obj->FindProgram(name);
    struct __sk_buff ctx = {};
    for (int run = 0; run < kRunsPerThread; ++run) {
      sum += prog->RunSkb(frame, &ctx).retval;
    }
  }
  KernelBackend::Get().PinCpu(-1);
  return sum;
}

// One thread's share: kOpsPerThread operations cycling over its own 1/n of
// the keys (disjoint: thread t takes the t-th contiguous block, whose
// elements were allocated together) or over all keys from 0 (shared).
// kCompute is the machine's own scaling: an ALU loop touching no memory.
template <Side kSide, Op kOp, bool kDisjoint>
uint64_t Work(int t, int n) {
  if constexpr (kSide == kNativeProg || kSide == kKernelProg) {
    return RunProgram<kSide, kOp>(t);
  }
  constexpr bool kKernel = kSide == kSyscall;
  Maps& m = Maps::Get();
  const size_t block = m.keys.size() / static_cast<size_t>(kDisjoint ? n : 1);
  const size_t first = kDisjoint ? block * static_cast<size_t>(t) : 0;
  size_t i = 0;
  uint64_t v = 0, sum = 0;
  for (int op = 0; op < kOpsPerThread; ++op) {
    const uint32_t* key = &m.keys[first + i];
    if constexpr (kOp == kCompute) {
      for (int r = 0; r < 20; ++r) v = v * 6364136223846793005ull + 1;
      sum += v;
    } else if constexpr (kOp == kLookup) {
      sum += kKernel ? bpf_map_lookup_elem(m.kernel_fd, key, &v)
                     : m.emu->LookupElem(key, &v, 0);
    } else {
      ++v;
      sum += kKernel ? bpf_map_update_elem(m.kernel_fd, key, &v, BPF_ANY)
                     : m.emu->UpdateElem(key, &v, BPF_ANY);
    }
    if (++i == block) i = 0;
  }
  return sum;
}

// Each iteration starts range(0) threads and waits for them: items/s is the
// throughput of all threads together, against the wall clock.
template <Side kSide, Op kOp, bool kDisjoint>
void BM_Scale(benchmark::State& state) {
  Maps& m = Maps::Get();
  if ((kSide == kSyscall || kSide == kKernelProg) && !m.kernel_why.empty()) {
    state.SkipWithError(m.kernel_why.c_str());
    return;
  }
  if (kSide == kNativeProg && !m.native_why.empty()) {
    state.SkipWithError(m.native_why.c_str());
    return;
  }
  const int n = static_cast<int>(state.range(0));
  m.SetBlocks(kDisjoint ? static_cast<uint32_t>(n) : 1);
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::vector<uint64_t> sums(n);
    for (int t = 0; t < n; ++t) {
      threads.emplace_back(
          [&sums, t, n] { sums[t] = Work<kSide, kOp, kDisjoint>(t, n); });
    }
    for (auto& th : threads) th.join();
    benchmark::DoNotOptimize(sums);
  }
  state.SetItemsProcessed(state.iterations() * n *
                          ((kSide == kNativeProg || kSide == kKernelProg)
                               ? kRunsPerThread * kOpsPerRun
                               : kOpsPerThread));
}

#define SCALE(side, op, disjoint)                  \
  BENCHMARK_TEMPLATE(BM_Scale, side, op, disjoint) \
      ->Arg(1)                                     \
      ->Arg(2)                                     \
      ->UseRealTime()                              \
      ->Unit(benchmark::kMillisecond)

SCALE(kMapObject, kCompute, true);
SCALE(kMapObject, kLookup, true);
SCALE(kMapObject, kLookup, false);
SCALE(kMapObject, kUpdate, true);
SCALE(kMapObject, kUpdate, false);
SCALE(kSyscall, kLookup, true);
SCALE(kSyscall, kLookup, false);
SCALE(kSyscall, kUpdate, true);
SCALE(kSyscall, kUpdate, false);
SCALE(kNativeProg, kLookup, true);
SCALE(kNativeProg, kLookup, false);
SCALE(kNativeProg, kUpdate, true);
SCALE(kNativeProg, kUpdate, false);
SCALE(kKernelProg, kLookup, true);
SCALE(kKernelProg, kLookup, false);
SCALE(kKernelProg, kUpdate, true);
SCALE(kKernelProg, kUpdate, false);

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
