// SPDX-License-Identifier: Apache-2.0
// The differential runner against itself and against a deliberately broken
// emulator: agreement is silent, a flipped errno is caught, shrunk to a
// handful of operations, and its trace replays.
#include "kernel_compare/differ.h"

#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "testing/emu_backend.h"

namespace bpfemu {
namespace {

MapAttr HashAttr() {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = 16;
  a.map_flags = BPF_F_ZERO_SEED;
  return a;
}

// The emulator with one bug: a BPF_NOEXIST update of an existing key
// "succeeds" without writing, where the kernel says EEXIST.
class BrokenEmu : public EmuBackend {
 public:
  const char* name() const override { return "broken"; }
  int Update(int fd, const void* key, const void* value,
             uint64_t flags) override {
    int rc = EmuBackend::Update(fd, key, value, flags);
    return rc == -EEXIST ? 0 : rc;
  }
};

TEST(Differ, IdenticalBackendsAgree) {
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY,
                        BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    MapAttr a = HashAttr();
    a.map_type = type;
    if (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY) {
      a.map_flags = 0;
    }
    Sequence seq =
        GenerateSequence(a, {.seed = 7,
                             .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                             .num_ops = 2000});
    EXPECT_GE(seq.ops.size(), 2000u);  // and maybe a freeze
    EXPECT_LE(seq.ops.size(), 2001u);
    auto d = RunLockstep(seq, EmuBackend::Get(), EmuBackend::Get());
    EXPECT_FALSE(d.has_value()) << d->what;
  }
}

TEST(Differ, GenerationIsDeterministicPerSeed) {
  Sequence s1 = GenerateSequence(HashAttr(), {.seed = 3, .num_ops = 200});
  Sequence s2 = GenerateSequence(HashAttr(), {.seed = 3, .num_ops = 200});
  Sequence s3 = GenerateSequence(HashAttr(), {.seed = 4, .num_ops = 200});
  EXPECT_EQ(s1.Trace(), s2.Trace());
  EXPECT_NE(s1.Trace(), s3.Trace());
}

// Shards and --jobs workers are separate processes: a seed must give the
// same sequence in each (absl::BitGen would not: it salts seeds per
// process). The test runs itself as a fresh process and compares.
size_t Fingerprint() {
  std::string all =
      GenerateSequence(HashAttr(), {.seed = 3, .num_ops = 300}).Trace();
  for (uint64_t s = 0; s < 50; ++s) {
    const MapAttr a = GenerateCreate(s);
    all += absl::StrFormat("%u/%u/%u/%u/%u;", a.map_type, a.key_size,
                           a.value_size, a.max_entries, a.map_flags);
  }
  return std::hash<std::string>()(all);
}

TEST(Differ, GenerationIsDeterministicAcrossProcesses) {
  if (std::getenv("BPFEMU_PRINT_FINGERPRINT") != nullptr) {
    std::printf("fingerprint=%zx\n", Fingerprint());
    return;
  }
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  const std::string cmd = absl::StrFormat(
      "BPFEMU_PRINT_FINGERPRINT=1 '%s' "
      "--gtest_filter=Differ.GenerationIsDeterministicAcrossProcesses",
      self);
  FILE* child = popen(cmd.c_str(), "r");
  ASSERT_NE(child, nullptr);
  char line[256];
  size_t theirs = 0;
  while (std::fgets(line, sizeof(line), child) != nullptr) {
    std::sscanf(line, "fingerprint=%zx", &theirs);
  }
  pclose(child);
  EXPECT_EQ(theirs, Fingerprint());
}

TEST(Differ, BrokenEmulatorIsCaughtShrunkAndReplayed) {
  BrokenEmu broken;
  Sequence seq = GenerateSequence(HashAttr(), {.seed = 11, .num_ops = 3000});
  auto d = RunLockstep(seq, EmuBackend::Get(), broken);
  ASSERT_TRUE(d.has_value());
  EXPECT_NE(d->what.find("EEXIST"), std::string::npos) << d->what;

  Sequence small = Shrink(seq, EmuBackend::Get(), broken);
  EXPECT_LE(small.ops.size(), 3u) << small.Trace();
  EXPECT_TRUE(RunLockstep(small, EmuBackend::Get(), broken).has_value());

  auto replayed = ParseTrace(small.Trace(), 1);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->Trace(), small.Trace());
  EXPECT_TRUE(RunLockstep(*replayed, EmuBackend::Get(), broken).has_value());
}

// A batch command that skips its last element, as a bug in a cursor might.
class BrokenBatchEmu : public EmuBackend {
 public:
  const char* name() const override { return "broken-batch"; }
  int LookupBatch(int fd, const void* in_batch, void* out_batch, void* keys,
                  void* values, uint32_t* count, uint64_t elem_flags,
                  uint64_t flags) override {
    const int rc = EmuBackend::LookupBatch(fd, in_batch, out_batch, keys,
                                           values, count, elem_flags, flags);
    if (rc == 0 && *count > 1) --*count;
    return rc;
  }
};

// The generator's batch commands run, succeed and fail, and round-trip
// through a trace.
TEST(Differ, BatchCommandsAreGeneratedAndCompared) {
  Sequence seq = GenerateSequence(
      HashAttr(), {.seed = 5,
                   .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                   .num_ops = 3000});
  int batches = 0;
  for (const Op& op : seq.ops) {
    batches += op.kind == OpKind::kUpdateBatch ||
               op.kind == OpKind::kDeleteBatch ||
               op.kind == OpKind::kLookupBatch ||
               op.kind == OpKind::kLookupAndDeleteBatch;
  }
  EXPECT_GT(batches, 150);
  auto replayed = ParseTrace(seq.Trace(), EmuBackend::Get().NumPossibleCpus());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->Trace(), seq.Trace());
  BrokenBatchEmu broken;
  auto d = RunLockstep(seq, EmuBackend::Get(), broken);
  ASSERT_TRUE(d.has_value());
  EXPECT_NE(d->what.find("lookup_batch"), std::string::npos) << d->what;
  Sequence small = Shrink(seq, EmuBackend::Get(), broken);
  EXPECT_LE(small.ops.size(), 8u) << small.Trace();
  EXPECT_TRUE(RunLockstep(small, EmuBackend::Get(), broken).has_value());
}

// An emulator whose freeze answers 0 without freezing.
class BrokenFreezeEmu : public EmuBackend {
 public:
  const char* name() const override { return "broken-freeze"; }
  int Freeze(int fd) override { return fd >= 0 ? 0 : -EBADF; }
};

// Freezes join a quarter of the sequences without changing the other ops a
// seed draws; a freeze that does not freeze is caught and shrunk.
TEST(Differ, FreezesAreInsertedAndCompared) {
  int frozen_sequences = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    GeneratorOptions opts{.seed = seed,
                          .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                          .num_ops = 400};
    Sequence with = GenerateSequence(HashAttr(), opts);
    opts.freeze = false;
    Sequence without = GenerateSequence(HashAttr(), opts);
    std::vector<Op> rest;
    size_t freezes = 0, at = 0;
    for (size_t i = 0; i < with.ops.size(); ++i) {
      if (with.ops[i].kind == OpKind::kFreeze) {
        ++freezes;
        at = i;
      } else {
        rest.push_back(with.ops[i]);
      }
    }
    ASSERT_LE(freezes, 1u);
    EXPECT_EQ(Sequence({HashAttr(), rest}).Trace(), without.Trace());
    if (freezes == 0) continue;
    ++frozen_sequences;
    EXPECT_GE(at, 200u);
    auto same = RunLockstep(with, EmuBackend::Get(), EmuBackend::Get());
    EXPECT_FALSE(same.has_value()) << same->what;
  }
  EXPECT_GE(frozen_sequences, 4);
  EXPECT_LE(frozen_sequences, 20);

  Sequence seq{HashAttr(), {}};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    seq = GenerateSequence(HashAttr(),
                           {.seed = seed,
                            .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                            .num_ops = 400});
    if (seq.Trace().find("\nfreeze") != std::string::npos) break;
  }
  BrokenFreezeEmu broken;
  auto d = RunLockstep(seq, EmuBackend::Get(), broken);
  ASSERT_TRUE(d.has_value());
  Sequence small = Shrink(seq, EmuBackend::Get(), broken);
  EXPECT_LE(small.ops.size(), 3u) << small.Trace();
  EXPECT_NE(small.Trace().find("\nfreeze\n"), std::string::npos)
      << small.Trace();
  auto replayed =
      ParseTrace(small.Trace(), EmuBackend::Get().NumPossibleCpus());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->Trace(), small.Trace());
  EXPECT_TRUE(RunLockstep(*replayed, EmuBackend::Get(), broken).has_value());
}

// A bloom filter that answers every peek "maybe present": the generator's
// peeks must miss as well as hit for the lockstep to catch it, and the
// peeked value travels in the trace so the replay diverges the same way.
class AlwaysPresentBloom : public EmuBackend {
 public:
  const char* name() const override { return "always-present"; }
  int Lookup(int fd, const void* key, void* value, uint64_t flags) override {
    int rc = EmuBackend::Lookup(fd, key, value, flags);
    return rc == -ENOENT ? 0 : rc;
  }
};

TEST(Differ, BloomPeeksHitAndMissAndReplay) {
  MapAttr a;
  a.map_type = BPF_MAP_TYPE_BLOOM_FILTER;
  a.value_size = 4;
  a.max_entries = 64;
  a.map_flags = BPF_F_ZERO_SEED;
  Sequence seq =
      GenerateSequence(a, {.seed = 3,
                           .num_cpus = EmuBackend::Get().NumPossibleCpus(),
                           .num_ops = 2000,
                           .key_range = 48});
  auto same = RunLockstep(seq, EmuBackend::Get(), EmuBackend::Get());
  EXPECT_FALSE(same.has_value()) << same->what;
  // Replay the peeks on one filter: some find their value, some do not.
  EmuBackend& emu = EmuBackend::Get();
  const int fd = emu.CreateMap(a);
  ASSERT_GE(fd, 0);
  int hits = 0, misses = 0;
  for (const Op& op : seq.ops) {
    if (op.kind == OpKind::kUpdate) {
      emu.Update(fd, nullptr, op.value.data(), op.flags);
    } else if (op.kind == OpKind::kLookup && op.flags == 0) {
      ASSERT_EQ(op.value.size(), 4u);
      std::vector<uint8_t> v = op.value;
      const int rc = emu.Lookup(fd, nullptr, v.data(), 0);
      if (rc == 0) ++hits;
      if (rc == -ENOENT) ++misses;
      EXPECT_EQ(v, op.value);  // a peek reads its value, never writes it
    }
  }
  emu.Close(fd);
  EXPECT_GT(hits, 10);
  EXPECT_GT(misses, 10);

  AlwaysPresentBloom broken;
  auto d = RunLockstep(seq, EmuBackend::Get(), broken);
  ASSERT_TRUE(d.has_value());
  Sequence small = Shrink(seq, EmuBackend::Get(), broken);
  EXPECT_LE(small.ops.size(), 2u) << small.Trace();
  auto replayed =
      ParseTrace(small.Trace(), EmuBackend::Get().NumPossibleCpus());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->Trace(), small.Trace());
  EXPECT_NE(small.Trace().find(" value="), std::string::npos) << small.Trace();
  EXPECT_TRUE(RunLockstep(*replayed, EmuBackend::Get(), broken).has_value());
}

// Random create attributes reach successes and many different errnos, and
// never ask for a giant map that would be created.
TEST(Differ, RandomCreatesReachManyOutcomes) {
  std::map<int, int> outcomes;
  // Every emulated type shares the draws: 3000 seeds.
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    const MapAttr a = GenerateCreate(seed);
    const int fd = EmuBackend::Get().CreateMap(a);
    ++outcomes[fd >= 0 ? 0 : fd];
    if (fd >= 0) {
      // An LPM trie allocates nothing until updates come; a bloom
      // filter's memory is its bit array, whatever the value size (the
      // generator bounds it by max_entries).
      if (a.map_type != BPF_MAP_TYPE_LPM_TRIE &&
          a.map_type != BPF_MAP_TYPE_BLOOM_FILTER) {
        EXPECT_LE(uint64_t{a.max_entries} * (a.key_size + a.value_size),
                  uint64_t{16} << 20)
            << a.map_type << " " << a.key_size << " " << a.value_size << " "
            << a.max_entries << " " << a.map_flags;
      }
      EmuBackend::Get().Close(fd);
    }
  }
  EXPECT_GT(outcomes[0], 100);
  EXPECT_GT(outcomes[-EINVAL], 100);
  EXPECT_GE(outcomes[-E2BIG], 3);
  EXPECT_GE(outcomes.size(), 4u);
}

TEST(Differ, ParseTraceRejectsMalformedInput) {
  EXPECT_FALSE(ParseTrace("update key=00 value=00 flags=0\n", 1).ok());
  EXPECT_FALSE(ParseTrace("create type=1 key_size=4\n", 1).ok());
  EXPECT_FALSE(ParseTrace("create type=1 key_size=4 value_size=8 max_entries=4 "
                          "flags=0\nfrobnicate key=00000000\n",
                          1)
                   .ok());
  EXPECT_FALSE(ParseTrace("create type=1 key_size=4 value_size=8 max_entries=4 "
                          "flags=0\nlookup key=0000 flags=0\n",
                          1)
                   .ok());
  EXPECT_TRUE(ParseTrace("# comment\ncreate type=1 key_size=4 value_size=8 "
                         "max_entries=4 flags=0x40\nget_next_key key=null\n",
                         1)
                  .ok());
}

}  // namespace
}  // namespace bpfemu
