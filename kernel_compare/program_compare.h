// SPDX-License-Identifier: Apache-2.0
// File: program_compare.h
//
// bpfemu::compare: differential runs of a user's own BPF object (issue 27).
// One `clang -target bpf` object is loaded on two sides - the running kernel
// (through real libbpf, as root) and/or the emulator at a chosen kernel
// version (loader/object.h's bytecode objects, emu/version.h) - and a list
// of inputs runs through BPF_PROG_TEST_RUN on both (net/bpf/test_run.c:
// bpf_prog_test_run_xdp / _skb for packet programs, _raw_tp for raw
// tracepoint and tracing programs). After every input the return value,
// the test-run error, data_out, every map's full contents and the ring
// buffer records are compared. The first difference is reported, the input
// list is shrunk by delta debugging to a minimal failing one, and a replay
// file is written that ReadReplay() / `bpfemu compare --replay` re-run.
//
//   bpfemu::compare::Options o;
//   o.object = "tests/examples/flow_lru.bpf.o";
//   o.sides = {Side::Kernel(), Side::Emulator(KernelVersion::k6_18)};
//   Result r = bpfemu::compare::Run(o, inputs);
//   EXPECT_TRUE(r.identical()) << r.Report();
//
// Map contents (kernel/bpf/syscall.c map_get_next_key / map_lookup_elem):
//   * ARRAY, PERCPU_ARRAY, LPM_TRIE and the global-data maps keep the order
//     the kernel walks them in (index order; the trie's post-order walk);
//     hash types are compared as sets of (key, value).
//   * per-CPU values are compared slot by slot (every possible CPU);
//   * QUEUE and STACK are drained and pushed back in the same order;
//   * PROG_ARRAY, the map-in-map types and the socket maps hold fds or ids,
//     which differ between the sides: their keys are compared, not values;
//   * RINGBUF records are consumed after each input and compared in order;
//   * PERF_EVENT_ARRAY, USER_RINGBUF, BLOOM_FILTER (no keys to walk) and
//     STACK_TRACE (kernel addresses) are not compared; Result::skipped_maps
//     names them.

#ifndef BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_H_
#define BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "emu/version.h"

namespace bpfemu::compare {

// One input: packet bytes for packet programs, a context blob (the u64
// argument array) for raw tracepoint and tracing programs.
struct Input {
  std::vector<uint8_t> data;
  std::string origin;  // where it came from ("trace.pcap#3"), for reports
};

struct Side {
  bool kernel = false;
  KernelVersion version = KernelVersion::k6_18;  // the emulator's setting
  static Side Kernel() { return Side{true, KernelVersion::k6_18}; }
  static Side Emulator(KernelVersion v) { return Side{false, v}; }
  std::string Name() const;  // "kernel", "emu-6.1"
};

// Test-only: an emulator change behind a switch. Before the emulator side
// of `side_index` dumps `map` after an input whose first byte is `marker`,
// one lookup of that map fails (bpfemu::InjectFaults), so the dump loses a
// key the other side still has.
struct PlantedFault {
  int side_index = 1;
  std::string map;
  uint8_t marker = 0;
};

struct Options {
  std::string object;                 // path of the .bpf.o
  std::vector<std::string> programs;  // empty: every program in the object
  // Default: the running kernel against the emulator at the target
  // version (emu/version.h TargetKernel: BPFEMU_KERNEL, else 6.18), so
  // that a test run in a QEMU guest with BPFEMU_KERNEL set to the guest's
  // version compares like versions.
  std::vector<Side> sides = {Side::Kernel(), Side::Emulator(TargetKernel())};
  int repeat = 1;  // test runs per input and program
  // Maps compared after every check_every-th input and after the last (the
  // results of every run are always compared).
  int check_every = 1;
  // Maps left out of the comparison (a program's own nondeterminism:
  // timestamps, kernel stack ids).
  std::vector<std::string> ignore_maps;
  int cpu = 0;  // both sides run pinned to this CPU
  bool shrink = true;
  double shrink_seconds = 60;  // the shrinking's time budget
  std::string replay_path;     // written on a difference when not empty
  std::optional<PlantedFault> plant;
  // Called after every input with (inputs done, inputs in all).
  std::function<void(size_t, size_t)> progress;
};

// The first thing that differed.
struct Difference {
  size_t input_index = 0;  // in the list that was run
  std::string program;
  // "fault" (the emulator's interpreter stopped a run), "err", "retval",
  // "data_out", "map", "ringbuf", "perf buffer" (a perf record: the CPU,
  // 4 bytes, the top bit set for a lost count, then the raw sample or the
  // 8-byte count)
  std::string what;
  std::string map;  // for "map", "ringbuf" and "perf buffer"
  std::string key;  // hex, for "map" ("" for a whole-map difference)
  std::string a_value, b_value;  // hex or text, "(missing)" when absent
  std::string Describe(const std::vector<Side>& sides) const;
};

struct Result {
  std::string error;  // setup failure (load, unknown program); empty if ok
  size_t inputs_run = 0;
  uint64_t runs = 0;  // program test runs per side
  // Ring buffer records and perf buffer samples (and lost counts) the
  // first side produced and the others were compared with.
  uint64_t records = 0;
  double seconds = 0;
  std::vector<std::string> compared_maps, skipped_maps;
  std::optional<Difference> first;
  // After shrinking: the indexes (into the original list) of a minimal
  // failing input list, and the replay file written (if any).
  std::vector<size_t> shrunk;
  bool shrink_complete = false;  // false: a budget ran out first
  std::string replay_file;
  bool identical() const { return error.empty() && !first.has_value(); }
  std::string Report(const Options& o) const;  // human-readable, multi-line
  std::string Json(const Options& o) const;    // one JSON object
};

// Empty when every side of `o` can run; else a one-line reason (no bpf()
// permission for a kernel side).
std::string Unavailable(const Options& o);

// Runs `inputs` on every side; shrinks and writes the replay file on a
// difference (per o.shrink / o.replay_path).
Result Run(const Options& o, const std::vector<Input>& inputs);

// Replay files: the options and the input list of a (shrunk) run.
bool WriteReplay(const std::string& path, const Options& o,
                 const std::vector<Input>& inputs, std::string* error);
bool ReadReplay(const std::string& path, Options* o, std::vector<Input>* inputs,
                std::string* error);

// Input files: a classic pcap file (one input per packet; both byte orders,
// microsecond and nanosecond magic) or, for anything else, the raw bytes of
// the file as one input.
bool ReadInputFile(const std::string& path, std::vector<Input>* out,
                   std::string* error);

}  // namespace bpfemu::compare

#endif  // BPFEMU_KERNEL_COMPARE_PROGRAM_COMPARE_H_
