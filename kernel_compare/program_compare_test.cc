// SPDX-License-Identifier: Apache-2.0
// bpfemu::compare (program_compare.h) on the emulator alone, for any user:
// the 6.1 / 6.18 LRU refill difference of an example program, a planted
// difference found, shrunk to its one input and replayed, setup errors,
// and the pcap and replay parsers on good and bad files.

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

namespace bpfemu::compare {
namespace {

using Bytes = std::vector<uint8_t>;
using testutil::Emulators;
using testutil::FlowPackets;
using testutil::Obj;
using testutil::TempPath;
using testutil::WritePcap;

// ---- The emulator alone (any user). ----

// The common LRU's refill: 6.1 moves a fixed 128 nodes, 6.12 and 6.18
// clamp(max_entries / ncpu / 2, 1, 128) (docs/differential.md). A 16-entry
// flow table on 6.1 drops back to few keys at its first eviction; the
// minimal input list is the 16 packets that fill it and the 17th flow.
TEST(ProgramCompareEmulatorTest, LruRefillDiffersBetween61And618) {
  const std::vector<Input> inputs = FlowPackets(300, 40);
  Options o = Emulators("flow_lru", KernelVersion::k6_1, KernelVersion::k6_18);
  o.replay_path = TempPath("lru-6.1.replay");
  const Result r = compare::Run(o, inputs);
  ASSERT_TRUE(r.first.has_value()) << r.Report(o);
  EXPECT_EQ(r.first->what, "map");
  EXPECT_EQ(r.first->map, "flows");
  EXPECT_EQ(r.first->a_value, "(missing)");  // 6.1 evicted more keys
  EXPECT_EQ(r.shrunk.size(), 17u) << r.Report(o);
  // The shrunk list holds 17 distinct flows.
  std::set<std::string> flows;
  for (size_t i : r.shrunk) flows.insert(inputs[i].origin);
  EXPECT_EQ(flows.size(), 17u);

  // 6.12 has the 6.18 formula (a stable backport): identical.
  const Options same =
      Emulators("flow_lru", KernelVersion::k6_12, KernelVersion::k6_18);
  const Result r2 = compare::Run(same, inputs);
  EXPECT_TRUE(r2.identical()) << r2.Report(same);
  EXPECT_EQ(r2.runs, 300u);
}

TEST(ProgramCompareEmulatorTest, PlantedDifferenceIsFoundShrunkAndReplayed) {
  std::vector<Input> inputs = FlowPackets(50, 10);
  inputs[37].data[0] = 0xee;
  Options o = Emulators("flow_lru", KernelVersion::k6_18, KernelVersion::k6_18);
  o.plant = PlantedFault{1, "flows", 0xee};
  o.replay_path = TempPath("planted.replay");
  const Result r = compare::Run(o, inputs);
  ASSERT_TRUE(r.first.has_value()) << r.Report(o);
  EXPECT_EQ(r.first->input_index, 37u);
  EXPECT_EQ(r.first->b_value, "(missing)");
  EXPECT_EQ(r.shrunk, std::vector<size_t>{37});
  EXPECT_NE(r.Report(o).find("shrunk to 1 input(s): 37"), std::string::npos)
      << r.Report(o);
  EXPECT_NE(r.Json(o).find("\"identical\":false"), std::string::npos);

  Options again;
  std::vector<Input> replayed;
  std::string err;
  ASSERT_TRUE(ReadReplay(r.replay_file, &again, &replayed, &err)) << err;
  EXPECT_FALSE(again.shrink);
  ASSERT_EQ(replayed.size(), 1u);
  const Result r2 = compare::Run(again, replayed);
  ASSERT_TRUE(r2.first.has_value()) << r2.Report(again);
  // With one input the map holds one key: the one the planted fault hides.
  EXPECT_EQ(r2.first->map, "flows");
  EXPECT_EQ(r2.first->b_value, "(missing)");

  // Without the switch the same inputs are identical.
  o.plant.reset();
  EXPECT_TRUE(compare::Run(o, inputs).identical());
}

// A run the interpreter stops is a difference even when both sides stop
// alike: the kernel's verifier would not have loaded the program.
TEST(ProgramCompareEmulatorTest, StoppedRunsAreDifferences) {
  Options o = Emulators("flow_lru", KernelVersion::k6_18, KernelVersion::k6_1);
  o.object = "kernel_compare/unverifiable.bpf.o";
  const Result r = compare::Run(o, FlowPackets(3, 3));
  ASSERT_TRUE(r.first.has_value()) << r.Report(o);
  EXPECT_EQ(r.first->what, "fault");
  EXPECT_EQ(r.first->input_index, 0u);
  EXPECT_FALSE(r.first->a_value.empty());
  EXPECT_EQ(r.shrunk, std::vector<size_t>{0});
}

TEST(ProgramCompareEmulatorTest, SetupErrorsAreReported) {
  Options o = Emulators("flow_lru", KernelVersion::k6_18, KernelVersion::k6_1);
  o.programs = {"no_such_program"};
  Result r = compare::Run(o, FlowPackets(2, 2));
  EXPECT_NE(r.error.find("no program no_such_program"), std::string::npos);
  o.programs.clear();
  o.object = "tests/examples/missing.bpf.o";
  r = compare::Run(o, FlowPackets(2, 2));
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.identical());
  o.object = Obj("flow_lru");
  o.repeat = 0;
  EXPECT_FALSE(compare::Run(o, {}).error.empty());
}

// ---- Input files and replay files. ----

TEST(ProgramCompareFilesTest, PcapBothByteOrdersAndRawFiles) {
  const std::vector<Input> pk = FlowPackets(5, 3);
  for (bool be : {false, true}) {
    const std::string path = TempPath(be ? "be.pcap" : "le.pcap");
    WritePcap(path, pk, be);
    std::vector<Input> in;
    std::string err;
    ASSERT_TRUE(ReadInputFile(path, &in, &err)) << err;
    ASSERT_EQ(in.size(), 5u);
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(in[i].data, pk[i].data);
    EXPECT_EQ(in[4].origin, path + "#4");
  }
  const std::string raw = TempPath("raw.bin");
  std::ofstream(raw, std::ios::binary) << "hello";
  std::vector<Input> in;
  std::string err;
  ASSERT_TRUE(ReadInputFile(raw, &in, &err)) << err;
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].data, (Bytes{'h', 'e', 'l', 'l', 'o'}));
}

TEST(ProgramCompareFilesTest, BadPcapsAreRefused) {
  const std::string path = TempPath("bad.pcap");
  WritePcap(path, FlowPackets(3, 3));
  std::string whole;
  {
    std::ifstream f(path, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto refused = [&](const std::string& bytes, const char* why) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    std::vector<Input> in;
    std::string err;
    EXPECT_FALSE(ReadInputFile(path, &in, &err)) << why;
    EXPECT_FALSE(err.empty()) << why;
  };
  refused(whole.substr(0, whole.size() - 1), "a packet cut short");
  refused(whole.substr(0, 24 + 10), "a record header cut short");
  std::string huge = whole;
  const uint32_t big = 0xffffffff;
  std::memcpy(&huge[24 + 8], &big, 4);
  refused(huge, "a length past the file");
  std::string linktype = whole;
  linktype[20] = 113;  // LINKTYPE_LINUX_SLL
  refused(linktype, "not Ethernet");
  std::vector<Input> none;
  EXPECT_FALSE(ReadInputFile(TempPath("does-not-exist"), &none, &whole));
}

TEST(ProgramCompareFilesTest, BadReplayFilesAreRefused) {
  const std::string path = TempPath("bad.replay");
  auto refused = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
    Options o;
    std::vector<Input> in;
    std::string err;
    EXPECT_FALSE(ReadReplay(path, &o, &in, &err)) << text;
    EXPECT_FALSE(err.empty());
  };
  const std::string head = "bpfemu-compare-replay 1\nobject x.bpf.o\n";
  refused("");
  refused("something else\n");
  refused(head + "side emu 6.1\n");                          // one side
  refused(head + "side emu 5.15\nside kernel\n");            // version
  refused(head + "side kernel\nside emu 6.1\ninput 0g\n");   // hex
  refused(head + "side kernel\nside emu 6.1\ninput 012\n");  // odd
  refused(head + "side kernel\nside emu 6.1\nrepeat 0\n");
  refused(head + "side kernel\nside emu 6.1\ncpu 99999\n");
  refused(head + "side kernel\nside emu 6.1\nplant 2 m 1\n");
  refused(head + "side kernel\nside emu 6.1\nbogus\n");
  refused(head + "side kernel\nside emu 6.1\ncheck_every 0\n");
  std::ofstream(path, std::ios::trunc)
      << head << "side kernel\nside emu 6.12\nprogram p\nrepeat 4\n"
      << "check_every 5\nignore m1\nignore m2\n"
      << "input 0aff origin\ninput -\n";
  Options o;
  std::vector<Input> in;
  std::string err;
  ASSERT_TRUE(ReadReplay(path, &o, &in, &err)) << err;
  EXPECT_EQ(o.object, "x.bpf.o");
  ASSERT_EQ(o.sides.size(), 2u);
  EXPECT_TRUE(o.sides[0].kernel);
  EXPECT_EQ(o.sides[1].version, KernelVersion::k6_12);
  EXPECT_EQ(o.repeat, 4);
  EXPECT_EQ(o.check_every, 5);
  EXPECT_EQ(o.ignore_maps, (std::vector<std::string>{"m1", "m2"}));
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0].data, (Bytes{0x0a, 0xff}));
  EXPECT_EQ(in[0].origin, "origin");
  EXPECT_TRUE(in[1].data.empty());
}

}  // namespace
}  // namespace bpfemu::compare
