// SPDX-License-Identifier: Apache-2.0
// bpfemu::compare (program_compare.h) against the running kernel (root):
// example programs covering ARRAY, PERCPU_ARRAY, PERCPU_HASH, LRU_HASH,
// LPM_TRIE, HASH and RINGBUF are identical on these inputs, and a planted
// difference is found, shrunk to its one input and replayed.

#include <linux/if_ether.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "emu/cpu.h"
#include "gtest/gtest.h"
#include "kernel_compare/program_compare.h"
#include "kernel_compare/program_compare_testutil.h"
#include "testing/kernel_test.h"

namespace bpfemu::compare {
namespace {

using testutil::Ctx;
using testutil::FlowPackets;
using testutil::Obj;
using testutil::TempPath;
using testutil::WritePcap;

// ---- The kernel against the emulator (root). ----

class ProgramCompareKernelTest : public KernelTest<> {};

// LRU_HASH under XDP: 300 packets of 40 flows from a pcap file, so the
// 16-entry table evicts all along.
TEST_F(ProgramCompareKernelTest, FlowLruFromPcapIsIdentical) {
  const std::string pcap = TempPath("flows.pcap");
  WritePcap(pcap, FlowPackets(300, 40));
  std::vector<Input> inputs;
  std::string err;
  ASSERT_TRUE(ReadInputFile(pcap, &inputs, &err)) << err;
  ASSERT_EQ(inputs.size(), 300u);
  Options o;
  o.object = Obj("flow_lru");
  const Result r = compare::Run(o, inputs);
  EXPECT_TRUE(r.identical()) << r.Report(o);
  EXPECT_EQ(r.inputs_run, 300u);
  EXPECT_EQ(r.compared_maps, std::vector<std::string>{"flows"});
}

// ARRAY (tc), PERCPU_ARRAY + PERCPU_HASH (XDP on each CPU), LPM_TRIE with
// two programs per input, HASH and RINGBUF from raw tracepoints.
TEST_F(ProgramCompareKernelTest, ExamplesAreIdentical) {
  std::vector<Input> frames;
  for (size_t len : {14, 15, 33, 60, 64, 100, 500, 1514, 3712, 3713}) {
    frames.push_back(Input{testutil::EthFrame(ETH_P_IP, len), ""});
    frames.push_back(Input{testutil::EthFrame(ETH_P_ARP, len), ""});
  }
  Options o;
  o.object = Obj("histogram");
  Result r = compare::Run(o, frames);
  EXPECT_TRUE(r.identical()) << r.Report(o);

  for (int cpu = 0; cpu < std::min(2, NumPossibleCpus()); ++cpu) {
    o.object = Obj("percpu_bytes");
    o.cpu = cpu;
    r = compare::Run(o, frames);
    EXPECT_TRUE(r.identical()) << r.Report(o);
  }
  o.cpu = 0;

  // learn (port 1 adds a /24 rule, port 2 deletes it) then filter.
  std::vector<Input> lpm;
  for (int i = 0; i < 60; ++i) {
    lpm.push_back(
        Input{testutil::Ipv4Frame(0x0a000000 + (i % 7) * 0x100 + i, 0x0a000101,
                                  5, 1 + (i % 3), IPPROTO_UDP),
              ""});
  }
  o.object = Obj("lpm_firewall");
  o.programs = {"learn", "filter"};
  r = compare::Run(o, lpm);
  EXPECT_TRUE(r.identical()) << r.Report(o);
  EXPECT_EQ(r.runs, 120u);
  o.programs.clear();

  std::vector<Input> ctxs;
  for (uint64_t nr : {0, 59, 322, 1, 59, 59, 322}) ctxs.push_back(Ctx(0, nr));
  o.object = Obj("execve_events");
  r = compare::Run(o, ctxs);
  EXPECT_TRUE(r.identical()) << r.Report(o);
  EXPECT_EQ(r.compared_maps, std::vector<std::string>{"events"});

  o.object = Obj("counter");
  o.repeat = 3;
  r = compare::Run(o, ctxs);
  EXPECT_TRUE(r.identical()) << r.Report(o);
  EXPECT_EQ(r.runs, 21u);
}

// The other examples a test run can drive: QUEUE/STACK (work_queue),
// PROG_ARRAY tail calls, helpers with a
// map-in-map and BPF_F_LOCK values, and stack_profiler. Maps holding a
// program's own nondeterminism are left out: helpers' `samples` (time
// stamps), stack_profiler's stack ids and traces (kernel addresses).
TEST_F(ProgramCompareKernelTest, MoreExamplesAreIdentical) {
  std::vector<Input> inputs = FlowPackets(60, 12);
  for (uint64_t nr : {0, 59, 322, 1}) inputs.push_back(Ctx(0, nr));
  for (uint64_t a : {0ull, 7ull, 0x8000000000000000ull, ~0ull}) {
    inputs.push_back(Ctx(a, a * 3 + 1));
  }
  struct Case {
    const char* object;
    std::vector<std::string> ignore;
  };
  for (const Case& c : std::vector<Case>{
           {"work_queue", {}},
           {"tail_calls", {}},
           {"helpers", {"samples"}},
           {"stack_profiler", {"counts", "last_id"}},
       }) {
    Options o;
    o.object = Obj(c.object);
    o.ignore_maps = c.ignore;
    o.shrink = false;
    const Result r = compare::Run(o, inputs);
    EXPECT_TRUE(r.identical()) << r.Report(o);
    EXPECT_EQ(r.inputs_run, inputs.size()) << c.object;
  }
}

// The benchmark programs (bench/*.bpf.c): map_ops' nine tc programs over
// HASH, ARRAY, PERCPU_ARRAY, LRU_HASH, LPM_TRIE and a chain (maps checked
// every 20 inputs: its maps hold 1024 entries each), scaling's walk, and
// the ring buffer and perf buffer producers (zero-sized records while
// their cfg maps are zero).
TEST_F(ProgramCompareKernelTest, BenchProgramsAreIdentical) {
  const std::vector<Input> packets = FlowPackets(40, 10);
  struct Case {
    const char* object;
    int check_every;
    uint64_t records;  // ring/perf records produced per side
  };
  for (const Case& c : std::vector<Case>{{"map_ops", 20, 0},
                                         {"scaling", 1, 0},
                                         {"ringbuf_bench", 1, 40},
                                         {"perf_buffer_bench", 1, 40}}) {
    Options o;
    o.object = std::string("bench/") + c.object + ".bpf.o";
    o.check_every = c.check_every;
    o.shrink = false;
    const Result r = compare::Run(o, packets);
    EXPECT_TRUE(r.identical()) << r.Report(o);
    EXPECT_EQ(r.inputs_run, packets.size()) << c.object;
    EXPECT_EQ(r.records, c.records) << c.object;
  }
}

// PERF_EVENT_ARRAY: perf_events sends 0..255 bytes through
// bpf_perf_event_output with BPF_F_CURRENT_CPU, an index, an out-of-range
// index and bad flags; the samples each side's perf buffer reads (their
// CPU, bytes and the kernel's padding) and the results counters agree.
TEST_F(ProgramCompareKernelTest, PerfBufferSamplesAreIdentical) {
  std::vector<Input> ctxs;
  const uint64_t kCurrentCpu = BPF_F_CURRENT_CPU;
  for (uint64_t size : {0, 1, 3, 4, 5, 8, 60, 255}) {
    ctxs.push_back(Ctx(kCurrentCpu, size));
  }
  ctxs.push_back(Ctx(0, 16));          // CPU 0's slot: the run is on CPU 0
  ctxs.push_back(Ctx(1000, 16));       // past max_entries: E2BIG
  ctxs.push_back(Ctx(1ull << 40, 8));  // unknown flag bits: EINVAL
  Options o;
  o.object = Obj("perf_events");
  o.shrink = false;
  const Result r = compare::Run(o, ctxs);
  EXPECT_TRUE(r.identical()) << r.Report(o);
  EXPECT_EQ(r.compared_maps,
            (std::vector<std::string>{"source", "events", "results"}));
  // The eight BPF_F_CURRENT_CPU sends and the one to CPU 0's slot.
  EXPECT_EQ(r.records, 9u);
}

// bpf_prog_test_run_raw_tp refuses a context shorter than the verifier's
// max_ctx_offset (execve_events reads args[1]: 16 bytes) or longer than 12
// u64s with EINVAL; the emulator side must answer the same for each size.
TEST_F(ProgramCompareKernelTest, RawTpContextSizesAnswerAsTheKernel) {
  std::vector<Input> ctxs;
  for (size_t n : {0, 3, 8, 12, 15, 16, 17, 24, 96, 97, 104, 200}) {
    Input in;
    in.data.assign(n, 0);
    if (n >= 16) in.data[8] = 59;  // execve: a ring buffer record
    ctxs.push_back(in);
  }
  Options o;
  o.shrink = false;
  for (const char* name : {"execve_events", "counter"}) {
    o.object = Obj(name);
    const Result r = compare::Run(o, ctxs);
    EXPECT_TRUE(r.identical()) << r.Report(o);
    EXPECT_EQ(r.inputs_run, ctxs.size()) << name;
  }
}

// The planted difference against the kernel: found at the marked input,
// shrunk to it alone, replayed from the file.
TEST_F(ProgramCompareKernelTest, PlantedDifferenceIsFoundShrunkAndReplayed) {
  std::vector<Input> inputs = FlowPackets(50, 10);
  inputs[37].data[0] = 0xee;  // the destination MAC's first byte
  Options o;
  o.object = Obj("flow_lru");
  o.plant = PlantedFault{1, "flows", 0xee};
  o.replay_path = TempPath("planted-kernel.replay");
  const Result r = compare::Run(o, inputs);
  ASSERT_TRUE(r.first.has_value()) << r.Report(o);
  EXPECT_EQ(r.first->input_index, 37u);
  EXPECT_EQ(r.shrunk, std::vector<size_t>{37});
  Options again;
  std::vector<Input> replayed;
  std::string err;
  ASSERT_TRUE(ReadReplay(r.replay_file, &again, &replayed, &err)) << err;
  ASSERT_EQ(replayed.size(), 1u);
  EXPECT_EQ(replayed[0].data, inputs[37].data);
  const Result r2 = compare::Run(again, replayed);
  ASSERT_TRUE(r2.first.has_value());
  EXPECT_EQ(r2.first->input_index, 0u);
  EXPECT_EQ(r2.first->map, "flows");
}

}  // namespace
}  // namespace bpfemu::compare
