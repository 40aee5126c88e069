// SPDX-License-Identifier: Apache-2.0
// Userspace-to-BPF messages through a BPF_MAP_TYPE_USER_RINGBUF: each
// iteration produces kBatch samples from userspace (libbpf's
// user_ring_buffer__reserve + __submit layout) and drains them with one run
// of user_ringbuf_bench.bpf.c, whose callback reads 8 bytes of each sample.
//
//   Native    the program built natively, emulated ring, producer writing
//             through the emulator's mapping as libbpf does
//   Bytecode  the same .bpf.o in the interpreter
//   Kernel    libbpf's user_ring_buffer and BPF_PROG_TEST_RUN
//
// BM_UserRingbuf<Face>/<sample bytes>: items are samples (produced and
// drained). Run with `bazel run -c opt //bench:user_ringbuf_benchmark`.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/syscall.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"

namespace bpfemu {
namespace {

constexpr int kBatch = 4096;
constexpr uint64_t kRing = 4 << 20;
std::string g_object_path;

// libbpf's reserve + submit over a producer mapping (page + data twice).
void ProduceEmu(uint8_t* prod_page, const uint64_t* cons, uint32_t size) {
  auto* prod = reinterpret_cast<uint64_t*>(prod_page);
  uint8_t* data = prod_page + 4096;
  for (int i = 0; i < kBatch; ++i) {
    const uint64_t c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
    const uint64_t p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
    const uint32_t total = (size + 8 + 7) / 8 * 8;
    if (kRing - (p - c) < total) return;
    uint8_t* hdr = data + (p & (kRing - 1));
    const uint32_t busy = size | BPF_RINGBUF_BUSY_BIT, pad = 0;
    std::memcpy(hdr, &busy, 4);
    std::memcpy(hdr + 4, &pad, 4);
    __atomic_store_n(prod, p + total, __ATOMIC_RELEASE);
    std::memset(hdr + 8, 0x5a, size);
    __atomic_exchange_n(reinterpret_cast<uint32_t*>(hdr), size,
                        __ATOMIC_ACQ_REL);
  }
}

void RunEmulated(benchmark::State& state, bool bytecode) {
  ScopedCpu on(0);
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  auto obj = bytecode ? native::Object::OpenBytecode(g_object_path)
                      : native::Object::Open("user_ringbuf_bench");
  if (!obj.ok() || (*obj)->Load() != 0) {
    state.SkipWithError("user_ringbuf_bench did not load");
    return;
  }
  const int fd = (*obj)->MapFd("ring");
  int err;
  void* cons = MapMmap(fd, 4096, PROT_READ, MAP_SHARED, 0, &err);
  void* prod = MapMmap(fd, 4096 + 2 * kRing, PROT_READ | PROT_WRITE, MAP_SHARED,
                       4096, &err);
  const native::Program* prog = (*obj)->FindProgram("drain");
  const std::vector<uint8_t> frame(64, 0);
  int64_t drained = 0;
  for (auto _ : state) {
    ProduceEmu(static_cast<uint8_t*>(prod), static_cast<uint64_t*>(cons), size);
    drained += prog->RunSkb(frame).retval;
  }
  if (drained != static_cast<int64_t>(state.iterations()) * kBatch) {
    state.SkipWithError("not every sample was drained");
  }
  state.SetItemsProcessed(drained);
  munmap(cons, 4096);
  munmap(prod, 4096 + 2 * kRing);
}

void BM_UserRingbufNative(benchmark::State& state) {
  RunEmulated(state, /*bytecode=*/false);
}
void BM_UserRingbufBytecode(benchmark::State& state) {
  RunEmulated(state, /*bytecode=*/true);
}

void BM_UserRingbufKernel(benchmark::State& state) {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const uint32_t size = static_cast<uint32_t>(state.range(0));
  std::unique_ptr<KernelObject> obj;
  if (KernelObject::Load(g_object_path, &obj) != 0) {
    state.SkipWithError("cannot load user_ringbuf_bench.bpf.o");
    return;
  }
  user_ring_buffer* rb = user_ring_buffer__new(obj->MapFd("ring"), nullptr);
  const int prog = obj->ProgFd("drain");
  const std::vector<uint8_t> frame(64, 0);
  int64_t drained = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      void* s = user_ring_buffer__reserve(rb, size);
      if (s == nullptr) break;
      std::memset(s, 0x5a, size);
      user_ring_buffer__submit(rb, s);
    }
    drained += KernelObject::RunPacket(prog, frame).retval;
  }
  if (drained != static_cast<int64_t>(state.iterations()) * kBatch) {
    state.SkipWithError("not every sample was drained");
  }
  state.SetItemsProcessed(drained);
  user_ring_buffer__free(rb);
}

BENCHMARK(BM_UserRingbufNative)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_UserRingbufBytecode)->Arg(16)->Arg(256)->UseRealTime();
BENCHMARK(BM_UserRingbufKernel)->Arg(16)->Arg(256)->UseRealTime();

}  // namespace
}  // namespace bpfemu

int main(int argc, char** argv) {
  // The BPF object sits beside the binary in its runfiles.
  bpfemu::g_object_path =
      std::string(argv[0]) + ".runfiles/bpfemu/bench/user_ringbuf_bench.bpf.o";
  if (access(bpfemu::g_object_path.c_str(), R_OK) != 0) {
    bpfemu::g_object_path = "bench/user_ringbuf_bench.bpf.o";
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
