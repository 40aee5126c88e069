// SPDX-License-Identifier: Apache-2.0
// Differential: every example runs in the kernel (its clang -target bpf
// object through libbpf and bpf_prog_test_run_opts) and in bpfemu with
// identical inputs, pinned to the same CPUs, for both of bpfemu's faces:
// Native (the same source built by the host compiler) and Bytecode (the very
// .bpf.o the kernel ran, in the interpreter). Return values, packet output,
// the full contents of every map and the ring buffer records must be equal.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "emu/cgroup.h"
#include "emu/cpu.h"
#include "emu/perf_buffer.h"
#include "emu/prog.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "native/helpers.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/for_each_selftest.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

using Bytes = std::vector<uint8_t>;
using Contents = std::map<Bytes, Bytes>;  // sorted: hash order may differ

enum class Face { kNative, kBytecode };

std::string FaceName(const testing::TestParamInfo<Face>& info) {
  return info.param == Face::kNative ? "Native" : "Bytecode";
}

// The kernel object and the emulated object of one example, side by side.
class Pair {
 public:
  // `kernel_skip`: programs the kernel side does not load (KernelObject).
  Pair(const std::string& name, Face face,
       const std::vector<std::string>& kernel_skip = {})
      : name_(name) {
    const std::string path = "tests/examples/" + name + ".bpf.o";
    kernel_err_ = KernelObject::Load(path, &kernel_, kernel_skip);
    auto obj = face == Face::kNative ? native::Object::Open(name)
                                     : native::Object::OpenBytecode(path);
    EXPECT_TRUE(obj.ok()) << obj.status();
    if (obj.ok()) {
      native_ = std::move(*obj);
      native_err_ = native_->Load();
    }
  }
  bool ok() const {
    return kernel_err_ == 0 && native_ != nullptr && native_err_ == 0;
  }
  KernelObject& kernel() { return *kernel_; }
  native::Object& emu() { return *native_; }

  // Runs a packet program on both sides on `cpu`.
  void RunPacket(const std::string& prog, const Bytes& pkt, int cpu = 0) {
    SCOPED_TRACE(prog);
    ASSERT_EQ(KernelBackend::Get().PinCpu(cpu), 0);
    ScopedCpu on(cpu);
    KernelObject::Result k =
        KernelObject::RunPacket(kernel_->ProgFd(prog), pkt);
    const native::Program* p = native_->FindProgram(prog);
    ASSERT_NE(p, nullptr);
    native::PacketResult n =
        p->type() == BPF_PROG_TYPE_XDP ? p->RunXdp(pkt) : p->RunSkb(pkt);
    EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
    EXPECT_EQ(k.err, n.err) << "packet of " << pkt.size() << " bytes";
    EXPECT_EQ(k.retval, n.retval) << "packet of " << pkt.size() << " bytes";
    EXPECT_EQ(k.data_out, n.data_out);
    ++runs_;
  }

  void RunRawTp(const std::string& prog, const std::vector<uint64_t>& args,
                int cpu = 0) {
    ASSERT_EQ(KernelBackend::Get().PinCpu(cpu), 0);
    ScopedCpu on(cpu);
    KernelObject::Result k =
        KernelObject::RunRawTp(kernel_->ProgFd(prog), args);
    ASSERT_EQ(k.err, 0);
    EXPECT_EQ(k.retval, native_->FindProgram(prog)->RunRawTp(args))
        << prog << " args[1]=" << args[1];
    EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
    ++runs_;
  }

  // Every map of the object (but ring buffers and program arrays) holds the
  // same keys and values on both sides.
  void ExpectSameMaps(const std::vector<std::string>& except = {}) {
    for (const std::string& name : native_->MapNames()) {
      if (std::find(except.begin(), except.end(), name) != except.end()) {
        continue;
      }
      auto m = native_->FindMap(name);
      // Ring buffers are compared by their records, and fd-valued maps
      // hold ids, which differ between the sides.
      if (m->type() == BPF_MAP_TYPE_RINGBUF ||
          m->type() == BPF_MAP_TYPE_USER_RINGBUF ||
          m->type() == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
          m->type() == BPF_MAP_TYPE_PROG_ARRAY ||
          m->type() == BPF_MAP_TYPE_CGROUP_ARRAY ||
          m->type() == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
          m->type() == BPF_MAP_TYPE_HASH_OF_MAPS) {
        continue;
      }
      // Keyless maps have no keys to walk: compare by draining both.
      if (m->type() == BPF_MAP_TYPE_QUEUE || m->type() == BPF_MAP_TYPE_STACK) {
        const std::vector<Bytes> k = Drain(kernel_->MapFd(name), *m, true);
        const std::vector<Bytes> n = Drain(native_->MapFd(name), *m, false);
        EXPECT_EQ(k, n) << "map " << name;
        continue;
      }
      const Contents k = Dump(kernel_->MapFd(name), *m, /*kernel=*/true);
      const Contents n = Dump(native_->MapFd(name), *m, /*kernel=*/false);
      EXPECT_EQ(k, n) << "map " << name;
      EXPECT_FALSE(k.empty()) << "map " << name << " is empty: weak check";
    }
  }

  int runs() const { return runs_; }

  // The keys of map `name` on the kernel side and on bpfemu's.
  std::pair<size_t, size_t> KeyCounts(const std::string& name) {
    auto m = native_->FindMap(name);
    return {Dump(kernel_->MapFd(name), *m, true).size(),
            Dump(native_->MapFd(name), *m, false).size()};
  }

 private:
  static Contents Dump(int fd, const Map& m, bool kernel) {
    Contents out;
    Bytes key(m.key_size()), next(m.key_size()), value(m.SyscallValueSize());
    const void* prev = nullptr;
    while ((kernel ? bpf_map_get_next_key(fd, prev, next.data())
                   : MapGetNextKey(fd, prev, next.data())) == 0) {
      key = next;
      prev = key.data();
      const int err = kernel ? bpf_map_lookup_elem(fd, key.data(), value.data())
                             : MapLookupElem(fd, key.data(), value.data());
      if (err == 0) out[key] = value;
    }
    return out;
  }

  // Pops every element (lookup_and_delete) in the order the map gives them.
  static std::vector<Bytes> Drain(int fd, const Map& m, bool kernel) {
    std::vector<Bytes> out;
    Bytes value(m.value_size());
    while (out.size() <= m.max_entries() &&
           (kernel ? bpf_map_lookup_and_delete_elem(fd, nullptr, value.data())
                   : MapLookupAndDeleteElem(fd, nullptr, value.data())) == 0) {
      out.push_back(value);
    }
    return out;
  }

  std::string name_;
  std::unique_ptr<KernelObject> kernel_;
  std::unique_ptr<native::Object> native_;
  int kernel_err_ = 0, native_err_ = -1;
  int runs_ = 0;
};

class ExamplesCompareTest : public KernelTest<testing::TestWithParam<Face>> {
 protected:
  void TearDown() override {
    KernelBackend::Get().PinCpu(-1);
    native::ResetHelpers();
  }
};

TEST_P(ExamplesCompareTest, Counter) {
  Pair p("counter", GetParam());
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 5; ++i) p.RunRawTp("count_syscalls", {0, 0}, i % 2);
  p.ExpectSameMaps();
}

// Every instruction class clang emits for ISA v3, on operands that find the
// corners; the whole result map after each run.
TEST_P(ExamplesCompareTest, InstructionClasses) {
  Pair p("insn_classes", GetParam());
  ASSERT_TRUE(p.ok());
  const uint64_t edges[] = {0,
                            1,
                            2,
                            7,
                            31,
                            32,
                            63,
                            64,
                            0x7fffffff,
                            0x80000000,
                            0xffffffff,
                            0x100000001,
                            0x8000000000000000,
                            0xffffffffffffffff,
                            0x0123456789abcdef,
                            0xfedcba9876543210};
  for (uint64_t a : edges) {
    for (uint64_t b :
         {uint64_t{0}, uint64_t{3}, uint64_t{33}, uint64_t{0xffffffff},
          uint64_t{0x8000000000000001}, uint64_t{0x0123456789abcdef}}) {
      p.RunRawTp("classes", {a, b});
      p.ExpectSameMaps();
    }
  }
  EXPECT_EQ(p.runs(), 16 * 6);
}

TEST_P(ExamplesCompareTest, Histogram) {
  Pair p("histogram", GetParam());
  ASSERT_TRUE(p.ok());
  for (size_t len :
       {14, 15, 31, 33, 34, 60, 64, 100, 128, 500, 1000, 1514, 3712, 3713}) {
    p.RunPacket("size_histogram", EthFrame(ETH_P_IP, len));
  }
  p.ExpectSameMaps();
}

// STACK_TRACE from programs: the kernel's stacks are its own addresses
// (and bpfemu's its helper input), so the traces and ids differ; what must
// agree is every count in `results` (samples, stacks found, a kernel stack
// id that stays the same, the EINVAL and EFAULT of two failing calls), one
// stored kernel trace per side, and bpf_get_stack's answers in
// `stack_rets` (errors, and whether a trace of whole entries fit with the
// rest of the buffer zeroed).
TEST_P(ExamplesCompareTest, StackProfiler) {
  Pair p("stack_profiler", GetParam());
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 20; ++i) p.RunRawTp("sample", {0, 0});
  p.RunRawTp("copy_stacks", {0, 0});  // bpf_get_stack: stack_rets
  p.ExpectSameMaps({"kernel_stacks", "user_stacks", "counts", "last_id"});
  EXPECT_EQ(p.KeyCounts("kernel_stacks"), std::make_pair(size_t{1}, size_t{1}));
  const auto user = p.KeyCounts("user_stacks");
  EXPECT_GE(user.first, 1u);
  EXPECT_GE(user.second, 1u);
}

// QUEUE and STACK from programs: pushes into full maps with and without
// BPF_EXIST, pops and peeks of empty and filled maps.
TEST_P(ExamplesCompareTest, WorkQueue) {
  Pair p("work_queue", GetParam());
  ASSERT_TRUE(p.ok());
  for (uint32_t round = 0; round < 3; ++round) {
    for (uint32_t len = 20; len < 32; ++len) {
      Bytes pkt(len, 0);
      pkt[0] = (len + round) % 3 == 0 ? 1 : 0;  // sometimes BPF_EXIST
      p.RunPacket("enqueue", pkt, static_cast<int>(len % 2));
    }
    for (int i = 0; i < 5 + 3 * static_cast<int>(round); ++i) {
      p.RunPacket("dequeue", Bytes(16, 0));
    }
  }
  p.ExpectSameMaps();
  EXPECT_EQ(p.runs(), 3 * 12 + 5 + 8 + 11);
}

// An LPM trie from programs: longest-prefix verdicts, per-rule hit counts
// in the looked-up value, and rules added (BPF_NOEXIST, into a full trie
// too) and deleted by a program. Userspace installs the same CIDR rules on
// both sides first.
TEST_P(ExamplesCompareTest, LpmFirewall) {
  Pair p("lpm_firewall", GetParam());
  ASSERT_TRUE(p.ok());
  struct Cidr {
    uint32_t prefixlen;
    uint8_t addr[4];
  };
  struct Rule {
    uint32_t action, id;
    uint64_t hits;
  };
  const struct {
    Cidr key;
    Rule rule;
  } rules[] = {
      {{8, {10, 0, 0, 0}}, {XDP_DROP, 1, 0}},
      {{16, {10, 1, 0, 0}}, {XDP_PASS, 2, 0}},
      {{24, {10, 1, 2, 0}}, {XDP_DROP, 3, 0}},
      {{32, {10, 1, 2, 3}}, {XDP_PASS, 4, 0}},
      {{12, {172, 16, 0, 0}}, {XDP_DROP, 5, 0}},
      {{0, {0, 0, 0, 0}}, {XDP_PASS, 6, 0}},
  };
  for (const auto& r : rules) {
    ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd("rules"), &r.key, &r.rule,
                                  BPF_NOEXIST),
              0);
    ASSERT_EQ(
        MapUpdateElem(p.emu().MapFd("rules"), &r.key, &r.rule, BPF_NOEXIST), 0);
  }
  std::mt19937 rng(23);
  const uint32_t bases[] = {0x0a010203, 0x0a010200, 0x0a01ff00, 0x0a7f0000,
                            0xac100000, 0xac200000, 0xc0a80000, 0x0b000000};
  for (int i = 0; i < 300; ++i) {
    const uint32_t saddr =
        bases[rng() % 8] + (rng() % 4 == 0 ? rng() % 512 : 0);
    const uint32_t what = rng() % 10;
    if (what < 2) {
      // Learn: port 1 adds the source's /24 (up to 16 rules: later ones
      // are ENOSPC), port 2 removes it.
      p.RunPacket(
          "learn",
          Ipv4Frame(saddr, 0x0a000001, 999, what == 0 ? 1 : 2, IPPROTO_UDP),
          i % 2);
    } else {
      p.RunPacket("filter", Ipv4Frame(saddr, 0x0a000001, 1000, 80, IPPROTO_TCP),
                  i % 2);
    }
  }
  p.RunPacket("filter", EthFrame(ETH_P_ARP, 42));
  p.ExpectSameMaps();
}

TEST_P(ExamplesCompareTest, PercpuBytes) {
  Pair p("percpu_bytes", GetParam());
  ASSERT_TRUE(p.ok());
  // Ten EtherTypes into an 8-entry per-CPU hash: the last inserts fail.
  const uint16_t protos[] = {ETH_P_IP,  ETH_P_ARP, ETH_P_IPV6, ETH_P_8021Q,
                             ETH_P_IP,  0x88cc,    0x88b5,     0x88b6,
                             ETH_P_ARP, 0x9000,    0x9100,     ETH_P_IPV6};
  int i = 0;
  for (uint16_t proto : protos) {
    p.RunPacket("count_bytes", EthFrame(proto, 60 + 10 * i), i % 2);
    ++i;
  }
  for (size_t len : {15, 3520, 3521, 9000}) {
    p.RunPacket("count_bytes", EthFrame(ETH_P_IP, len));
  }
  p.ExpectSameMaps();
}

struct Records {
  std::vector<Bytes> got;
  static int Add(void* ctx, void* data, size_t size) {
    auto* r = static_cast<Records*>(ctx);
    const auto* b = static_cast<const uint8_t*>(data);
    r->got.emplace_back(b, b + size);
    return 0;
  }
};

TEST_P(ExamplesCompareTest, ExecveEvents) {
  Pair p("execve_events", GetParam());
  ASSERT_TRUE(p.ok());
  for (uint64_t nr : {59, 322, 0, 1, 59}) p.RunRawTp("on_sys_enter", {0, nr});
  for (int i = 0; i < 105; ++i) p.RunRawTp("on_sys_enter", {0, 59});  // full
  Records k, n;
  ring_buffer* krb =
      ring_buffer__new(p.kernel().MapFd("events"), &Records::Add, &k, nullptr);
  ASSERT_NE(krb, nullptr);
  EXPECT_GT(ring_buffer__consume(krb), 0);
  ring_buffer__free(krb);
  int err;
  auto nrb = RingBuffer::New(p.emu().MapFd("events"), &Records::Add, &n, &err);
  ASSERT_NE(nrb, nullptr);
  EXPECT_GT(nrb->Consume(), 0);
  EXPECT_EQ(k.got.size(), 4096u / 40);
  EXPECT_EQ(k.got, n.got);
}

// A perf-buffer transcript: every sample as "cpu size hash" (the size is the
// padded raw size the kernel reports), every lost record as "lost cpu n".
struct PerfTranscript {
  std::vector<std::string> lines;
  static void Sample(void* ctx, int cpu, void* data, __u32 size) {
    uint32_t sum = 0;
    for (__u32 i = 0; i < size; ++i) {
      sum = sum * 31 + static_cast<uint8_t*>(data)[i];
    }
    static_cast<PerfTranscript*>(ctx)->lines.push_back(
        std::to_string(cpu) + " " + std::to_string(size) + " " +
        std::to_string(sum));
  }
  static void Lost(void* ctx, int cpu, __u64 n) {
    static_cast<PerfTranscript*>(ctx)->lines.push_back(
        "lost " + std::to_string(cpu) + " " + std::to_string(n));
  }
};

// bpf_perf_event_output from programs pinned to CPU 0 or 1, with
// BPF_F_CURRENT_CPU, in-range and out-of-range indexes (E2BIG), bad flag
// bits (EINVAL) and another CPU's slot (EOPNOTSUPP), before the perf buffer
// exists (ENOENT) and into one-page rings that fill up (lost samples).
// libbpf's perf_buffer on the kernel, bpfemu::PerfBuffer (what libbpfemu's
// perf_buffer__* run) on the emulator: identical return values, samples,
// lost counts and result counters.
TEST_P(ExamplesCompareTest, PerfEvents) {
  if (NumPossibleCpus() < 2) GTEST_SKIP() << "needs 2 possible CPUs";
  Pair p("perf_events", GetParam());
  ASSERT_TRUE(p.ok());
  std::vector<uint8_t> payload(256);
  for (size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  const uint32_t zero = 0;
  ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd("source"), &zero,
                                payload.data(), BPF_ANY),
            0);
  ASSERT_EQ(
      MapUpdateElem(p.emu().MapFd("source"), &zero, payload.data(), BPF_ANY),
      0);
  // No perf buffer yet: empty slots.
  p.RunRawTp("emit", {BPF_F_CURRENT_CPU, 16}, 0);
  p.RunRawTp("emit", {1, 16}, 1);

  PerfTranscript k, n;
  perf_buffer* kpb =
      perf_buffer__new(p.kernel().MapFd("events"), 1, &PerfTranscript::Sample,
                       &PerfTranscript::Lost, &k, nullptr);
  ASSERT_NE(kpb, nullptr) << errno;
  const struct perf_event_attr attr = PerfBuffer::DefaultAttr();
  PerfBuffer::Params params;
  params.attr = &attr;
  params.sample_cb = &PerfTranscript::Sample;
  params.lost_cb = &PerfTranscript::Lost;
  params.ctx = &n;
  int err;
  auto npb = PerfBuffer::New(p.emu().MapFd("events"), 1, params, &err);
  ASSERT_NE(npb, nullptr) << err;
  ASSERT_EQ(perf_buffer__buffer_cnt(kpb), npb->BufferCnt());

  std::mt19937 rng(23);
  const uint64_t flags[] = {BPF_F_CURRENT_CPU,
                            BPF_F_CURRENT_CPU,
                            0,
                            1,
                            2,
                            uint64_t{1} << 32,
                            BPF_F_CURRENT_CPU | (1ULL << 40)};
  for (int i = 0; i < 1200; ++i) {
    const int cpu = static_cast<int>(rng() % 2);
    const uint64_t f = flags[rng() % (sizeof(flags) / sizeof(flags[0]))];
    p.RunRawTp("emit", {f, rng() % 256}, cpu);
    if (rng() % 40 == 0) {
      EXPECT_EQ(perf_buffer__consume(kpb), 0);
      EXPECT_EQ(npb->Consume(), 0);
    }
  }
  EXPECT_EQ(perf_buffer__consume(kpb), 0);
  EXPECT_EQ(npb->Consume(), 0);
  EXPECT_GT(k.lines.size(), 100u);
  EXPECT_EQ(k.lines, n.lines);
  int lost_lines = 0;
  for (const std::string& l : k.lines) lost_lines += l.rfind("lost", 0) == 0;
  EXPECT_GT(lost_lines, 0) << "the rings never filled: weak check";
  perf_buffer__free(kpb);
  npb.reset();
  p.ExpectSameMaps();
}

TEST_P(ExamplesCompareTest, FlowLru) {
  Pair p("flow_lru", GetParam());
  ASSERT_TRUE(p.ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    const uint16_t port = 1 + rng() % 40;
    const uint8_t l4 = rng() % 2 ? IPPROTO_TCP : IPPROTO_UDP;
    p.RunPacket("track_flows", Ipv4Frame(0x0a000001, 0x0a000002, port, 443, l4,
                                         64 + rng() % 200));
  }
  p.RunPacket("track_flows", EthFrame(ETH_P_ARP, 42));
  p.ExpectSameMaps();
}

// tail_calls.bpf.o's jump table on both sides: drop_it in slot 1,
// bounce_it in 2, self_loop in 3.
void FillJumpTable(Pair& p) {
  const struct {
    uint32_t slot;
    const char* prog;
  } table[] = {{1, "drop_it"}, {2, "bounce_it"}, {3, "self_loop"}};
  for (const auto& t : table) {
    const int kfd = p.kernel().ProgFd(t.prog);
    const int nfd = p.emu().FindProgram(t.prog)->fd();
    ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd("jmp_table"), &t.slot, &kfd,
                                  BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem(p.emu().MapFd("jmp_table"), &t.slot, &nfd, BPF_ANY),
              0);
  }
}

TEST_P(ExamplesCompareTest, TailCalls) {
  Pair p("tail_calls", GetParam());
  ASSERT_TRUE(p.ok());
  ASSERT_NO_FATAL_FAILURE(FillJumpTable(p));
  for (uint8_t index : {0, 1, 2, 3, 4, 7, 8, 200, 3, 1}) {
    p.RunPacket("dispatch", EthFrame(ETH_P_IP, 60, index));
  }
  // Alone, the self-calling program runs 1 + 33 times on both.
  p.RunPacket("self_loop", EthFrame(ETH_P_IP, 60));
  p.ExpectSameMaps();
  uint64_t self_runs = 0;
  const uint32_t slot = 3;
  ASSERT_EQ(bpf_map_lookup_elem(p.kernel().MapFd("hits"), &slot, &self_runs),
            0);
  EXPECT_EQ(self_runs, 33u + 33u + 34u);
}

// A tail call from a bpf-to-bpf subprogram returns the target's verdict to
// the subprogram's caller, and the chain limit counts from the first call.
TEST_P(ExamplesCompareTest, TailCallFromASubprogramReturnsToItsCaller) {
  if (GetParam() == Face::kNative) {
    GTEST_SKIP() << "native face: a C function is no BPF frame, a tail call "
                    "ends the run (docs/native.md)";
  }
  Pair p("tail_calls", GetParam());
  ASSERT_TRUE(p.ok());
  ASSERT_NO_FATAL_FAILURE(FillJumpTable(p));
  for (uint8_t index : {1, 2, 3, 4, 200}) {
    p.RunPacket("sub_dispatch", EthFrame(ETH_P_IP, 60, index));
  }
  p.ExpectSameMaps();
  uint64_t caller = 0;
  const uint32_t slot = 6;
  ASSERT_EQ(bpf_map_lookup_elem(p.kernel().MapFd("hits"), &slot, &caller), 0);
  // Five runs went on in the caller: DROP, TX, REDIRECT and twice the
  // packet's length.
  EXPECT_EQ(caller, 5000u + XDP_DROP + XDP_TX + XDP_REDIRECT + 60 + 60);
}

// Spin-locked values, another CPU's per-CPU slot, bpf_loop's results and
// errors.
TEST_P(ExamplesCompareTest, Helpers) {
  Pair p("helpers", GetParam());
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 6; ++i) {
    p.RunPacket("lock_add", EthFrame(ETH_P_IP, 60 + i), i % 2);
    p.RunPacket("percpu_peek", EthFrame(ETH_P_IP, 60), i % 3 == 0 ? 1 : 0);
  }
  p.RunPacket("loop_sum", EthFrame(ETH_P_IP, 60));
  p.ExpectSameMaps();
}

// bpf_for_each_map_elem over an array, a hash, a per-CPU array and an LRU
// hash: the keys each walk visits in order, the sums and the helper's
// results (for_each.bpf.c's `out`), deletes from inside the walk, and an
// LRU whose walks must not mark elements referenced (the later evictions
// would differ).
TEST_P(ExamplesCompareTest, ForEachMapElem) {
  Pair p("for_each", GetParam());
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 24; ++i) {
    p.RunPacket("fill", EthFrame(ETH_P_IP, 60 + 7 * (i % 17)), i % 2);
  }
  for (size_t len : {64, 61, 66, 67}) {
    p.RunPacket("walk", EthFrame(ETH_P_IP, len), len % 2);
    p.ExpectSameMaps();
  }
  p.RunPacket("prune", EthFrame(ETH_P_IP, 60));
  p.ExpectSameMaps();
  p.RunPacket("walk", EthFrame(ETH_P_IP, 64));
  p.ExpectSameMaps();
  // Past the LRU's 64 entries: evictions, which follow the reference bits.
  for (int i = 0; i < 90; ++i) {
    p.RunPacket("fill", EthFrame(ETH_P_IP, 200 + 3 * i), i % 2);
    if (i % 30 == 0) p.RunPacket("walk", EthFrame(ETH_P_IP, 64), i % 2);
  }
  p.RunPacket("walk", EthFrame(ETH_P_IP, 64), 1);
  p.ExpectSameMaps();
}

// The kernel's prog_tests/for_each.c subtests hash_map, array_map and
// multi_maps, ported (for_each_selftest.bpf.c): the same fills, runs and
// expected values, asserted on bpfemu's side and compared with the
// kernel's whole maps.
TEST_P(ExamplesCompareTest, ForEachSelftestChecks) {
  Pair p("for_each_selftest", GetParam());
  ASSERT_TRUE(p.ok());
  const uint32_t ncpus = p.emu().FindMap("percpu_hash")->nr_cpus();
  ASSERT_EQ(static_cast<int>(ncpus), libbpf_num_possible_cpus());
  auto update = [&](const char* map, uint32_t key, const void* value) {
    ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd(map), &key, value, BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem(p.emu().MapFd(map), &key, value, BPF_ANY), 0);
  };
  auto result = [&](uint32_t slot) {
    uint64_t v = ~uint64_t{0};
    EXPECT_EQ(MapLookupElem(p.emu().MapFd("res"), &slot, &v), 0);
    return v;
  };
  std::vector<uint64_t> per_cpu(ncpus);
  for (uint32_t c = 0; c < ncpus; ++c) per_cpu[c] = c + 1;
  for (uint32_t i = 0; i < 3; ++i) {
    const uint64_t v = i + 1;
    update("hashmap", i, &v);
    update("arraymap", i, &v);
  }
  for (uint32_t i = 0; i < 5; ++i) {
    const uint64_t v = i + 1;
    update("multi_hash", 100 + i, &v);
  }
  update("percpu_hash", 1, per_cpu.data());
  update("percpu_array", 0, per_cpu.data());

  // hash_map: the pkt_v4-sized packet (the length never matters).
  const int cpu = ncpus > 1 ? 1 : 0;
  p.RunPacket("hash_map",
              Ipv4Frame(0x0a000001, 0x0a000002, 1, 2, IPPROTO_TCP, 54), cpu);
  EXPECT_EQ(result(kHashOutput), 4u);
  EXPECT_EQ(result(kHashElems), 3u);
  uint32_t one = 1;
  uint64_t v;
  EXPECT_EQ(MapLookupElem(p.emu().MapFd("hashmap"), &one, &v), -ENOENT);
  EXPECT_EQ(result(kPercpuCalled), 1u);
  EXPECT_EQ(result(kPercpuCpu), static_cast<uint64_t>(cpu));
  EXPECT_EQ(result(kPercpuElems), 1u);
  EXPECT_EQ(result(kPercpuKey), 1u);
  EXPECT_EQ(result(kPercpuVal), result(kPercpuCpu) + 1);
  EXPECT_EQ(result(kPercpuOutput), 100u);

  // array_map: 1 + 2, the walk stopping at key 1.
  p.RunPacket("array_map", EthFrame(ETH_P_IP, 54), cpu);
  EXPECT_EQ(result(kArrayOutput), 3u);
  EXPECT_EQ(result(kArrayPercpuVal), result(kArrayCpu) + 1);

  // multi_maps: the array's total, then the hash's.
  const uint64_t use_array = 1, use_hash = 0;
  update("res", kMultiUseArray, &use_array);
  p.RunPacket("multi_maps", EthFrame(ETH_P_IP, 54));
  EXPECT_EQ(result(kMultiOutput), 6u);
  update("res", kMultiUseArray, &use_hash);
  p.RunPacket("multi_maps", EthFrame(ETH_P_IP, 54));
  EXPECT_EQ(result(kMultiOutput), 15u);
  // hashmap is empty now (the nested walk deleted every element).
  p.ExpectSameMaps({"hashmap"});
  EXPECT_EQ(p.KeyCounts("hashmap"), (std::pair<size_t, size_t>{0, 0}));
}

// Map-in-map from a program: the outer lookup gives the inner map, which
// the helpers then use.
TEST_P(ExamplesCompareTest, MapInMap) {
  Pair p("helpers", GetParam());
  ASSERT_TRUE(p.ok());
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 4;
  const int kinner = KernelBackend::Get().CreateMap(attr);
  const int ninner = MapCreate(attr);
  ASSERT_GE(kinner, 0);
  ASSERT_GE(ninner, 0);
  const uint32_t slot = 0;
  ASSERT_EQ(
      bpf_map_update_elem(p.kernel().MapFd("tables"), &slot, &kinner, BPF_ANY),
      0);
  ASSERT_EQ(MapUpdateElem(p.emu().MapFd("tables"), &slot, &ninner, BPF_ANY), 0);
  // Slot 0 (skb->mark is 0): counted per len % 4 in the inner array.
  for (size_t len : {60, 61, 62, 63, 64, 65, 66, 70}) {
    p.RunPacket("count_in_table", EthFrame(ETH_P_IP, len));
  }
  for (uint32_t k = 0; k < 4; ++k) {
    uint64_t kv = 0, nv = 0;
    ASSERT_EQ(bpf_map_lookup_elem(kinner, &k, &kv), 0);
    ASSERT_EQ(MapLookupElem(ninner, &k, &nv), 0);
    EXPECT_EQ(kv, nv) << "inner key " << k;
  }
  KernelBackend::Get().Close(kinner);
  CloseFd(ninner);
}

// PROG_ARRAY's errnos from userspace, on both sides: flags, range, bad and
// non-program fds, a program of another type, empty slots.
TEST_P(ExamplesCompareTest, ProgArrayErrnos) {
  Pair tails("tail_calls", GetParam());
  Pair hist("histogram", GetParam());
  ASSERT_TRUE(tails.ok());
  ASSERT_TRUE(hist.ok());
  struct Side {
    int table, xdp, tc, not_prog;
    bool kernel;
  };
  const Side sides[] = {
      {tails.kernel().MapFd("jmp_table"), tails.kernel().ProgFd("drop_it"),
       hist.kernel().ProgFd("size_histogram"), hist.kernel().MapFd("sizes"),
       true},
      {tails.emu().MapFd("jmp_table"), tails.emu().FindProgram("drop_it")->fd(),
       hist.emu().FindProgram("size_histogram")->fd(),
       hist.emu().MapFd("sizes"), false},
  };
  std::vector<int> results[2];
  for (int s = 0; s < 2; ++s) {
    const Side& d = sides[s];
    auto update = [&](uint32_t slot, int fd, uint64_t flags) {
      return d.kernel ? bpf_map_update_elem(d.table, &slot, &fd, flags)
                      : MapUpdateElem(d.table, &slot, &fd, flags);
    };
    auto lookup = [&](uint32_t slot) {
      uint32_t id = 0;
      const int err = d.kernel ? bpf_map_lookup_elem(d.table, &slot, &id)
                               : MapLookupElem(d.table, &slot, &id);
      return err != 0 ? err : (id != 0 ? 1 : -1000);
    };
    auto del = [&](uint32_t slot) {
      return d.kernel ? bpf_map_delete_elem(d.table, &slot)
                      : MapDeleteElem(d.table, &slot);
    };
    auto lookup_and_delete = [&](uint32_t slot) {
      uint32_t id;
      return d.kernel ? bpf_map_lookup_and_delete_elem(d.table, &slot, &id)
                      : MapLookupAndDeleteElem(d.table, &slot, &id);
    };
    auto next = [&](const uint32_t* key) {
      uint32_t n = 99;
      const int err = d.kernel ? bpf_map_get_next_key(d.table, key, &n)
                               : MapGetNextKey(d.table, key, &n);
      return err != 0 ? err : static_cast<int>(n);
    };
    std::vector<int>& r = results[s];
    const uint32_t last = 7, beyond = 8;
    r = {lookup(0),
         del(0),
         update(0, 9999, BPF_ANY),
         update(0, -1, BPF_ANY),
         update(0, d.not_prog, BPF_ANY),
         update(0, d.xdp, BPF_NOEXIST),
         update(0, d.xdp, BPF_EXIST),
         update(8, d.xdp, BPF_ANY),
         update(8, 9999, BPF_NOEXIST),
         update(0, d.xdp, BPF_ANY),
         lookup(0),
         lookup(8),
         update(1, d.tc, BPF_ANY),
         update(0, d.xdp, BPF_ANY),
         lookup_and_delete(0),
         del(8),
         del(0),
         del(0),
         next(nullptr),
         next(&last),
         next(&beyond)};
  }
  EXPECT_EQ(results[0], results[1]);
}

// One side's user ring producer. The kernel's is libbpf's user_ring_buffer;
// the emulator's makes the same writes over the same mappings (MapMmap),
// as compat/user_ringbuf_compat.cc does - that file defines libbpf's names
// and cannot be linked next to real libbpf. Both sides also map the
// producer page and data read-write to craft bogus producer state.
class UserRing {
 public:
  static constexpr uint64_t kPage = 4096, kRing = 4096;
  UserRing(int fd, bool kernel) : kernel_(kernel) {
    const size_t len = kPage + 2 * kRing;
    if (kernel) {
      rb_ = user_ring_buffer__new(fd, nullptr);
      EXPECT_NE(rb_, nullptr) << errno;
      cons_ = mmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0);
      prod_ = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, kPage);
      if (cons_ == MAP_FAILED) cons_ = nullptr;
      if (prod_ == MAP_FAILED) prod_ = nullptr;
    } else {
      int err;
      cons_ = MapMmap(fd, kPage, PROT_READ, MAP_SHARED, 0, &err);
      prod_ = MapMmap(fd, len, PROT_READ | PROT_WRITE, MAP_SHARED, kPage, &err);
    }
    EXPECT_NE(cons_, nullptr);
    EXPECT_NE(prod_, nullptr);
  }
  ~UserRing() {
    if (rb_ != nullptr) user_ring_buffer__free(rb_);
    if (cons_ != nullptr) munmap(cons_, kPage);
    if (prod_ != nullptr) munmap(prod_, kPage + 2 * kRing);
  }
  bool ok() const {
    return cons_ != nullptr && prod_ != nullptr && (!kernel_ || rb_ != nullptr);
  }
  uint64_t cons() const {
    return __atomic_load_n(static_cast<uint64_t*>(cons_), __ATOMIC_ACQUIRE);
  }
  uint64_t prod() const {
    return __atomic_load_n(static_cast<uint64_t*>(prod_), __ATOMIC_ACQUIRE);
  }
  void SetProd(uint64_t v) {
    __atomic_store_n(static_cast<uint64_t*>(prod_), v, __ATOMIC_RELEASE);
  }
  uint8_t* data() const { return static_cast<uint8_t*>(prod_) + kPage; }
  // user_ring_buffer__reserve: the sample, or nullptr and an errno.
  void* Reserve(uint32_t size, int* err) {
    if (kernel_) {
      errno = 0;
      void* s = user_ring_buffer__reserve(rb_, size);
      *err = s == nullptr ? errno : 0;
      return s;
    }
    if (size & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) {
      *err = E2BIG;
      return nullptr;
    }
    const uint64_t c = cons(), p = prod();
    const uint32_t avail = static_cast<uint32_t>(kRing - (p - c));
    const uint32_t total = (size + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
    if (total > kRing || avail < total) {
      *err = total > kRing ? E2BIG : ENOSPC;
      return nullptr;
    }
    const uint32_t hdr[2] = {size | BPF_RINGBUF_BUSY_BIT, 0};
    std::memcpy(data() + (p & (kRing - 1)), hdr, 8);
    SetProd(p + total);
    *err = 0;
    return data() + ((p + BPF_RINGBUF_HDR_SZ) & (kRing - 1));
  }
  void Commit(void* sample, bool discard) {
    if (kernel_) {
      discard ? user_ring_buffer__discard(rb_, sample)
              : user_ring_buffer__submit(rb_, sample);
      return;
    }
    const uint64_t off =
        kRing + (static_cast<uint8_t*>(sample) - data()) - BPF_RINGBUF_HDR_SZ;
    auto* len = reinterpret_cast<uint32_t*>(data() + (off & (kRing - 1)));
    uint32_t v = *len & ~uint32_t{BPF_RINGBUF_BUSY_BIT};
    if (discard) v |= BPF_RINGBUF_DISCARD_BIT;
    __atomic_exchange_n(len, v, __ATOMIC_ACQ_REL);
  }

 private:
  bool kernel_;
  user_ring_buffer* rb_ = nullptr;
  void* cons_ = nullptr;
  void* prod_ = nullptr;
};

struct Command {
  uint32_t op, key;
  uint64_t value;
};

// A userspace-to-BPF command channel (user_ringbuf_channel.bpf.c): the same
// commands submitted on both sides, drained by the same program with each
// drain flag, and crafted producer state; after every drain the table, the
// stats (drain results, applied / malformed / failed counts) and both ring
// positions are equal.
TEST_P(ExamplesCompareTest, UserRingbufChannel) {
  Pair p("user_ringbuf_channel", GetParam());
  ASSERT_TRUE(p.ok());
  UserRing k(p.kernel().MapFd("commands"), true);
  UserRing n(p.emu().MapFd("commands"), false);
  ASSERT_TRUE(k.ok() && n.ok());
  // Submits `size` bytes starting with `c` (discarded if asked) on both.
  auto send = [&](const Command& c, uint32_t size = sizeof(Command),
                  bool discard = false) {
    int kerr, nerr;
    void* ks = k.Reserve(size, &kerr);
    void* ns = n.Reserve(size, &nerr);
    EXPECT_EQ(kerr, nerr) << "reserve of " << size;
    if (ks == nullptr || ns == nullptr) return false;
    Bytes payload(size, 0xee);
    std::memcpy(payload.data(), &c, std::min<size_t>(size, sizeof(c)));
    std::memcpy(ks, payload.data(), size);
    std::memcpy(ns, payload.data(), size);
    k.Commit(ks, discard);
    n.Commit(ns, discard);
    return true;
  };
  auto drain = [&](uint8_t flags_byte) {
    p.RunPacket("apply", Bytes(16, flags_byte));
    p.ExpectSameMaps();
    EXPECT_EQ(k.cons(), n.cons());
    EXPECT_EQ(k.prod(), n.prod());
  };
  // Every command kind, drained with flags 0.
  send({1, 1, 10});
  send({1, 2, 20});
  send({2, 1, 5});
  send({2, 3, 7});
  send({3, 2, 0});
  send({3, 9, 0});  // not there: a failed delete
  send({5, 4, 44});
  drain(0);
  // A discarded command, a short one, an unknown op, a stop, then more.
  send({1, 6, 60}, sizeof(Command), /*discard=*/true);
  send({1, 7, 70}, 4);
  send({9, 7, 70});
  send({4, 0, 0});
  send({1, 5, 50}, 40);
  drain(1);  // BPF_RB_NO_WAKEUP: stops at the stop command
  drain(2);  // BPF_RB_FORCE_WAKEUP
  drain(0);  // empty
  // Bad flags: -EINVAL, nothing consumed; then drained.
  send({2, 1, 1});
  drain(3);
  drain(0);
  // Fill the ring until both producers answer ENOSPC; 17+ keys overflow
  // the 16-entry table (E2BIG from the update: failed).
  uint32_t sent = 0;
  while (send({1, sent % 24, sent}) && sent < 1000) ++sent;
  EXPECT_EQ(sent, 4096u / 24);
  drain(0);
  // Crafted producer state: the drain answers the kernel's errno.
  const uint64_t c = k.cons();
  ASSERT_EQ(c, n.cons());
  k.SetProd(c + 12);  // misaligned: -EINVAL
  n.SetProd(c + 12);
  drain(0);
  const uint32_t long_hdr = 100;  // longer than the producer says: -EINVAL
  std::memcpy(k.data() + (c & 4095), &long_hdr, 4);
  std::memcpy(n.data() + (c & 4095), &long_hdr, 4);
  k.SetProd(c + 16);
  n.SetProd(c + 16);
  drain(0);
  const uint32_t huge_hdr = 5000;  // longer than the ring: -E2BIG
  std::memcpy(k.data() + (c & 4095), &huge_hdr, 4);
  std::memcpy(n.data() + (c & 4095), &huge_hdr, 4);
  k.SetProd(c + 8192);
  n.SetProd(c + 8192);
  drain(0);
  k.SetProd(c);
  n.SetProd(c);
  // Random traffic of mixed sizes, wrapping the ring many times.
  std::mt19937 gen(23);
  for (int round = 0; round < 40; ++round) {
    const int count = 1 + static_cast<int>(gen() % 12);
    for (int i = 0; i < count; ++i) {
      const Command cmd{1 + static_cast<uint32_t>(gen() % 5),
                        static_cast<uint32_t>(gen() % 12), gen()};
      const uint32_t size = gen() % 8 == 0 ? 8 + gen() % 8 : 16 + gen() % 200;
      send(cmd, size, gen() % 10 == 0);
    }
    drain(static_cast<uint8_t>(gen() % 3));
  }
}

// bpf_strtol / bpf_strtoul on inputs that reach every branch of the
// kernel's __bpf_strtoull (bases, prefixes, signs, whitespace, ERANGE,
// EINVAL, the 63-character cut), bpf_strncmp's sign results, and the
// clocks' relations: strings.bpf.c's `out` equal on both sides.
TEST_P(ExamplesCompareTest, StringsAndClocks) {
  Pair p("strings", GetParam());
  ASSERT_TRUE(p.ok());
  for (const char* prog : {"parse_strtox", "cmp_strings", "read_clocks"}) {
    for (int cpu = 0; cpu < 2; ++cpu) {
      p.RunPacket(prog, EthFrame(ETH_P_IP, 64), cpu);
      p.ExpectSameMaps();
    }
  }
  EXPECT_EQ(p.runs(), 6);
}

// bpf_current_task_under_cgroup and bpf_skb_under_cgroup over a
// CGROUP_ARRAY holding the cgroup2 root, the process's own cgroup and a
// child of it, and the cgroup id helpers: the same answers (1, 0, -EAGAIN
// for an empty slot, -E2BIG past the end, the ids) on both sides.
TEST_P(ExamplesCompareTest, CgroupArray) {
  if (Cgroup2Mount().empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const int root =
      open(Cgroup2Mount().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int own = open((Cgroup2Mount() + CurrentCgroupPath()).c_str(),
                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || own < 0) GTEST_SKIP() << "cannot open the cgroup2 dirs";
  Pair p("cgroups", GetParam());
  ASSERT_TRUE(p.ok());
  auto put = [&](uint32_t slot, int fd) {
    EXPECT_EQ(
        bpf_map_update_elem(p.kernel().MapFd("cgroups"), &slot, &fd, BPF_ANY),
        0);
    EXPECT_EQ(MapUpdateElem(p.emu().MapFd("cgroups"), &slot, &fd, BPF_ANY), 0);
  };
  put(0, root);
  for (uint64_t slot : {0, 1}) {
    p.RunRawTp("under_cgroup", {slot, 0});
    p.RunPacket("skb_cgroup", EthFrame(ETH_P_IP, 64));
    p.ExpectSameMaps();
  }
  put(1, own);
  p.RunRawTp("under_cgroup", {1, 0});
  p.RunPacket("skb_cgroup", EthFrame(ETH_P_IP, 64));
  p.ExpectSameMaps();
  EXPECT_EQ(p.runs(), 6);
  close(root);
  close(own);
  // A child of the process's cgroup (root only): the task is not under it.
  const std::string child = Cgroup2Mount() + CurrentCgroupPath() +
                            "/bpfemu-compare-" + std::to_string(getpid());
  if (mkdir(child.c_str(), 0755) != 0) {
    GTEST_SKIP() << "cannot create a child cgroup: the 0 answer is unchecked";
  }
  const int sub = open(child.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(sub, 0);
  put(1, sub);
  p.RunRawTp("under_cgroup", {1, 0});
  p.RunPacket("skb_cgroup", EthFrame(ETH_P_IP, 64));
  p.ExpectSameMaps();
  close(sub);
  rmdir(child.c_str());
}

// A cgroup_skb program counting in its CGROUP_STORAGE and
// PERCPU_CGROUP_STORAGE: under BPF_PROG_TEST_RUN the storages are the
// run's own, zeroed at its start and kept across its repeats, so single
// runs always count 1 and a run of N repeats counts N, on both sides.
TEST_P(ExamplesCompareTest, CgroupStorageUnderTestRun) {
  Pair p("cgroup_storage", GetParam());
  ASSERT_TRUE(p.ok());
  // The storages never join their maps (no program is attached to a
  // cgroup): both sides' maps stay empty, and `seen` tells what ran.
  const std::vector<std::string> kStorages = {"stats", "per_cpu"};
  for (int i = 0; i < 4; ++i) {
    p.RunPacket("count_egress", EthFrame(ETH_P_IP, 60 + 10 * i), i % 2);
    p.ExpectSameMaps(kStorages);
  }
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(p.emu().FindProgram("count_egress")->fd(), &prog), 0);
  ASSERT_EQ(KernelBackend::Get().PinCpu(0), 0);
  ScopedCpu on(0);
  for (uint32_t repeat : {2u, 3u, 7u}) {
    SCOPED_TRACE(repeat);
    const Bytes pkt = EthFrame(ETH_P_IP, 80);
    KernelObject::Result k = KernelObject::RunPacket(
        p.kernel().ProgFd("count_egress"), pkt, static_cast<int>(repeat));
    native::TestRunAttr attr;
    attr.data_in = pkt.data();
    attr.data_size_in = static_cast<uint32_t>(pkt.size());
    attr.repeat = repeat;
    native::TestRunOutput out;
    ASSERT_EQ(native::TestRun(*prog, attr, &out), 0);
    EXPECT_EQ(k.err, 0);
    EXPECT_EQ(k.retval, out.retval);
    EXPECT_EQ(out.retval, repeat & 1);
    p.ExpectSameMaps(kStorages);
  }
  for (const std::string& name : kStorages) {
    EXPECT_EQ(p.KeyCounts(name), std::make_pair(size_t{0}, size_t{0}));
  }
}

// The 16-bit one's complement sum of `n` bytes at `p` (RFC 1071), folded.
uint16_t OnesSum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// An Ethernet + IPv4 + UDP/TCP frame with valid IP and L4 checksums (the
// L4 checksum left 0 when `l4_csum` is false: UDP's "none").
Bytes ChecksummedFrame(uint8_t l4, size_t len, bool l4_csum = true) {
  Bytes f = Ipv4Frame(0xc0a80001, 0xc0a80002, 4000, 53, l4, len);
  uint8_t* ip = f.data() + ETH_HLEN;
  const size_t l4_len = f.size() - ETH_HLEN - 20;
  const size_t check = l4 == IPPROTO_UDP ? 6 : 16;
  if (l4 == IPPROTO_TCP) f[ETH_HLEN + 20 + 12] = 5 << 4;  // data offset
  if (l4_csum) {
    // The pseudo header: addresses, protocol, L4 length.
    uint32_t pseudo = OnesSum(ip + 12, 8);
    pseudo += l4 + static_cast<uint32_t>(l4_len);
    const uint16_t sum = ~OnesSum(ip + 20, l4_len, pseudo);
    ip[20 + check] = sum >> 8;
    ip[20 + check + 1] = sum & 0xff;
  }
  const uint16_t sum = ~OnesSum(ip, 20);
  ip[10] = sum >> 8;
  ip[11] = sum & 0xff;
  return f;
}

// A frame whose payload is an `adjust` command (packet_rewrite.bpf.c).
Bytes AdjustCommand(uint8_t op, int32_t delta, size_t len = 64) {
  Bytes f = EthFrame(0x88b5, len);
  for (size_t i = ETH_HLEN + 8; i < f.size(); ++i) f[i] = uint8_t(i * 7);
  f[ETH_HLEN] = op;
  std::memcpy(f.data() + ETH_HLEN + 4, &delta, sizeof(delta));
  return f;
}

// packet_rewrite.bpf.c's `results`, slot by slot on both sides (readable
// messages: the whole-map comparison prints only 32 entries).
void ExpectSameResults(Pair& p) {
  const int kfd = p.kernel().MapFd("results");
  const int nfd = p.emu().MapFd("results");
  for (uint32_t slot = 0; slot < 40; ++slot) {
    int64_t k = 0, n = 0;
    ASSERT_EQ(bpf_map_lookup_elem(kfd, &slot, &k), 0);
    ASSERT_EQ(MapLookupElem(nfd, &slot, &n), 0);
    EXPECT_EQ(k, n) << "results[" << slot << "]";
  }
}

// Whether the running kernel offers bpf_xdp_adjust_meta to XDP programs:
// a two-instruction XDP program calling it either loads, or is refused as a
// helper the program type is not offered (EINVAL, with the verifier's
// "program of this type cannot use helper" line, which libbpf 1.1's
// libbpf_probe_bpf_helper does not recognise). `log` gets the verifier's
// log.
bool HostOffersXdpAdjustMeta(std::string* log = nullptr, int* err = nullptr) {
  const struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, -4},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_adjust_meta},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char buf[4096] = {};
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof(buf),
              .log_buf = buf);
  const int fd =
      bpf_prog_load(BPF_PROG_TYPE_XDP, "meta_probe", "GPL", insns, 3, &opts);
  if (err != nullptr) *err = fd >= 0 ? 0 : errno;
  if (log != nullptr) *log = buf;
  if (fd < 0) return false;
  close(fd);
  return true;
}

// The measurement behind it: the 6.18.44 host of the 2026-12 runs refuses
// the helper, the 6.18 builds before it and the 6.18 source offer it
// (net/core/filter.c xdp_func_proto). bpfemu follows the source.
class HostKernel : public KernelTest<::testing::Test> {};

TEST_F(HostKernel, XdpAdjustMetaOffer) {
  std::string log;
  int err = 0;
  if (HostOffersXdpAdjustMeta(&log, &err)) {
    std::printf("the running kernel offers bpf_xdp_adjust_meta to XDP\n");
    return;
  }
  EXPECT_EQ(err, EINVAL);
  EXPECT_NE(log.find("program of this type cannot use helper "
                     "bpf_xdp_adjust_meta#54"),
            std::string::npos)
      << log;
  std::printf("the running kernel refuses bpf_xdp_adjust_meta to XDP\n");
}

// packet_rewrite.bpf.c's program for an adjust command: op 3 (metadata)
// has its own.
std::string AdjustProgram(uint8_t op) {
  return op == 3 ? "adjust_meta" : "adjust";
}

// packet_rewrite.bpf.c: IPIP encapsulation and decapsulation with
// bpf_xdp_adjust_head / _tail and bpf_csum_diff; the head, tail and
// metadata limits of the test run's frame (256 bytes of headroom less the
// 40-byte xdp_frame, the page less skb_shared_info, ETH_HLEN minimums,
// EINVAL / EACCES); a tc rewrite of port and address through
// bpf_skb_store_bytes and bpf_l3/l4_csum_replace; their argument errors.
TEST_P(ExamplesCompareTest, PacketRewrite) {
  // Some kernel builds refuse bpf_xdp_adjust_meta to XDP programs (the
  // 6.18.44 host does: HostKernel.XdpAdjustMetaOffer); the metadata cases
  // then run on neither side.
  const bool meta = HostOffersXdpAdjustMeta();
  if (!meta) {
    std::printf(
        "PacketRewrite: the running kernel refuses bpf_xdp_adjust_meta to "
        "XDP programs; its cases are not compared\n");
  }
  Pair p("packet_rewrite", GetParam(),
         meta ? std::vector<std::string>{}
              : std::vector<std::string>{"adjust_meta"});
  ASSERT_TRUE(p.ok());
  // Encapsulation; a frame padded past its IP length is trimmed.
  p.RunPacket("encap", ChecksummedFrame(IPPROTO_UDP, 60));
  Bytes padded = ChecksummedFrame(IPPROTO_UDP, 60);
  padded.resize(97, 0xee);
  p.RunPacket("encap", padded);
  p.RunPacket("encap", EthFrame(ETH_P_ARP, 60));
  ExpectSameResults(p);
  // Decapsulation of an IPIP frame (its outer header's checksum is left
  // 0: decap does not check it).
  for (size_t len : {54, 60, 75}) {
    Bytes inner = ChecksummedFrame(IPPROTO_TCP, len);
    Bytes ipip(inner.begin(), inner.begin() + ETH_HLEN);
    const uint8_t outer[20] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, IPPROTO_IPIP};
    ipip.insert(ipip.end(), outer, outer + 20);
    ipip.insert(ipip.end(), inner.begin() + ETH_HLEN, inner.end());
    p.RunPacket("decap", ipip);
  }
  ExpectSameResults(p);
  // The limits: 64-byte frames, then a 3400-byte one whose tail may grow
  // by 120 bytes to the frame's end (4096 - 256 - 320 = 3520).
  const int32_t kLen = 64;
  const std::vector<std::pair<uint8_t, int32_t>> cmds = {
      {1, -216},      {1, -217},      {1, -256},      {1, -14},
      {1, 0},         {1, 8},         {1, kLen - 14}, {1, kLen - 13},
      {1, INT32_MIN}, {1, INT32_MAX}, {2, -8},        {2, 14 - kLen},
      {2, 13 - kLen}, {2, 1},         {2, 200},       {2, INT32_MIN},
      {2, INT32_MAX}, {3, -4},        {3, -3},        {3, -32},
      {3, -216},      {3, -220},      {3, -256},      {3, 4},
      {3, 0},         {3, INT32_MIN}, {0, 0},
  };
  for (const auto& [op, delta] : cmds) {
    SCOPED_TRACE(::testing::Message()
                 << "op " << int{op} << " delta " << delta);
    if (op == 3 && !meta) continue;
    p.RunPacket(AdjustProgram(op), AdjustCommand(op, delta, kLen));
    ExpectSameResults(p);
  }
  for (int32_t delta : {119, 120, 121}) {
    SCOPED_TRACE(delta);
    p.RunPacket("adjust", AdjustCommand(2, delta, 3400));
    ExpectSameResults(p);
  }
  // Frames with fragments (past 3520 bytes): the last fragment grows up to
  // its page (3520 + 4090 bytes: 6 more, not 7) or shrinks, released
  // fragments and then the linear part; loads and stores across the
  // linear part and the fragments, and their limits.
  const std::vector<std::tuple<uint8_t, int32_t, size_t>> frag_cmds = {
      {2, 100, 5000},       {2, 256, 5000},       {2, -100, 5000},
      {2, -1480, 5000},     {2, -1500, 5000},     {2, 14 - 5000, 5000},
      {2, 13 - 5000, 5000}, {2, INT32_MIN, 5000}, {2, 6, 7610},
      {2, 7, 7610},         {2, -4100, 7700},     {4, 3516, 5000},
      {4, 3520, 5000},      {4, 4992, 5000},      {4, 4993, 5000},
      {4, 0x10000, 5000},   {4, 100, 64},         {4, 57, 64},
      {5, 3516, 5000},      {5, 7600, 7700},      {5, 4993, 5000},
      {5, 0x10000, 5000},   {5, 56, 64},          {5, 57, 64},
  };
  for (const auto& [op, delta, len] : frag_cmds) {
    SCOPED_TRACE(::testing::Message()
                 << "op " << int{op} << " delta " << delta << " len " << len);
    p.RunPacket("adjust", AdjustCommand(op, delta, len));
    ExpectSameResults(p);
  }
  // With metadata from ctx_in (4 bytes before the frame): the head may
  // reach back 212 bytes, not 216; ctx_out's offsets follow the moves.
  for (const auto& [op, delta] :
       std::vector<std::pair<uint8_t, int32_t>>{{1, -212},
                                                {1, -213},
                                                {1, 20},
                                                {3, -8},
                                                {3, -212},
                                                {3, 4},
                                                {2, -10}}) {
    SCOPED_TRACE(::testing::Message()
                 << "ctx: op " << int{op} << " delta " << delta);
    if (op == 3 && !meta) continue;
    const std::string prog = AdjustProgram(op);
    Bytes in = {0xde, 0xad, 0xbe, 0xef};
    const Bytes frame = AdjustCommand(op, delta, 80);
    in.insert(in.end(), frame.begin(), frame.end());
    struct xdp_md ctx = {};
    ctx.data = 4;
    ctx.data_end = static_cast<uint32_t>(in.size());
    struct xdp_md kctx_out = {};
    Bytes kout(in.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(),
                .data_out = kout.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(kout.size()),
                .ctx_in = &ctx, .ctx_out = &kctx_out,
                .ctx_size_in = sizeof(ctx), .ctx_size_out = sizeof(kctx_out));
    const int kerr = bpf_prog_test_run_opts(p.kernel().ProgFd(prog), &opts);
    kout.resize(kerr == 0 ? opts.data_size_out : 0);
    const native::PacketResult n = p.emu().FindProgram(prog)->RunXdp(in, &ctx);
    EXPECT_EQ(kerr, n.err);
    EXPECT_EQ(opts.retval, n.retval);
    EXPECT_EQ(kout, n.data_out);
    const auto* k = reinterpret_cast<const uint8_t*>(&kctx_out);
    EXPECT_EQ(Bytes(k, k + sizeof(kctx_out)), n.ctx_out);
    ExpectSameResults(p);
  }
  // tc: UDP with and without a checksum, TCP; the IP checksum must still
  // verify afterwards.
  for (const auto& [l4, csum] : std::vector<std::pair<uint8_t, bool>>{
           {IPPROTO_UDP, true}, {IPPROTO_UDP, false}, {IPPROTO_TCP, true}}) {
    for (size_t len : {60, 81}) {
      const Bytes f = ChecksummedFrame(l4, len, csum);
      p.RunPacket("rewrite", f);
      const native::Program* prog = p.emu().FindProgram("rewrite");
      const native::PacketResult r = prog->RunSkb(f);
      ASSERT_EQ(r.data_out.size(), f.size());
      EXPECT_EQ(OnesSum(r.data_out.data() + ETH_HLEN, 20), 0xffff);
      const size_t l4_len = f.size() - ETH_HLEN - 20;
      const uint8_t* ip = r.data_out.data() + ETH_HLEN;
      if (csum) {
        uint32_t pseudo = OnesSum(ip + 12, 8) + l4 + l4_len;
        EXPECT_EQ(OnesSum(ip + 20, l4_len, pseudo), 0xffff);
      } else {
        EXPECT_EQ(ip[26] | ip[27], 0) << "a UDP checksum of 0 stays 0";
      }
      ExpectSameResults(p);
    }
  }
  for (size_t len : {60, 64, 300}) {
    p.RunPacket("errors", ChecksummedFrame(IPPROTO_UDP, len));
    ExpectSameResults(p);
  }
}

// xdp_lb.bpf.c: UDP flows hashed over a DEVMAP_HASH of lo backends (one
// slot missing: the XDP_PASS fallback), TCP flows steered through a CPUMAP
// (CPU 1's slot empty: XDP_DROP), broadcast frames, and flags the maps do
// not take. bpf_prog_test_run answers XDP_REDIRECT with the packet
// unchanged; the return values and every map must agree.
TEST_P(ExamplesCompareTest, XdpLoadBalancer) {
  Pair p("xdp_lb", GetParam());
  ASSERT_TRUE(p.ok());
  struct Val {
    uint32_t first, prog;
  };
  for (uint32_t key : {0u, 1u, 3u}) {
    const Val v{1, 0};  // lo
    ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd("backends"), &key, &v, 0),
              0);
    ASSERT_EQ(MapUpdateElem(p.emu().MapFd("backends"), &key, &v, 0), 0);
  }
  const uint32_t cpu0 = 0;
  const Val q{64, 0};
  ASSERT_EQ(bpf_map_update_elem(p.kernel().MapFd("cpus"), &cpu0, &q, 0), 0);
  ASSERT_EQ(MapUpdateElem(p.emu().MapFd("cpus"), &cpu0, &q, 0), 0);
  const uint32_t slot0 = 0;
  const uint64_t nr_backends = 4;
  ASSERT_EQ(
      bpf_map_update_elem(p.kernel().MapFd("stats"), &slot0, &nr_backends, 0),
      0);
  ASSERT_EQ(MapUpdateElem(p.emu().MapFd("stats"), &slot0, &nr_backends, 0), 0);
  std::mt19937 rng(51);
  int redirects = 0;
  for (int i = 0; i < 200; ++i) {
    const uint32_t what = rng() % 8;
    Bytes pkt;
    if (what == 0) {
      pkt = EthFrame(ETH_P_IP, 64);
      std::memset(pkt.data(), 0xff, ETH_ALEN);  // broadcast
    } else {
      pkt =
          Ipv4Frame(0x0a000000 + rng() % 4096, 0xc0a80001, 1024 + rng() % 4096,
                    80, what < 3 ? IPPROTO_TCP : IPPROTO_UDP);
    }
    p.RunPacket("lb", pkt);
    redirects += native::LastRedirect().taken;
    p.ExpectSameMaps();
  }
  EXPECT_GT(redirects, 50);
  p.RunPacket("bad_flags", EthFrame(ETH_P_IP, 64));
  p.ExpectSameMaps();
  // bpf_redirect: device in the first payload byte, flags in the second.
  for (uint8_t ifindex : {1, 2, 200}) {
    for (uint8_t flags : {0, 1, 2}) {
      Bytes pkt = EthFrame(0x88b5, 64, ifindex);
      pkt[ETH_HLEN + 1] = flags;
      p.RunPacket("to_device", pkt);
      p.RunPacket("tc_to_device", pkt);
      p.ExpectSameMaps();
    }
  }
}

// The six probe reads (probes.bpf.c `probe`) on NULL, this test's own
// strings (user memory to the kernel), an unmapped user page, the last user
// page, a non-canonical address, the kernel's hypervisor guard hole (never
// mapped), the vsyscall page, and the object's own global and stack
// (kernel memory), at sizes 0, 1, 8, 16 and 24: the same return value and
// destination bytes (0xaa before the call) on both sides. Natively a
// program's own memory is user memory too, so two kinds of case are the
// interpreter's only (native/helpers.cc): a kernel read of a mapped user
// address, and a user read of the object's own memory.
TEST_P(ExamplesCompareTest, ProbeReads) {
  Pair p("probes", GetParam());
  ASSERT_TRUE(p.ok());
  static char user_text[] = "hello user";
  static char user_empty[] = "";
  static char user_long[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  void* gone =
      mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(gone, MAP_FAILED);
  ASSERT_EQ(munmap(gone, 4096), 0);
  struct Source {
    const char* name;
    uint64_t addr;
    uint64_t kind;  // probes.bpf.c's enum source
  };
  const Source sources[] = {
      {"NULL", 0, 0},
      {"user string", reinterpret_cast<uint64_t>(user_text), 0},
      {"empty user string", reinterpret_cast<uint64_t>(user_empty), 0},
      {"long user string", reinterpret_cast<uint64_t>(user_long), 0},
      {"unmapped user page", reinterpret_cast<uint64_t>(gone), 0},
      {"page 1", 4096, 0},
      {"last user page", 0x7ffffffff000 - 4, 0},
      {"non-canonical", 0x8000000000000000, 0},
      {"guard hole", 0xffff800000000000, 0},
      {"vsyscall page", 0xffffffffff600000, 0},
      {"global", 0, 1},
      {"global + 20", 20, 1},
      {"empty global", 0, 2},
      {"stack", 0, 3},
  };
  const bool native = GetParam() == Face::kNative;
  int compared = 0, interpreter_only = 0;
  for (const Source& src : sources) {
    for (uint64_t helper = 0; helper < 6; ++helper) {
      const bool kernel_space = helper == 0 || helper == 3;
      const bool user_space = helper == 1 || helper == 4;
      const bool own_memory = src.kind != 0;
      const bool user_half =
          !own_memory && src.addr >= 4096 && src.addr < 0x7ffffffff000 + 4096;
      // Natively the object's memory is user memory and user memory kernel
      // memory (but the NULL page): the kernel's -ERANGE for a kernel read
      // of a user address, its -EFAULT for a user read of its own memory,
      // and its byte-wise kernel string copy for bpf_probe_read_str of its
      // own memory are the interpreter's only.
      if (native &&
          ((kernel_space && user_half) || (user_space && own_memory) ||
           (helper == 5 && own_memory))) {
        ++interpreter_only;
        continue;
      }
      for (uint64_t size : {0, 1, 8, 16, 24}) {
        SCOPED_TRACE(std::string(src.name) + ", helper " +
                     std::to_string(helper) + ", size " + std::to_string(size));
        p.RunRawTp("probe", {src.addr, size, helper, src.kind, 0});
        struct {
          int64_t ret;
          uint8_t buf[24];
        } k = {}, n = {};
        const uint32_t zero = 0;
        ASSERT_EQ(bpf_map_lookup_elem(p.kernel().MapFd("out"), &zero, &k), 0);
        ASSERT_EQ(MapLookupElem(p.emu().MapFd("out"), &zero, &n), 0);
        EXPECT_EQ(k.ret, n.ret);
        EXPECT_EQ(Bytes(k.buf, k.buf + 24), Bytes(n.buf, n.buf + 24));
        ++compared;
      }
    }
  }
  std::printf("probe reads: %d cases compared, %d interpreter-only skipped\n",
              compared, interpreter_only);
  EXPECT_EQ(compared + 5 * interpreter_only, 14 * 6 * 5);
}

// bpf_ringbuf_discard (probes.bpf.c `ring`): records submitted and
// discarded with 0, BPF_RB_NO_WAKEUP and BPF_RB_FORCE_WAKEUP, then the
// ring filled: the consumer (libbpf's on the kernel, bpfemu::RingBuffer on
// bpfemu) sees the submitted records only, and the record headers read
// through the mapped data pages (the discard bit included) are equal.
TEST_P(ExamplesCompareTest, RingbufDiscard) {
  Pair p("probes", GetParam());
  ASSERT_TRUE(p.ok());
  uint64_t value = 100;
  for (uint64_t flags : {uint64_t{0}, uint64_t{BPF_RB_NO_WAKEUP},
                         uint64_t{BPF_RB_FORCE_WAKEUP}}) {
    for (uint64_t discard : {0, 1, 1, 0}) {
      p.RunRawTp("ring", {value++, discard, flags});
    }
  }
  // 12 records of 72 bytes so far; the 4096-byte ring holds 56.
  for (int i = 0; i < 50; ++i) {
    p.RunRawTp("ring", {value++, static_cast<uint64_t>(i % 3 == 0), 0});
  }
  // The headers, through the mapped producer and data pages.
  const int kfd = p.kernel().MapFd("events"), nfd = p.emu().MapFd("events");
  const size_t len = 4096 + 2 * 4096;
  void* kmem = mmap(nullptr, len, PROT_READ, MAP_SHARED, kfd, 4096);
  ASSERT_NE(kmem, MAP_FAILED);
  int err = 0;
  void* nmem = MapMmap(nfd, len, PROT_READ, MAP_SHARED, 4096, &err);
  ASSERT_NE(nmem, nullptr) << err;
  auto headers = [](const void* mem) {
    const auto* base = static_cast<const uint8_t*>(mem);
    const uint64_t prod = *reinterpret_cast<const uint64_t*>(base);
    std::vector<uint32_t> out;
    for (uint64_t pos = 0; pos < prod;) {
      uint32_t hdr;
      std::memcpy(&hdr, base + 4096 + (pos & 4095), sizeof(hdr));
      out.push_back(hdr);
      pos += ((hdr & ~(3u << 30)) + 8 + 7) & ~uint64_t{7};
    }
    return out;
  };
  const std::vector<uint32_t> kh = headers(kmem), nh = headers(nmem);
  EXPECT_EQ(kh, nh);
  int discarded = 0;
  for (uint32_t h : kh) discarded += (h >> 30) & 1;
  EXPECT_EQ(kh.size(), 56u);
  EXPECT_EQ(discarded, 6 + 15);  // i % 3 == 0 for i < 44
  munmap(kmem, len);
  munmap(nmem, len);
  Records k, n;
  ring_buffer* krb = ring_buffer__new(kfd, &Records::Add, &k, nullptr);
  ASSERT_NE(krb, nullptr);
  EXPECT_EQ(ring_buffer__consume(krb), 56 - 21);
  ring_buffer__free(krb);
  auto nrb = RingBuffer::New(nfd, &Records::Add, &n, &err);
  ASSERT_NE(nrb, nullptr);
  EXPECT_EQ(nrb->Consume(), 56 - 21);
  EXPECT_EQ(k.got, n.got);
  ASSERT_FALSE(k.got.empty());
  uint64_t first;
  std::memcpy(&first, k.got[0].data(), sizeof(first));
  EXPECT_EQ(first, 100u);
}

// bpf_ringbuf_discard's wake-up flags, seen by a consumer waiting on a
// fresh, empty ring (libbpf's ring_buffer__poll on the kernel,
// bpfemu::RingBuffer::Poll on bpfemu): each step's poll result (records
// delivered, 0 on a timeout) is equal. The kernel wakes the consumer for a
// committed record by default only when it is the one the consumer waits
// at, always with BPF_RB_FORCE_WAKEUP, never with BPF_RB_NO_WAKEUP.
TEST_P(ExamplesCompareTest, RingbufDiscardWakeups) {
  Pair p("probes", GetParam());
  ASSERT_TRUE(p.ok());
  Records k, n;
  ring_buffer* krb =
      ring_buffer__new(p.kernel().MapFd("events"), &Records::Add, &k, nullptr);
  ASSERT_NE(krb, nullptr);
  int err = 0;
  auto nrb = RingBuffer::New(p.emu().MapFd("events"), &Records::Add, &n, &err);
  ASSERT_NE(nrb, nullptr);
  struct Step {
    const char* what;
    uint64_t discard;
    uint64_t flags;
    int timeout_ms;
  };
  const Step steps[] = {
      {"submit, no wake-up", 0, BPF_RB_NO_WAKEUP, 50},
      {"discard, forced", 1, BPF_RB_FORCE_WAKEUP, 500},
      {"submit, consumer caught up", 0, 0, 500},
      {"submit, no wake-up again", 0, BPF_RB_NO_WAKEUP, 50},
      {"discard, not the awaited record", 1, 0, 50},
      {"discard, forced again", 1, BPF_RB_FORCE_WAKEUP, 500},
      {"discard, consumer caught up", 1, 0, 500},
  };
  uint64_t value = 1;
  for (const Step& s : steps) {
    SCOPED_TRACE(s.what);
    p.RunRawTp("ring", {value++, s.discard, s.flags});
    const int kgot = ring_buffer__poll(krb, s.timeout_ms);
    const int ngot = nrb->Poll(s.timeout_ms);
    EXPECT_EQ(kgot, ngot);
  }
  ring_buffer__free(krb);
  EXPECT_EQ(k.got, n.got);
  EXPECT_EQ(k.got.size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Faces, ExamplesCompareTest,
                         testing::Values(Face::kNative, Face::kBytecode),
                         FaceName);

}  // namespace
}  // namespace bpfemu::examples
