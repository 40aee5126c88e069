// SPDX-License-Identifier: Apache-2.0
// The scenario of tests/examples/kptr.bpf.c, shared by kptr_test (bpfemu
// against the recorded answers) and kptr_compare_test (bpfemu against the
// running kernel, which records them): program runs with cfg set, and
// userspace updates, deletes and lookups of the maps whose values hold
// kptr fields, in one order.
//
// The per-CPU steps reach every possible CPU: their answers depend on the
// count (2 where testdata/kptr.expected was recorded; kptr_test sets it).
//
// A step's line: its name ("sNN"), what it does, and its result: a
// program's return value; an update's or delete's errno; a lookup's errno
// and the value's 8-byte words (the kptr field as userspace sees it).
#ifndef BPFEMU_TESTS_EXAMPLES_KPTR_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_KPTR_CASES_H_

#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "loader/object.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {

struct KptrStep {
  enum Op { kRun, kUpdate, kDelete, kLookup } op;
  const char* target;  // program or map
  uint32_t key;
  int64_t val;                 // kRun: cfg[1]
  std::vector<int64_t> words;  // kUpdate: the value's words
  uint64_t flags = 0;          // kUpdate
};

inline const std::vector<KptrStep>& KptrSteps() {
  using S = KptrStep;
  constexpr int64_t kJunk = 0xdeadbeef;  // bytes in the kptr field
  static const auto* steps = new std::vector<KptrStep>{
      // ARRAY: stash, replace (the old object comes back), take.
      {S::kRun, "stash_a", 0, 7, {}},
      {S::kRun, "stash_a", 0, 8, {}},
      {S::kLookup, "astash", 0, 0, {}},
      {S::kRun, "take_a", 0, 0, {}},
      {S::kRun, "take_a", 0, 0, {}},
      // A userspace update frees the stashed object, whatever the caller
      // wrote in the field.
      {S::kRun, "stash_a", 1, 5, {}},
      {S::kUpdate, "astash", 1, 0, {99, kJunk, 42}, BPF_ANY},
      {S::kLookup, "astash", 1, 0, {}},
      {S::kRun, "take_a", 1, 0, {}},
      {S::kRun, "stash_a", 9, 1, {}},
      {S::kRun, "stash_a", 2, 6, {}},
      // HASH: no element, then stash; delete and update free.
      {S::kRun, "stash_h", 3, 11, {}},
      {S::kUpdate, "hstash", 3, 0, {1, 0x1234, 2}, BPF_NOEXIST},
      {S::kLookup, "hstash", 3, 0, {}},
      {S::kRun, "stash_h", 3, 11, {}},
      {S::kRun, "stash_h", 3, 12, {}},
      {S::kDelete, "hstash", 3, 0, {}},
      {S::kUpdate, "hstash", 3, 0, {2, 0, 0}, BPF_NOEXIST},
      {S::kRun, "take_h", 3, 0, {}},
      {S::kRun, "stash_h", 3, 13, {}},
      {S::kUpdate, "hstash", 3, 0, {3, 0x55, 4}, BPF_EXIST},
      {S::kLookup, "hstash", 3, 0, {}},
      {S::kRun, "take_h", 3, 0, {}},
      {S::kRun, "stash_h", 3, 14, {}},
      {S::kUpdate, "hstash", 1, 0, {5, kJunk, 6}, BPF_ANY},
      {S::kRun, "stash_h", 1, 15, {}},
      {S::kLookup, "hstash", 1, 0, {}},
      // One refcounted object in the rbtree and the list.
      {S::kRun, "ref_insert", 0, 30, {}},
      {S::kRun, "ref_insert", 0, 10, {}},
      {S::kRun, "ref_insert", 0, 20, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "list_pop", 0, 0, {}},
      {S::kRun, "ref_push_twice", 0, 40, {}},
      {S::kRun, "list_pop", 0, 0, {}},
      {S::kRun, "list_pop", 0, 0, {}},
      {S::kRun, "list_pop", 0, 0, {}},
      {S::kRun, "list_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      // In the rbtree and in a map value at once.
      {S::kRun, "ref_stash", 0, 50, {}},
      {S::kRun, "ref_stash", 0, 60, {}},
      {S::kRun, "ref_take", 0, 0, {}},
      {S::kRun, "ref_take", 0, 0, {}},
      {S::kRun, "ref_stash", 1, 70, {}},
      {S::kUpdate, "rstash", 1, 0, {8, kJunk}, BPF_ANY},
      {S::kLookup, "rstash", 1, 0, {}},
      {S::kRun, "ref_take", 1, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      {S::kRun, "tree_pop", 0, 0, {}},
      // A per-CPU object in pstash[0]: each CPU's copy, the current one's.
      {S::kRun, "pc_sum", 0, 0, {}},
      {S::kRun, "pc_new", 0, 0, {}},
      {S::kRun, "pc_fill", 0, 100, {}},
      {S::kRun, "pc_this", 0, 0, {}},
      {S::kRun, "pc_sum", 0, 0, {}},
      // (No pc_sum here: a new per-CPU object's bytes are the kernel
      // allocator's leftovers, bpf_percpu_obj_new does not zero them.)
      {S::kRun, "pc_new", 0, 0, {}},
      {S::kRun, "pc_fill", 0, 5, {}},
      {S::kRun, "pc_sum", 0, 0, {}},
      {S::kUpdate, "pstash", 0, 0, {3, kJunk}, BPF_ANY},
      {S::kLookup, "pstash", 0, 0, {}},
      {S::kRun, "pc_sum", 0, 0, {}},
      {S::kRun, "pc_new", 0, 0, {}},
      {S::kRun, "pc_take", 0, 0, {}},
      {S::kRun, "pc_take", 0, 0, {}},
      {S::kRun, "pc_new", 0, 0, {}},
      // Left stashed for the map's free: astash[2] (6), hstash[3] (14),
      // hstash[1] (15), pstash[0].
  };
  return *steps;
}

// One side (the kernel, or bpfemu in one face).
struct KptrSide {
  std::function<bool(uint32_t key, int64_t v)> set_cfg;
  // The program's return value, or false if the run failed.
  std::function<bool(const char* prog, int32_t* ret)> run;
  // 0 or -errno.
  std::function<int(const char* map, uint32_t key, const void* value,
                    uint64_t flags)>
      update;
  std::function<int(const char* map, uint32_t key)> del;
  std::function<int(const char* map, uint32_t key, void* value)> lookup;
  std::function<uint32_t(const char* map)> value_size;
};

// Runs step `i`; its line, or "" if a run failed (*why says which).
inline std::string RunKptrStep(size_t i, KptrSide& side, std::string* why) {
  const KptrStep& s = KptrSteps()[i];
  char name[8];
  std::snprintf(name, sizeof(name), "s%02zu", i);
  std::string line = absl::StrCat(name, "\t", s.target, " ", s.key);
  switch (s.op) {
    case KptrStep::kRun: {
      int32_t ret = 0;
      if (!side.set_cfg(0, s.key) || !side.set_cfg(1, s.val) ||
          !side.run(s.target, &ret)) {
        *why = s.target;
        return "";
      }
      absl::StrAppend(&line, " ", s.val, "\t", ret);
      break;
    }
    case KptrStep::kUpdate: {
      std::vector<int64_t> v(side.value_size(s.target) / 8, 0);
      for (size_t w = 0; w < v.size() && w < s.words.size(); ++w) {
        v[w] = s.words[w];
      }
      absl::StrAppend(&line, " update\t",
                      side.update(s.target, s.key, v.data(), s.flags));
      break;
    }
    case KptrStep::kDelete:
      absl::StrAppend(&line, " delete\t", side.del(s.target, s.key));
      break;
    case KptrStep::kLookup: {
      std::vector<int64_t> v(side.value_size(s.target) / 8, -1);
      absl::StrAppend(&line, " lookup\t",
                      side.lookup(s.target, s.key, v.data()));
      for (int64_t w : v) absl::StrAppend(&line, " ", w);
      break;
    }
  }
  return line;
}

// The packet every program runs on (tc test runs need one).
inline std::vector<uint8_t> KptrPacket() {
  return Ipv4Frame(1, 2, 3, 4, 17, 64);
}

// bpfemu's side: `obj` loaded, in either face.
inline KptrSide EmuKptrSide(native::Object& obj) {
  KptrSide s;
  s.set_cfg = [&obj](uint32_t key, int64_t v) {
    return MapUpdateElem(obj.MapFd("cfg"), &key, &v, 0) == 0;
  };
  s.run = [&obj](const char* name, int32_t* ret) {
    const native::Program* p = obj.FindProgram(name);
    if (p == nullptr) return false;
    const native::PacketResult r = p->RunSkb(KptrPacket());
    *ret = static_cast<int32_t>(r.retval);
    return r.err == 0;
  };
  s.update = [&obj](const char* map, uint32_t key, const void* value,
                    uint64_t flags) {
    return MapUpdateElem(obj.MapFd(map), &key, value, flags);
  };
  s.del = [&obj](const char* map, uint32_t key) {
    return MapDeleteElem(obj.MapFd(map), &key);
  };
  s.lookup = [&obj](const char* map, uint32_t key, void* value) {
    return MapLookupElem(obj.MapFd(map), &key, value);
  };
  s.value_size = [](const char* map) -> uint32_t {
    const std::string m = map;
    return m == "rstash" || m == "pstash" ? 16 : 24;
  };
  return s;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_KPTR_CASES_H_
