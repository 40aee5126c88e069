// SPDX-License-Identifier: Apache-2.0
// BPF-side map operations: the same program (bench/map_ops.bpf.c) run in the
// kernel with bpf_prog_test_run_opts(repeat), natively against emulated
// maps, and as bytecode in bpfemu's interpreter. Each run performs kOps
// operations; every side reports the mean time of one run, so ns/op =
// time / kOps and the ratios are like for like.
//
// BM_Insns{Bytecode,Kernel} time a hand-assembled ALU loop (4 instructions
// per iteration, no helpers): the interpreter's ns per instruction against
// the kernel's JIT. BM_InsnsJit, BM_ProgJit and BM_ProgJitRun are the
// bytecode rows again with bpfemu's x86-64 JIT on (emu/jit_x86.h).
//
//   bazel run -c opt //bench:prog_benchmark -- --benchmark_format=json

#include <bpf/bpf.h>
#include <linux/if_ether.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "emu/cpu.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"

namespace bpfemu {
namespace {

constexpr int kOps = 64;        // OPS in map_ops.bpf.c
constexpr int kEntries = 1024;  // ENTRIES
constexpr int kRepeat = 2000;   // kernel runs per benchmark iteration

const char* const kProgs[] = {
    "hash_lookup",      "hash_lookup_miss", "hash_update",
    "array_lookup",     "percpu_array_add", "lru_lookup",
    "lru_update_evict", "tail_chain",       "lpm_lookup"};

// Operations per run: kOps map operations, or the 33 tail calls of
// tail_chain (MAX_TAIL_CALL_CNT).
int OpsPerRun(const char* prog) {
  return std::string(prog) == "tail_chain" ? 33 : kOps;
}

std::vector<uint8_t> Frame() {
  std::vector<uint8_t> f(64, 0);
  f[12] = 0x08;  // IPv4 EtherType, with room for the header
  return f;
}

// Fills the hash and LRU maps with keys 0..ENTRIES-1 through `update`.
template <typename Update>
void Fill(int hash_fd, int lru_fd, Update update) {
  for (uint32_t k = 0; k < kEntries; ++k) {
    const uint64_t v = k;
    update(hash_fd, &k, &v);
    update(lru_fd, &k, &v);
  }
}

// The LPM trie's prefix n (struct lpm_key in map_ops.bpf.c): 10.0.0.0/8,
// then 10.x.0.0/16 for every x, then 10.x.y.0/24 until ENTRIES.
std::array<uint8_t, 8> LpmPrefix(uint32_t n) {
  uint32_t len = 24;
  uint8_t x = static_cast<uint8_t>(n * 37), y = static_cast<uint8_t>(n * 101);
  if (n == 0) {
    len = 8;
    x = y = 0;
  } else if (n <= 256) {
    len = 16;
    x = static_cast<uint8_t>(n - 1);
    y = 0;
  }
  std::array<uint8_t, 8> key = {};
  std::memcpy(key.data(), &len, 4);
  key[4] = 10;
  key[5] = x;
  key[6] = y;
  return key;
}

// Stores ENTRIES prefixes through `update` (duplicates of a /24 replace).
template <typename Update>
void FillLpm(int lpm_fd, Update update) {
  for (uint32_t n = 0; n < kEntries; ++n) {
    const auto key = LpmPrefix(n);
    const uint64_t v = n;
    update(lpm_fd, key.data(), &v);
  }
}

void SetOpCounter(benchmark::State& state, const char* prog) {
  state.counters["ops_per_run"] = OpsPerRun(prog);
}

// The bytecode face's JIT on while it lives: programs loaded meanwhile are
// compiled and run as machine code.
struct ScopedJit {
  explicit ScopedJit(bool on) : was_(interp::JitEnabled()) {
    interp::SetJit(on);
  }
  ~ScopedJit() { interp::SetJit(was_); }
  bool was_;
};

// Whether the program behind `fd` is the JIT's when `jit` asks for it
// (otherwise the benchmark is skipped: it would time the interpreter).
bool JitAsAsked(benchmark::State& state, int fd, bool jit) {
  std::shared_ptr<const Prog> prog;
  if (!jit) return true;
  if (ProgFromFd(fd, &prog) == 0 && prog->code && prog->code->jitted()) {
    return true;
  }
  state.SkipWithError("the JIT left the program to the interpreter");
  return false;
}

// map_ops, the native build or the .bpf.o in the interpreter, loaded with
// its maps filled and `prog_name` in chain[0]; NULL (the benchmark
// skipped) if it does not load.
std::unique_ptr<native::Object> LoadMapOps(benchmark::State& state,
                                           const char* prog_name,
                                           bool bytecode) {
  auto obj = bytecode ? native::Object::OpenBytecode("bench/map_ops.bpf.o")
                      : native::Object::Open("map_ops");
  if (!obj.ok() || (*obj)->Load() != 0) {
    state.SkipWithError("map_ops did not load");
    return nullptr;
  }
  auto update = [](int fd, const void* k, const uint64_t* v) {
    (void)MapUpdateElem(fd, k, v, BPF_ANY);
  };
  Fill((*obj)->MapFd("hash"), (*obj)->MapFd("lru"), update);
  FillLpm((*obj)->MapFd("lpm"), update);
  const uint32_t zero = 0;
  const int self = (*obj)->FindProgram(prog_name)->fd();
  (void)MapUpdateElem((*obj)->MapFd("chain"), &zero, &self, BPF_ANY);
  return std::move(*obj);
}

// One face of bpfemu: the native build, or the .bpf.o in the interpreter.
void RunEmulated(benchmark::State& state, const char* prog_name, bool bytecode,
                 bool jit = false) {
  ScopedCpu on(0);
  ScopedJit jit_on(jit);
  auto obj = LoadMapOps(state, prog_name, bytecode);
  if (obj == nullptr) return;
  const native::Program* prog = obj->FindProgram(prog_name);
  if (!JitAsAsked(state, prog->fd(), jit)) return;
  const auto frame = Frame();
  struct __sk_buff ctx = {};
  ctx.mark = kEntries;  // lru_update_evict starts past the filled keys
  for (auto _ : state) {
    native::PacketResult r = prog->RunSkb(frame, &ctx);
    benchmark::DoNotOptimize(r.retval);
    ctx.mark += kOps;
  }
  SetOpCounter(state, prog_name);
}

void BM_ProgNative(benchmark::State& state, const char* prog_name) {
  RunEmulated(state, prog_name, /*bytecode=*/false);
}

void BM_ProgBytecode(benchmark::State& state, const char* prog_name) {
  RunEmulated(state, prog_name, /*bytecode=*/true);
}

void BM_ProgJit(benchmark::State& state, const char* prog_name) {
  RunEmulated(state, prog_name, /*bytecode=*/true, /*jit=*/true);
}

// The program alone, as the kernel's side is timed: bpf_test_run() builds
// the skb once and times only the bpf_prog_run() calls of its repeat loop
// (net/bpf/test_run.c), while RunSkb() above builds the test run's packet,
// socket and context anew each run (100-130 ns here). This calls
// ProgRun() on one __sk_buff, as that loop does; the map_ops programs read
// no packet data, only skb->mark. (Not part of bench/report.py's tables.)
void RunProgramOnly(benchmark::State& state, const char* prog_name,
                    bool bytecode, bool jit = false) {
  ScopedCpu on(0);
  ScopedJit jit_on(jit);
  auto obj = LoadMapOps(state, prog_name, bytecode);
  if (obj == nullptr) return;
  if (!JitAsAsked(state, obj->FindProgram(prog_name)->fd(), jit)) return;
  std::shared_ptr<const Prog> prog;
  if (ProgFromFd(obj->FindProgram(prog_name)->fd(), &prog) != 0) {
    state.SkipWithError("no program");
    return;
  }
  struct __sk_buff skb = {};
  skb.mark = kEntries;  // lru_update_evict advances it itself
  for (auto _ : state) {
    benchmark::DoNotOptimize(ProgRun(*prog, &skb));
  }
  SetOpCounter(state, prog_name);
}

void BM_ProgNativeRun(benchmark::State& state, const char* prog_name) {
  RunProgramOnly(state, prog_name, /*bytecode=*/false);
}

void BM_ProgBytecodeRun(benchmark::State& state, const char* prog_name) {
  RunProgramOnly(state, prog_name, /*bytecode=*/true);
}

void BM_ProgJitRun(benchmark::State& state, const char* prog_name) {
  RunProgramOnly(state, prog_name, /*bytecode=*/true, /*jit=*/true);
}

// r1 = n; loop: r0 += r1; r2 ^= r0; r1 -= 1; if r1 != 0 goto loop; exit.
constexpr int kLoopIterations = 10000;
constexpr int kLoopInsns = 4 * kLoopIterations + 4;

std::vector<interp::RawInsn> AluLoop() {
  namespace a = interp::asm_;
  return {a::MovImm(BPF_REG_0, 0),
          a::MovImm(BPF_REG_2, 0),
          a::MovImm(BPF_REG_1, kLoopIterations),
          a::AluReg(BPF_ADD, BPF_REG_0, BPF_REG_1),
          a::AluReg(BPF_XOR, BPF_REG_2, BPF_REG_0),
          a::AluImm(BPF_SUB, BPF_REG_1, 1),
          a::JmpImm(BPF_JNE, BPF_REG_1, 0, -4),
          a::Exit()};
}

void SetInsnCounter(benchmark::State& state) {
  state.counters["ns_per_insn"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kLoopInsns,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void InsnsBytecode(benchmark::State& state, bool jit) {
  ScopedJit jit_on(jit);
  const auto insns = AluLoop();
  const int fd = native::ProgLoadBytecode(
      BPF_PROG_TYPE_SCHED_CLS, 0, "alu_loop", insns.data(),
      static_cast<uint32_t>(insns.size()), "GPL");
  std::shared_ptr<const Prog> prog;
  if (fd < 0 || ProgFromFd(fd, &prog) != 0) {
    state.SkipWithError("the ALU loop did not load");
    return;
  }
  if (!JitAsAsked(state, fd, jit)) return;
  const auto frame = Frame();
  for (auto _ : state) {
    native::PacketResult r = native::RunSkb(*prog, frame);
    benchmark::DoNotOptimize(r.retval);
  }
  SetInsnCounter(state);
  CloseFd(fd);
}

void BM_InsnsBytecode(benchmark::State& state) { InsnsBytecode(state, false); }
void BM_InsnsJit(benchmark::State& state) { InsnsBytecode(state, true); }

void BM_InsnsKernel(benchmark::State& state) {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  const auto insns = AluLoop();
  const int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "alu_loop", "GPL",
                               reinterpret_cast<const bpf_insn*>(insns.data()),
                               insns.size(), nullptr);
  if (fd < 0) {
    state.SkipWithError("the kernel refused the ALU loop");
    return;
  }
  const auto frame = Frame();
  for (auto _ : state) {
    KernelObject::Result r = KernelObject::RunPacket(fd, frame, 200);
    state.SetIterationTime(r.duration_ns * 1e-9);
  }
  SetInsnCounter(state);
  close(fd);
}

void BM_ProgKernel(benchmark::State& state, const char* prog_name) {
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  KernelBackend::Get().PinCpu(0);
  std::unique_ptr<KernelObject> obj;
  if (int err = KernelObject::Load("bench/map_ops.bpf.o", &obj); err != 0) {
    state.SkipWithError(
        ("kernel map_ops did not load: " + std::string(strerror(-err)))
            .c_str());
    return;
  }
  auto update = [](int fd, const void* k, const uint64_t* v) {
    bpf_map_update_elem(fd, k, v, BPF_ANY);
  };
  Fill(obj->MapFd("hash"), obj->MapFd("lru"), update);
  FillLpm(obj->MapFd("lpm"), update);
  const int fd = obj->ProgFd(prog_name);
  const uint32_t zero = 0;
  bpf_map_update_elem(obj->MapFd("chain"), &zero, &fd, BPF_ANY);
  const auto frame = Frame();
  for (auto _ : state) {
    KernelObject::Result r = KernelObject::RunPacket(fd, frame, kRepeat);
    if (r.err != 0) {
      state.SkipWithError("bpf_prog_test_run_opts failed");
      break;
    }
    // The kernel's own mean per run (net/bpf/test_run.c bpf_test_timer).
    state.SetIterationTime(r.duration_ns * 1e-9);
  }
  SetOpCounter(state, prog_name);
  KernelBackend::Get().PinCpu(-1);
}

int Register() {
  benchmark::RegisterBenchmark("BM_InsnsBytecode", BM_InsnsBytecode);
  benchmark::RegisterBenchmark("BM_InsnsJit", BM_InsnsJit);
  benchmark::RegisterBenchmark("BM_InsnsKernel", BM_InsnsKernel)
      ->UseManualTime()
      ->Iterations(200);
  for (const char* p : kProgs) {
    benchmark::RegisterBenchmark((std::string("BM_ProgNative/") + p).c_str(),
                                 BM_ProgNative, p);
    benchmark::RegisterBenchmark((std::string("BM_ProgBytecode/") + p).c_str(),
                                 BM_ProgBytecode, p);
    benchmark::RegisterBenchmark((std::string("BM_ProgKernel/") + p).c_str(),
                                 BM_ProgKernel, p)
        ->UseManualTime()
        ->Iterations(200);
    benchmark::RegisterBenchmark((std::string("BM_ProgNativeRun/") + p).c_str(),
                                 BM_ProgNativeRun, p);
    benchmark::RegisterBenchmark(
        (std::string("BM_ProgBytecodeRun/") + p).c_str(), BM_ProgBytecodeRun,
        p);
    benchmark::RegisterBenchmark((std::string("BM_ProgJit/") + p).c_str(),
                                 BM_ProgJit, p);
    benchmark::RegisterBenchmark((std::string("BM_ProgJitRun/") + p).c_str(),
                                 BM_ProgJitRun, p);
  }
  return 0;
}
const int registered = Register();

}  // namespace
}  // namespace bpfemu

BENCHMARK_MAIN();
