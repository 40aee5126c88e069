// SPDX-License-Identifier: Apache-2.0
// kernel_compare: the differential comparison of bpfemu against the kernel.
//
// 1. Runs every conformance case on the emulator and on the kernel, and
//    counts a divergence wherever the two backends disagree.
// 2. Runs seeded random operation sequences on both backends in lockstep,
//    comparing every result and, at checkpoints, the whole map; a divergence
//    is shrunk to a minimal trace and written to a replay file.
// 3. Prints a table per map type and exits non-zero on any divergence or
//    failed case.
//
// Without bpf() permission it runs the emulator alone and says so first.
//
//   kernel_compare [--seed=N] [--ops=N] [--replay=FILE]
//
// A campaign is a list of sequences numbered 0, 1, ... (each with a seed
// derived from --seed and its number). --jobs=N runs them in N processes
// (the kernel backend is not thread-safe; processes are independent), and
// --shard_index / --shard_count (or Bazel's TEST_SHARD_INDEX /
// TEST_TOTAL_SHARDS) keep only every shard_count-th sequence, so shards on
// different machines together run exactly the unsharded campaign.

#include <linux/bpf.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "emu/build_profile.h"
#include "emu/kernel_btf.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "kernel_compare/differ.h"
#include "kernel_compare/memlock_compare.h"
#include "testing/calibrate.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"
#include "tests/conformance/all_suites.h"

ABSL_FLAG(uint64_t, seed, 1, "seed of the random operation sequences");
ABSL_FLAG(uint64_t, ops, 2000, "operations per random sequence");
ABSL_FLAG(std::string, types, "",
          "comma-separated map types for the random sequences (e.g. "
          "HASH,LRU_HASH); empty: every type");
ABSL_FLAG(uint64_t, sequences, 1,
          "random sequences per map configuration (each with its own seed)");
ABSL_FLAG(bool, conformance, true, "run the conformance suite first");
ABSL_FLAG(bool, memlock, true,
          "compare every type's memlock charge with the kernel's");
ABSL_FLAG(std::string, json, "", "write a JSON report to this path");
ABSL_FLAG(uint64_t, creates, 300,
          "random BPF_MAP_CREATE attribute sets (valid and invalid) compared "
          "by their result");
ABSL_FLAG(int, jobs, 1, "processes running random sequences in parallel");
ABSL_FLAG(int, shard_index, -1,
          "run only sequences n with n % shard_count == shard_index "
          "(default: TEST_SHARD_INDEX, else 0)");
ABSL_FLAG(int, shard_count, -1,
          "number of shards (default: TEST_TOTAL_SHARDS, else 1)");
ABSL_FLAG(std::string, replay, "",
          "replay one trace file on both backends instead of the full run");

namespace bpfemu {

INSTANTIATE_CONFORMANCE_SUITES(Emu, EmuBackend);
INSTANTIATE_CONFORMANCE_SUITES(Kernel, KernelBackend);

namespace {

enum class Outcome { kPassed, kFailed, kSkipped };

// Collects each case's outcome, keyed by (backend, suite, case), and prints
// failing assertions as they happen.
class Tally : public testing::EmptyTestEventListener {
 public:
  struct Key {
    std::string backend, suite, test;
    bool operator<(const Key& o) const {
      return std::tie(backend, suite, test) <
             std::tie(o.backend, o.suite, o.test);
    }
  };

  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.failed()) {
      std::printf("  FAIL %s.%s %s:%d\n    %s\n", current_suite_.c_str(),
                  current_test_.c_str(), r.file_name() ? r.file_name() : "?",
                  r.line_number(), r.summary());
    }
  }
  void OnTestStart(const testing::TestInfo& info) override {
    current_suite_ = info.test_suite_name();
    current_test_ = info.name();
  }
  void OnTestEnd(const testing::TestInfo& info) override {
    // Suite names are "<Backend>/<Suite>/0".
    std::string full = info.test_suite_name();
    size_t a = full.find('/'), b = full.rfind('/');
    Key key{full.substr(0, a), full.substr(a + 1, b - a - 1), info.name()};
    const testing::TestResult* r = info.result();
    outcomes_[key] = r->Skipped()  ? Outcome::kSkipped
                     : r->Failed() ? Outcome::kFailed
                                   : Outcome::kPassed;
  }

  const std::map<Key, Outcome>& outcomes() const { return outcomes_; }

 private:
  std::string current_suite_, current_test_;
  std::map<Key, Outcome> outcomes_;
};

struct Row {
  int emu_pass = 0, emu_total = 0;
  int kernel_pass = 0, kernel_total = 0, kernel_skipped = 0;
  uint64_t ops = 0;
  uint64_t creates = 0;  // random BPF_MAP_CREATE attribute sets of the type
  int divergences = 0;
  double seconds = 0;  // lockstep time of the random sequences
};

// Whether `type` is selected by --types (case-insensitive names).
bool TypeSelected(const std::string& types, const std::string& type) {
  if (types.empty()) return true;
  for (absl::string_view t : absl::StrSplit(types, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), type)) {
      return true;
    }
  }
  return false;
}

// Every map type the emulator has (emu/map_types.cc), in the table's
// order: one row each, whether or not anything ran for it.
struct TypeRow {
  uint32_t type;
  const char* name;
  const char* elsewhere = "";  // lockstep tests outside this job
};
constexpr TypeRow kEmulatedTypes[] = {
    {BPF_MAP_TYPE_HASH, "HASH", "order_compare_test"},
    {BPF_MAP_TYPE_ARRAY, "ARRAY"},
    {BPF_MAP_TYPE_PERCPU_HASH, "PERCPU_HASH"},
    {BPF_MAP_TYPE_PERCPU_ARRAY, "PERCPU_ARRAY"},
    {BPF_MAP_TYPE_LRU_HASH, "LRU_HASH", "lru_compare_test"},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, "LRU_PERCPU_HASH", "lru_compare_test"},
    {BPF_MAP_TYPE_LPM_TRIE, "LPM_TRIE"},
    {BPF_MAP_TYPE_QUEUE, "QUEUE"},
    {BPF_MAP_TYPE_STACK, "STACK"},
    {BPF_MAP_TYPE_BLOOM_FILTER, "BLOOM_FILTER"},
    {BPF_MAP_TYPE_STACK_TRACE, "STACK_TRACE"},
    {BPF_MAP_TYPE_RINGBUF, "RINGBUF", "ringbuf_compare_test"},
    {BPF_MAP_TYPE_USER_RINGBUF, "USER_RINGBUF", "user_ringbuf_compare_test"},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, "PERF_EVENT_ARRAY"},
    {BPF_MAP_TYPE_PROG_ARRAY, "PROG_ARRAY", "examples_compare_test"},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, "ARRAY_OF_MAPS",
     "map_in_map_pin_compare_test"},
    {BPF_MAP_TYPE_HASH_OF_MAPS, "HASH_OF_MAPS", "map_in_map_pin_compare_test"},
    {BPF_MAP_TYPE_SOCKMAP, "SOCKMAP", "tests/dropin transcript"},
    {BPF_MAP_TYPE_DEVMAP, "DEVMAP", "selftests_test devmap"},
    {BPF_MAP_TYPE_DEVMAP_HASH, "DEVMAP_HASH", "selftests_test devmap_hash"},
    {BPF_MAP_TYPE_CPUMAP, "CPUMAP", "examples_compare_test XdpLoadBalancer"},
    {BPF_MAP_TYPE_SOCKHASH, "SOCKHASH", "tests/dropin transcript"},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "REUSEPORT_SOCKARRAY",
     "tests/selftests reuseport_array"},
    {BPF_MAP_TYPE_XSKMAP, "XSKMAP"},
    {BPF_MAP_TYPE_CGROUP_ARRAY, "CGROUP_ARRAY", "examples_compare_test"},
    {BPF_MAP_TYPE_CGROUP_STORAGE, "CGROUP_STORAGE", "examples_compare_test"},
    {BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, "PERCPU_CGROUP_STORAGE",
     "examples_compare_test"},
    {BPF_MAP_TYPE_SK_STORAGE, "SK_STORAGE", "sk_counter_compare_test"},
    {BPF_MAP_TYPE_TASK_STORAGE, "TASK_STORAGE", "task_state_compare_test"},
    {BPF_MAP_TYPE_INODE_STORAGE, "INODE_STORAGE"},
    {kBpfMapTypeCgrpStorage, "CGRP_STORAGE"},
    {BPF_MAP_TYPE_STRUCT_OPS, "STRUCT_OPS"},
    {kBpfMapTypeArena, "ARENA"},
};
// Random creates of types the emulator does not have (UNSPEC, unknown
// numbers, types it refuses): their own row under the types. (Row keys
// have no spaces: --jobs workers pass rows back as words.)
constexpr char kOtherTypes[] = "OTHER";

std::string TypeRowName(uint32_t type) {
  for (const TypeRow& t : kEmulatedTypes) {
    if (t.type == type) return t.name;
  }
  return kOtherTypes;
}

// Conformance suites that span several types, listed under the per-type
// rows with a tag; "covers" are the types named in each type's "also in"
// column (empty: every type).
struct SpanningSuite {
  const char* tag;
  const char* suite;
  const char* what;
  std::vector<std::string> covers;
};
const std::vector<SpanningSuite>& SpanningSuites() {
  static const auto* suites = new std::vector<SpanningSuite>{
      {"[a]", "CreateConformance", "BPF_MAP_CREATE attributes, every type", {}},
      {"[b]", "SyscallConformance", "the fd layer, on HASH and ARRAY", {}},
      {"[c]", "AccessConformance", "access modes, freeze, mmap", {}},
      {"[d]", "memlock", "fdinfo memlock of maps of every type and size", {}},
      {"[e]",
       "PercpuConformance",
       "per-CPU layout and limits",
       {"PERCPU_HASH", "PERCPU_ARRAY"}},
      {"[f]",
       "LruConformance",
       "the LRU lists (bpf_lru_list.c)",
       {"LRU_HASH", "LRU_PERCPU_HASH"}},
      {"[g]", "LockConformance", "BPF_F_LOCK", {"HASH", "ARRAY"}},
      {"[h]",
       "BatchConformance",
       "generic batch commands",
       {"HASH", "ARRAY", "PERCPU_HASH", "PERCPU_ARRAY"}},
      {"[i]", "QueueStackConformance", "push, pop, peek", {"QUEUE", "STACK"}},
      {"[j]",
       "MapInMapBatchConformance",
       "fd-valued batches",
       {"ARRAY_OF_MAPS", "HASH_OF_MAPS"}},
  };
  return *suites;
}

// The row of one conformance case: its map type's, when its suite covers
// one type or its name says which (PercpuConformance.ArrayElementRules ->
// PERCPU_ARRAY); otherwise its spanning suite's tag.
std::string RowForCase(const std::string& suite, const std::string& test) {
  static const std::map<std::string, std::string> single = {
      {"HashConformance", "HASH"},
      {"ArrayConformance", "ARRAY"},
      {"RingbufConformance", "RINGBUF"},
      {"UserRingbufConformance", "USER_RINGBUF"},
      {"PerfEventArrayConformance", "PERF_EVENT_ARRAY"},
      {"StackTraceConformance", "STACK_TRACE"},
      {"LpmConformance", "LPM_TRIE"},
      {"BloomConformance", "BLOOM_FILTER"},
      {"ReuseportConformance", "REUSEPORT_SOCKARRAY"},
      {"XskConformance", "XSKMAP"},
      {"StructOpsConformance", "STRUCT_OPS"},
      {"ArenaConformance", "ARENA"},
  };
  if (auto it = single.find(suite); it != single.end()) return it->second;
  if (suite == "CgroupConformance") {
    return absl::StartsWith(test, "CgroupArray") ? "CGROUP_ARRAY"
                                                 : "CGROUP_STORAGE";
  }
  if (suite == "DevmapConformance") {
    return absl::StartsWith(test, "Cpumap") ? "CPUMAP"
           : absl::StartsWith(test, "Hash") ? "DEVMAP_HASH"
                                            : "DEVMAP";
  }
  const bool hash = absl::StartsWith(test, "Hash");
  const bool array = absl::StartsWith(test, "Array");
  if (suite == "PercpuConformance" && (hash || array)) {
    return hash ? "PERCPU_HASH" : "PERCPU_ARRAY";
  }
  if ((suite == "LockConformance" || suite == "BatchConformance") &&
      (hash || array)) {
    return hash ? "HASH" : "ARRAY";
  }
  // LocalStorageConformance: the owner kind in the case's name.
  if (suite == "LocalStorageConformance") {
    if (absl::StartsWith(test, "Socket")) return "SK_STORAGE";
    if (absl::StartsWith(test, "Task")) return "TASK_STORAGE";
    if (absl::StartsWith(test, "Inode")) return "INODE_STORAGE";
    if (absl::StartsWith(test, "Cgroup")) return "CGRP_STORAGE";
  }
  for (const SpanningSuite& s : SpanningSuites()) {
    if (suite == s.suite) return s.tag;
  }
  return suite;  // a suite added later: its own row until it is sorted in
}

// The embedded defaults: one random sequence per entry, each on a fresh map.
struct RandomSpec {
  MapAttr attr;
  uint32_t key_range;
  uint32_t op_cpus = 1;       // ops spread over CPUs 0 .. op_cpus - 1
  bool prog_lookups = false;  // include BPF-side lookups (LRU ref bits)
};

std::vector<RandomSpec> DefaultSpecs() {
  constexpr auto attr = Attr;  // tests/conformance/fixture.h
  const uint32_t zs = BPF_F_ZERO_SEED;
  std::vector<RandomSpec> specs = {
      {attr(BPF_MAP_TYPE_HASH, 4, 8, 64, zs), 96},
      {attr(BPF_MAP_TYPE_HASH, 4, 8, 64, zs | BPF_F_NO_PREALLOC), 96},
      {attr(BPF_MAP_TYPE_HASH, 5, 3, 32, zs), 48},
      {attr(BPF_MAP_TYPE_HASH, 16, 64, 128, zs), 160},
      {attr(BPF_MAP_TYPE_HASH, 4, 8, 1, zs), 3},
      {attr(BPF_MAP_TYPE_ARRAY, 4, 12, 48, 0), 64},
      {attr(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0), 3},
      {attr(BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 32, zs), 48},
      {attr(BPF_MAP_TYPE_PERCPU_HASH, 6, 8, 16, zs | BPF_F_NO_PREALLOC), 24},
      {attr(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 5, 16, 0), 24},
      {attr(BPF_MAP_TYPE_LRU_HASH, 8, 8, 128, zs), 256, 2, true},
      {attr(BPF_MAP_TYPE_LRU_HASH, 8, 8, 64, zs | BPF_F_NO_COMMON_LRU), 128, 2,
       true},
      {attr(BPF_MAP_TYPE_LRU_PERCPU_HASH, 8, 8, 96, zs), 200, 2, true},
      // Access flags: the fd's mode gates every command (EPERM before
      // any key check); the _PROG flags leave the syscall side alone.
      {attr(BPF_MAP_TYPE_HASH, 4, 8, 16, zs | BPF_F_RDONLY), 24},
      {attr(BPF_MAP_TYPE_ARRAY, 4, 8, 8, BPF_F_WRONLY), 12},
      {attr(BPF_MAP_TYPE_HASH, 4, 8, 16, zs | BPF_F_RDONLY_PROG), 24},
      {attr(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 8, BPF_F_WRONLY_PROG), 12},
      // Keyless: update pushes, lookup peeks, lookup_and_delete pops.
      {attr(BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0), 1},
      {attr(BPF_MAP_TYPE_STACK, 0, 12, 5, 0), 1},
      // Pushes and peeks of values from a small range (differ.cc): a
      // 64-entry filter, and a 4-entry one full of false positives.
      {attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, 4, 64, zs), 48},
      {attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, zs), 64},
      // Only programs fill it (bpf_get_stackid): userspace sees the empty
      // map's lookups, deletes (E2BIG past n_buckets), walks, refused
      // updates and lookup_and_delete.
      {attr(BPF_MAP_TYPE_STACK_TRACE, 4, 16, 6, 0), 12},
      // Prefixes nest and collide (differ.cc LpmKeyBytes): intermediate
      // nodes come and go, full tries replace in place.
      {attr(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 32, BPF_F_NO_PREALLOC), 1, 1, true},
      {attr(BPF_MAP_TYPE_LPM_TRIE, 6, 4, 12, BPF_F_NO_PREALLOC), 1},
      {attr(BPF_MAP_TYPE_LPM_TRIE, 20, 12, 48, BPF_F_NO_PREALLOC), 1},
      // fd-valued: updates with values that are no perf event (EBADF),
      // lookups ENOTSUPP, deletes and get_next_key the array's.
      {attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 8, 0), 12},
      // Socket-valued: random values are no socket (EINVAL above INT_MAX,
      // EBADF), lookups ENOENT / ENOSPC / EOPNOTSUPP, deletes and walks.
      {attr(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, 8, 0), 12},
      {attr(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 4, 8, 0), 12},
      {attr(BPF_MAP_TYPE_XSKMAP, 4, 4, 8, 0), 12},
      // Values that are no cgroup2 directory (EBADF), lookups ENOTSUPP.
      {attr(BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 8, 0), 12},
      // No program attached: an empty map whose update never creates
      // (ENOENT, flags EINVAL first) and whose delete is EINVAL.
      {attr(BPF_MAP_TYPE_CGROUP_STORAGE, 16, 8, 0, 0), 4},
      {attr(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 8, 12, 0, 0), 4},
      // Device and CPU maps: most values name lo or a small queue
      // (differ.cc), so entries come and go; the rest are refused.
      {attr(BPF_MAP_TYPE_DEVMAP, 4, 8, 8, 0), 12},
      {attr(BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 8, 0), 24},
      {attr(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 3, 0), 8},
      {attr(BPF_MAP_TYPE_CPUMAP, 4, 8, 4, 0), 6},
  };
  // STRUCT_OPS: one map per registered type of the kernel BTF (differ.cc
  // gives each backend a BTF fd); updates carry values that stop at one of
  // the checks before registration (differ.cc StructOpsValueBytes), keys
  // 0..2, so lookups, deletes and walks see the never-registered map.
  for (uint32_t id : StructOpsValueIds()) {
    MapAttr a = attr(BPF_MAP_TYPE_STRUCT_OPS, 4,
                     static_cast<uint32_t>(KernelBtf::Get()->Size(id)), 1, 0);
    a.btf_vmlinux_value_type_id = id;
    specs.push_back({a, 3});
  }
  // Local storages (differ.h LocalStorageAttr): keys are owner slots, so
  // each type sees its own owners, the other types' owners and bad fds;
  // a byte value and a spin lock value (BPF_F_LOCK updates and lookups).
  for (uint32_t type :
       {uint32_t{BPF_MAP_TYPE_SK_STORAGE}, uint32_t{BPF_MAP_TYPE_TASK_STORAGE},
        uint32_t{BPF_MAP_TYPE_INODE_STORAGE}, kBpfMapTypeCgrpStorage}) {
    specs.push_back({LocalStorageAttr(type, 12, false), kOwnerSlots});
    specs.push_back({LocalStorageAttr(type, 0, true), kOwnerSlots});
  }
  return specs;
}

// Replay files go where the user ran `bazel run`, or into a test's outputs.
std::string OutputPath(const std::string& name) {
  for (const char* var :
       {"BUILD_WORKING_DIRECTORY", "TEST_UNDECLARED_OUTPUTS_DIR"}) {
    if (const char* dir = std::getenv(var))
      return std::string(dir) + "/" + name;
  }
  return name;
}

int Replay(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::printf("cannot read %s\n", path.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Sequence> seq =
      ParseTrace(text.str(), KernelBackend::Get().NumPossibleCpus());
  if (!seq.ok()) {
    std::printf("%s: %s\n", path.c_str(),
                std::string(seq.status().message()).c_str());
    return 2;
  }
  if (std::string why = KernelBackend::Get().Unavailable(); !why.empty()) {
    std::printf("cannot replay against the kernel: %s\n", why.c_str());
    return 2;
  }
  auto d = RunLockstep(*seq, EmuBackend::Get(), KernelBackend::Get(), 1);
  if (!d) {
    std::printf("replay of %zu operations: no divergence\n", seq->ops.size());
    return 0;
  }
  std::printf("divergence at operation %zu: %s\n", d->op_index + 1,
              d->what.c_str());
  return 1;
}

// Which sequences this process runs.
struct Shard {
  uint64_t index = 0, count = 1;
  bool Keeps(uint64_t n) const { return n % count == index; }
};

Shard ShardFromFlags() {
  Shard s;
  int index = absl::GetFlag(FLAGS_shard_index);
  int count = absl::GetFlag(FLAGS_shard_count);
  if (count < 0) {
    // Bazel test sharding: also tell Bazel the binary understands it.
    if (const char* total = std::getenv("TEST_TOTAL_SHARDS")) {
      count = std::atoi(total);
      if (const char* i = std::getenv("TEST_SHARD_INDEX")) index = std::atoi(i);
      if (const char* status = std::getenv("TEST_SHARD_STATUS_FILE")) {
        std::ofstream(status) << "";
      }
    }
  }
  if (count > 0 && index >= 0 && index < count) {
    s.count = static_cast<uint64_t>(count);
    s.index = static_cast<uint64_t>(index);
  }
  return s;
}

// The random part of the campaign for the sequences `shard` keeps.
void RunRandom(uint64_t seed, uint64_t num_ops, bool have_kernel,
               const Shard& shard, bool tty, std::map<std::string, Row>* rows) {
  const std::vector<RandomSpec> specs = DefaultSpecs();
  const std::string types = absl::GetFlag(FLAGS_types);
  const uint64_t sequences =
      std::max<uint64_t>(1, absl::GetFlag(FLAGS_sequences));
  uint64_t done = 0, planned = 0;
  for (size_t n = 0; n < specs.size() * sequences; ++n) {
    if (shard.Keeps(n) &&
        TypeSelected(types,
                     MapTypeName(specs[n % specs.size()].attr.map_type))) {
      ++planned;
    }
  }
  for (size_t n = 0; n < specs.size() * sequences; ++n) {
    if (!shard.Keeps(n)) continue;
    const size_t i = n % specs.size();
    const uint64_t round = n / specs.size();
    const RandomSpec& spec = specs[i];
    if (!TypeSelected(types, MapTypeName(spec.attr.map_type))) continue;
    if (tty) {  // a progress line on a terminal
      std::fprintf(stderr, "\r[%llu/%llu sequences] %-22s",
                   static_cast<unsigned long long>(++done),
                   static_cast<unsigned long long>(planned),
                   MapTypeName(spec.attr.map_type));
    }
    Row& row = (*rows)[MapTypeName(spec.attr.map_type)];
    struct Timer {
      Row& row;
      absl::Time start;
      ~Timer() { row.seconds += absl::ToDoubleSeconds(absl::Now() - start); }
    } timer{row, absl::Now()};
    Sequence seq = GenerateSequence(
        spec.attr, {.seed = seed * 1000 + i + round * 1000003,
                    .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                    .num_ops = num_ops,
                    .key_range = spec.key_range,
                    .op_cpus = std::min<uint32_t>(
                        spec.op_cpus, static_cast<uint32_t>(
                                          EmuBackend::Get().NumPossibleCpus())),
                    .prog_lookups = spec.prog_lookups});
    row.ops += seq.ops.size();
    if (!have_kernel) {
      // Still exercise the emulator (and its self-consistency).
      auto d = RunLockstep(seq, EmuBackend::Get(), EmuBackend::Get());
      if (d) ++row.divergences;
      continue;
    }
    auto d = RunLockstep(seq, EmuBackend::Get(), KernelBackend::Get());
    if (!d) continue;
    ++row.divergences;
    Sequence small = Shrink(seq, EmuBackend::Get(), KernelBackend::Get());
    std::string path = OutputPath(absl::StrFormat(
        "divergence-%s-seed%llu-%zu.trace", MapTypeName(spec.attr.map_type),
        static_cast<unsigned long long>(seed), n));
    std::ofstream(path) << "# " << d->what << "\n" << small.Trace();
    std::printf(
        "  DIVERGENCE %s sequence %zu, op %zu: %s\n    minimal trace "
        "(%zu ops) written to %s\n",
        MapTypeName(spec.attr.map_type), i, d->op_index + 1, d->what.c_str(),
        small.ops.size(), path.c_str());
  }

  // Random creates, numbered after the sequences so that shards split them
  // too: the result (fd or errno) must match; a created map's (empty)
  // contents are compared as well.
  const uint64_t creates = absl::GetFlag(FLAGS_creates);
  const uint64_t base = specs.size() * sequences;
  if (TypeSelected(types, "CREATE")) {
    for (uint64_t c = 0; c < creates; ++c) {
      if (!shard.Keeps(base + c)) continue;
      const Sequence seq{GenerateCreate(seed * 1000003 + c), {}};
      Row& row = (*rows)[TypeRowName(seq.attr.map_type)];
      ++row.creates;
      auto d = have_kernel
                   ? RunLockstep(seq, EmuBackend::Get(), KernelBackend::Get())
                   : RunLockstep(seq, EmuBackend::Get(), EmuBackend::Get());
      if (!d) continue;
      ++row.divergences;
      std::string path =
          OutputPath(absl::StrFormat("divergence-CREATE-seed%llu-%llu.trace",
                                     static_cast<unsigned long long>(seed),
                                     static_cast<unsigned long long>(c)));
      std::ofstream(path) << "# " << d->what << "\n" << seq.Trace();
      std::printf("  DIVERGENCE create %llu: %s\n    trace written to %s\n",
                  static_cast<unsigned long long>(c), d->what.c_str(),
                  path.c_str());
    }
  }
  if (tty) std::fprintf(stderr, "\r%60s\r", "");
}

// --jobs: `jobs` child processes, each running every jobs-th sequence of
// this shard; their rows come back through a file each and are summed
// (ops/s adds up, as the children ran at the same time).
void RunRandomInProcesses(uint64_t seed, uint64_t num_ops, bool have_kernel,
                          const Shard& shard, int jobs,
                          std::map<std::string, Row>* rows) {
  std::vector<std::pair<pid_t, std::string>> children;
  std::fflush(stdout);
  for (int j = 0; j < jobs; ++j) {
    char path[] = "/tmp/kernel_compare_job.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) continue;
    close(fd);
    const pid_t pid = fork();
    if (pid == 0) {
      std::map<std::string, Row> mine;
      RunRandom(seed, num_ops, have_kernel,
                {shard.index + shard.count * static_cast<uint64_t>(j),
                 shard.count * static_cast<uint64_t>(jobs)},
                /*tty=*/false, &mine);
      std::ofstream out(path);
      for (const auto& [name, row] : mine) {
        out << name << " " << row.ops << " " << row.seconds << " "
            << row.divergences << " " << row.creates << "\n";
      }
      out.close();
      std::fflush(stdout);
      _exit(0);
    }
    children.push_back({pid, path});
  }
  std::map<std::string, double> rate;
  for (const auto& [pid, path] : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(path);
    std::string name;
    uint64_t ops;
    double seconds;
    int divergences;
    uint64_t creates;
    while (in >> name >> ops >> seconds >> divergences >> creates) {
      Row& row = (*rows)[name];
      row.ops += ops;
      row.creates += creates;
      row.divergences += divergences;
      if (seconds > 0) rate[name] += ops / seconds;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::printf("  job %d ended abnormally (status %d)\n", pid, status);
      ++(*rows)["(jobs)"].divergences;
    }
    unlink(path.c_str());
  }
  // Express the summed rate through seconds, which the table divides by.
  for (auto& [name, row] : *rows) {
    if (rate[name] > 0) row.seconds = row.ops / rate[name];
  }
}

}  // namespace
}  // namespace bpfemu

int main(int argc, char** argv) {
  using namespace bpfemu;
  testing::InitGoogleTest(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  if (std::string replay = absl::GetFlag(FLAGS_replay); !replay.empty()) {
    return Replay(replay);
  }
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const uint64_t num_ops = absl::GetFlag(FLAGS_ops);

  const std::string kernel_why = KernelBackend::Get().Unavailable();
  const bool have_kernel = kernel_why.empty();
  struct utsname u;
  uname(&u);
  // Struct sizes behind memlock come from the running kernel's build, not
  // from the build the defaults were measured on.
  const std::string profile =
      have_kernel ? CalibrateAndSetBuildProfile()
                  : absl::StrFormat(
                        "build profile: the %s default (%s)",
                        KernelVersionName(TargetKernel()),
                        FormatBuildProfile(BuildProfileFor(TargetKernel())));
  if (have_kernel) {
    std::printf(
        "bpfemu kernel_compare: emulator vs kernel %s, %d possible CPUs, "
        "seed %llu; %s\n",
        u.release, EmuBackend::Get().NumPossibleCpus(),
        static_cast<unsigned long long>(seed), profile.c_str());
  } else {
    std::printf(
        "bpfemu kernel_compare: EMULATOR ONLY (%s); nothing is compared "
        "against the kernel; %s\n",
        kernel_why.c_str(), profile.c_str());
  }

  testing::TestEventListeners& listeners =
      testing::UnitTest::GetInstance()->listeners();
  delete listeners.Release(listeners.default_result_printer());
  auto* tally = new Tally;
  listeners.Append(tally);
  if (absl::GetFlag(FLAGS_conformance)) (void)RUN_ALL_TESTS();

  std::map<std::string, Row> rows;
  int failed_cases = 0;
  for (const auto& [key, outcome] : tally->outcomes()) {
    Row& row = rows[RowForCase(key.suite, key.test)];
    if (outcome == Outcome::kFailed) ++failed_cases;
    if (key.backend == "Emu") {
      ++row.emu_total;
      row.emu_pass += outcome == Outcome::kPassed;
      auto k = tally->outcomes().find({"Kernel", key.suite, key.test});
      // A case the kernel skipped (a host that refuses the type, say) is
      // counted among the kernel's skips, not as a divergence.
      if (have_kernel && k != tally->outcomes().end() &&
          k->second != Outcome::kSkipped && k->second != outcome) {
        ++row.divergences;
        std::printf("  DIVERGENCE %s.%s: emu %s, kernel %s\n",
                    key.suite.c_str(), key.test.c_str(),
                    outcome == Outcome::kPassed ? "passed" : "failed",
                    k->second == Outcome::kPassed ? "passed" : "failed");
      }
    } else {
      ++row.kernel_total;
      row.kernel_pass += outcome == Outcome::kPassed;
      row.kernel_skipped += outcome == Outcome::kSkipped;
    }
  }

  // memlock: every type and size, the calibrated profile against the
  // kernel's fdinfo (memlock_compare.h); counted as cases of both backends.
  if (have_kernel && absl::GetFlag(FLAGS_memlock)) {
    Row& row = rows["[d]"];
    for (const MemlockCase& c : MemlockCases()) {
      const MemlockResult r = CompareMemlockCase(c);
      const bool same = r.error.empty() && r.kernel == r.emu;
      ++row.emu_total;
      ++row.kernel_total;
      row.emu_pass += same;
      row.kernel_pass += r.error.empty();
      if (!same) {
        ++row.divergences;
        std::printf("  DIVERGENCE memlock %s: kernel %lld, emu %lld %s\n",
                    DescribeMemlockCase(c).c_str(),
                    static_cast<long long>(r.kernel),
                    static_cast<long long>(r.emu), r.error.c_str());
      }
    }
  }

  const int jobs = std::max(1, absl::GetFlag(FLAGS_jobs));
  const Shard shard = ShardFromFlags();
  if (jobs == 1) {
    RunRandom(seed, num_ops, have_kernel, shard, isatty(STDERR_FILENO), &rows);
  } else {
    RunRandomInProcesses(seed, num_ops, have_kernel, shard, jobs, &rows);
  }

  // The table: one row per emulated map type (and one for random creates
  // of other types), then the suites that span types, then the total.
  std::printf(
      "\nPer map type: conformance cases passed/run on each backend (a "
      "suite's\ncases count for a type when the suite or the case names "
      "it), random\nlockstep operations and their rate, random "
      "BPF_MAP_CREATE attribute sets\nof the type, divergences. \"also in\" "
      "names the multi-type suites below\nthat cover the type too ([a]-[d] "
      "cover every type) and, after +, a lockstep\ntest outside this job "
      "that compares it with the kernel.\n");
  const char* kRowFormat = "%-28s %-11s %-14s %-10llu %-9.0f %-8llu %-11d %s\n";
  std::printf("%-28s %-11s %-14s %-10s %-9s %-8s %-11s %s\n", "map type",
              "cases emu", "cases kernel", "rand ops", "ops/s", "creates",
              "divergences", "also in");
  std::string json = absl::StrFormat(
      "{\"kernel\":\"%s\",\"compared_with_kernel\":%s,\"seed\":%llu,"
      "\"types\":{",
      u.release, have_kernel ? "true" : "false",
      static_cast<unsigned long long>(seed));
  Row total;
  auto print_row = [&](const std::string& label, const std::string& key,
                       const Row& row, const std::string& also) {
    const std::string kernel_col =
        !have_kernel ? "skipped"
        : row.kernel_skipped == 0
            ? absl::StrFormat("%d/%d", row.kernel_pass, row.kernel_total)
            : absl::StrFormat("%d/%d (%d skip)", row.kernel_pass,
                              row.kernel_total, row.kernel_skipped);
    const double rate = row.seconds > 0 ? row.ops / row.seconds : 0;
    std::printf(kRowFormat, label.c_str(),
                absl::StrFormat("%d/%d", row.emu_pass, row.emu_total).c_str(),
                kernel_col.c_str(), static_cast<unsigned long long>(row.ops),
                rate, static_cast<unsigned long long>(row.creates),
                row.divergences, also.c_str());
    absl::StrAppendFormat(
        &json,
        "%s\"%s\":{\"cases_emu\":%d,\"cases_emu_passed\":%d,"
        "\"cases_kernel\":%d,\"cases_kernel_passed\":%d,"
        "\"cases_kernel_skipped\":%d,\"random_ops\":%llu,"
        "\"ops_per_second\":%.0f,\"creates\":%llu,\"divergences\":%d}",
        json.back() == '{' ? "" : ",", key, row.emu_total, row.emu_pass,
        row.kernel_total, row.kernel_pass, row.kernel_skipped,
        static_cast<unsigned long long>(row.ops), rate,
        static_cast<unsigned long long>(row.creates), row.divergences);
    total.emu_pass += row.emu_pass;
    total.emu_total += row.emu_total;
    total.kernel_pass += row.kernel_pass;
    total.kernel_total += row.kernel_total;
    total.kernel_skipped += row.kernel_skipped;
    total.ops += row.ops;
    total.creates += row.creates;
    total.divergences += row.divergences;
  };
  std::vector<std::string> types;
  for (const TypeRow& t : kEmulatedTypes) types.push_back(t.name);
  types.push_back(kOtherTypes);
  for (const std::string& name : types) {
    std::string also;
    for (const SpanningSuite& s : SpanningSuites()) {
      if (std::find(s.covers.begin(), s.covers.end(), name) != s.covers.end()) {
        also += s.tag;
      }
    }
    for (const TypeRow& t : kEmulatedTypes) {
      if (name == t.name && *t.elsewhere != '\0') {
        absl::StrAppend(&also, also.empty() ? "+" : " +", t.elsewhere);
      }
    }
    auto it = rows.find(name);
    print_row(name == kOtherTypes ? "OTHER (not emulated)" : name, name,
              it != rows.end() ? it->second : Row{}, also);
  }
  absl::StrAppend(&json, "},\"suites\":{");
  std::printf("multi-type suites (their other cases):\n");
  for (const SpanningSuite& s : SpanningSuites()) {
    auto it = rows.find(s.tag);
    print_row(absl::StrCat(s.tag, " ", s.suite), s.suite,
              it != rows.end() ? it->second : Row{}, s.what);
  }
  // Anything not sorted in above (a new suite, a failed job).
  for (const auto& [name, row] : rows) {
    const bool placed =
        std::find(types.begin(), types.end(), name) != types.end() ||
        std::any_of(SpanningSuites().begin(), SpanningSuites().end(),
                    [&](const SpanningSuite& s) { return name == s.tag; });
    if (!placed) print_row(name, name, row, "");
  }
  std::printf(
      "%-28s %-11s %-14s %-10llu %-9s %-8llu %d\n", "total",
      absl::StrFormat("%d/%d", total.emu_pass, total.emu_total).c_str(),
      !have_kernel
          ? "skipped"
          : absl::StrFormat("%d/%d", total.kernel_pass, total.kernel_total)
                .c_str(),
      static_cast<unsigned long long>(total.ops), "",
      static_cast<unsigned long long>(total.creates), total.divergences);
  absl::StrAppendFormat(&json, "},\"divergences\":%d}\n", total.divergences);
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream(path) << json;
  }
  if (!have_kernel) {
    std::printf(
        "(emulator only: conformance cases checked against the "
        "kernel's measured answers; random ops checked for "
        "self-consistency)\n");
  }
  return total.divergences == 0 && failed_cases == 0 ? 0 : 1;
}
