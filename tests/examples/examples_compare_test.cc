// SPDX-License-Identifier: Apache-2.0
// Differential: every example runs in the kernel (its clang -target bpf
// object through libbpf and bpf_prog_test_run_opts) and in bpfemu with
// identical inputs, pinned to the same CPUs, for both of bpfemu's faces:
// Native (the same source built by the host compiler) and Bytecode (the very
// .bpf.o the kernel ran, in the interpreter). Return values, packet output,
// the full contents of every map and the ring buffer records must be equal.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "emu/perf_buffer.h"
#include "emu/prog.h"
#include "emu/ringbuf_consumer.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
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
  Pair(const std::string& name, Face face) : name_(name) {
    const std::string path = "tests/examples/" + name + ".bpf.o";
    kernel_err_ = KernelObject::Load(path, &kernel_);
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
  void ExpectSameMaps() {
    for (const std::string& name : native_->MapNames()) {
      auto m = native_->FindMap(name);
      // Ring buffers are compared by their records, and fd-valued maps
      // hold ids, which differ between the sides.
      if (m->type() == BPF_MAP_TYPE_RINGBUF ||
          m->type() == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
          m->type() == BPF_MAP_TYPE_PROG_ARRAY ||
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

TEST_P(ExamplesCompareTest, TailCalls) {
  Pair p("tail_calls", GetParam());
  ASSERT_TRUE(p.ok());
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

INSTANTIATE_TEST_SUITE_P(Faces, ExamplesCompareTest,
                         testing::Values(Face::kNative, Face::kBytecode),
                         FaceName);

}  // namespace
}  // namespace bpfemu::examples
