// SPDX-License-Identifier: Apache-2.0
// File: differ.h
//
// The differential runner (re2's comparative tester, applied to maps): a
// seeded generator of map operation sequences, a runner that applies one
// sequence to two backends in lockstep, and a shrinker that cuts a diverging
// sequence down to a minimal one.
//
// Per operation it compares the return code and every output byte (value,
// next key). Every `checkpoint` operations and at the end it compares the
// whole map: the key sequence get_next_key returns (maps are created with
// BPF_F_ZERO_SEED, so order is deterministic) and each value.
//
// A sequence prints as a replayable trace, one operation per line:
//
//   create type=1 key_size=4 value_size=8 max_entries=64 flags=0x40
//   update key=05000000 value=0100000000000000 flags=0
//   lookup key=05000000 flags=0
//   delete key=05000000
//   get_next_key key=null
//   lookup_and_delete key=05000000 flags=0
//   prog_lookup key=05000000 cpu=1
//   update_batch key=0500000006000000 value=... count=2 flags=0
//   lookup_batch key=null count=4 flags=0
//   freeze
//
// `kernel_compare --replay FILE` reads it back (ParseTrace).

#ifndef BPFEMU_KERNEL_COMPARE_DIFFER_H_
#define BPFEMU_KERNEL_COMPARE_DIFFER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "emu/map.h"
#include "testing/backend.h"

namespace bpfemu {

enum class OpKind {
  kUpdate,
  kLookup,
  kDelete,
  kGetNextKey,
  kLookupAndDelete,
  kProgLookup,  // bpf_map_lookup_elem from a BPF program (sets LRU ref bits)
  // Batch commands. Update / delete: `key` holds `count` keys back to back
  // (`value` as many values). Lookup / lookup-and-delete: `key` is the
  // in_batch cursor (empty: NULL) and `count` the capacity; the output is
  // the count after, the out_batch cursor, the keys and the values.
  kUpdateBatch,
  kDeleteBatch,
  kLookupBatch,
  kLookupAndDeleteBatch,
  // BPF_MAP_FREEZE: every later userspace write answers EPERM.
  kFreeze,
};

struct Op {
  OpKind kind;
  std::vector<uint8_t> key;    // empty for get_next_key(NULL)
  std::vector<uint8_t> value;  // update only
  uint64_t flags = 0;          // batch ops: elem_flags
  uint8_t cpu = 0;     // the CPU the op runs on (both backends are pinned)
  uint32_t count = 0;  // batch ops only
};

struct Sequence {
  MapAttr attr;
  std::vector<Op> ops;

  std::string Trace() const;
};

// The value struct ids (bpf_struct_ops_X) of every struct_ops type the
// target version registers and the kernel BTF has (emu/struct_ops_map.h's
// registry), in registry order: the same ids in every process on one
// machine, so campaigns stay reproducible. Empty without kernel BTF.
std::vector<uint32_t> StructOpsValueIds();

// Local storage maps (SK/TASK/INODE/CGRP_STORAGE) in sequences: a map
// with BTF ids of the value BTF each backend is given at create (a u32 key;
// a value of `value_size` bytes, or with `spin_lock` a 16-byte struct {
// bpf_spin_lock; u64 }). Their keys are owner slots 0 .. kOwnerSlots - 1:
// the runner passes the fd of a socket (TCP, UDP, unix), a pidfd, a file,
// /dev/null, the cgroup2 root, a cgroup v1 directory (/sys/fs/cgroup/cpu;
// -1 where there is none), -1 or an fd past the table.
inline constexpr uint32_t kOwnerSlots = 10;
MapAttr LocalStorageAttr(uint32_t type, uint32_t value_size, bool spin_lock);

// bpf_map_value_size(): the bytes of one value in a syscall buffer
// (per-CPU types: round_up(value_size, 8) per possible CPU).
uint32_t SyscallValueSize(const MapAttr& attr, int num_cpus);

struct GeneratorOptions {
  uint64_t seed = 1;
  int num_cpus = 1;  // possible CPUs, for per-CPU value buffers
  size_t num_ops = 1000;
  // Keys are drawn from [0, key_range); a range above max_entries reaches the
  // full-map paths.
  uint32_t key_range = 96;
  // Ops are spread over CPUs 0 .. op_cpus - 1.
  uint32_t op_cpus = 1;
  // Include program-side lookups (keys <= 8 bytes, values >= 8 bytes).
  bool prog_lookups = false;
  // Include the four batch commands (about 8% of the ops).
  bool batch_ops = true;
  // Freeze the map in one sequence out of four, at a random point of its
  // second half. The freeze is drawn from its own generator and inserted
  // after the others are drawn, so the other ops of a seed do not change.
  bool freeze = true;
};

// A random sequence of operations on a map with `attr` (whose flags should
// include BPF_F_ZERO_SEED for hash maps, so order can be compared).
Sequence GenerateSequence(const MapAttr& attr, const GeneratorOptions& opts);

// Random attributes for BPF_MAP_CREATE, valid and invalid: map types
// (including ones outside the generator's six and unknown ones), edge-case
// key / value sizes and max_entries, and flag sets with unknown bits. An
// attribute set that could allocate more than 16 MiB if the kernel accepted
// it gets key_size 0 (or, for a ring buffer, value_size 1), which every type
// refuses before allocating: probing limits must not build giant maps.
MapAttr GenerateCreate(uint64_t seed);

struct Divergence {
  size_t op_index;   // index of the op (== ops.size() for the final check)
  std::string what;  // human-readable difference
};

// Runs `seq` on both backends from fresh maps; the first difference, or
// nullopt when both agree everywhere.
std::optional<Divergence> RunLockstep(const Sequence& seq, Backend& a,
                                      Backend& b, size_t checkpoint = 64);

// Delta debugging (ddmin over operations): a shortest-found subsequence that
// still diverges, after at most `max_runs` trial replays. A trial compares
// every op's result and the final contents. REQUIRES: RunLockstep(seq)
// diverges.
Sequence Shrink(const Sequence& seq, Backend& a, Backend& b,
                int max_runs = 2000);

// `num_cpus` sizes per-CPU values, as in GeneratorOptions.
absl::StatusOr<Sequence> ParseTrace(const std::string& text, int num_cpus);

const char* MapTypeName(uint32_t type);

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_DIFFER_H_
