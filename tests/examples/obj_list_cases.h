// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/obj_list.bpf.c, shared by obj_list_test (bpfemu
// against the recorded answers) and obj_list_compare_test (bpfemu against
// the running kernel, which records them): per case the values written to
// `cfg`, how many times list_fill / tree_fill run, then two drains each.
//
// A case's line: its name, then for the list and then the tree: each fill's
// return value, for the list list_peek's (front * 1000 + back, 6.18's
// bpf_list_front / _back), and per drain its return value, results hash
// and count.
#ifndef BPFEMU_TESTS_EXAMPLES_OBJ_LIST_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_OBJ_LIST_CASES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "loader/object.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {

struct ObjListCase {
  const char* name;
  int32_t n;                  // cfg[0]
  std::vector<int32_t> vals;  // cfg[1..]
  int fills;
};

inline const std::vector<ObjListCase>& ObjListCases() {
  static const auto* cases = new std::vector<ObjListCase>{
      {"empty", 0, {}, 1},
      {"one", 1, {5}, 1},
      {"mixed", 8, {1, 2, 3, 4, 5, 6, 7, 8}, 1},
      {"negative", 8, {-3, 7, -3, 0, 7, 2, -100, 99}, 1},
      {"ties", 14, {4, 4, 4, 1, 1, 9, 9, 4, 0, 0, 3, 3, 3, 3}, 1},
      {"n past the loop",
       20,
       {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2},
       1},
      {"two fills", 9, {9, -8, 7, -6, 5, -4, 3, -2, 1}, 2},
  };
  return *cases;
}

// One side (the kernel, or bpfemu in one face).
struct ObjListSide {
  std::function<bool(uint32_t key, int32_t v)> set_cfg;
  // The program's return value, or false if the run failed.
  std::function<bool(const char* prog, int32_t* ret)> run;
  std::function<bool(uint32_t key, int64_t* v)> result;
};

// Runs `c` on `side`; the case's line, or "" if a step failed (*why says
// which).
inline std::string RunObjListCase(const ObjListCase& c, ObjListSide& side,
                                  std::string* why) {
  for (uint32_t i = 0; i < 16; ++i) {
    const int32_t v = i == 0 ? c.n : i <= c.vals.size() ? c.vals[i - 1] : 0;
    if (!side.set_cfg(i, v)) {
      *why = "cfg update";
      return "";
    }
  }
  std::string line = c.name;
  const struct {
    const char *fill, *peek, *drain;
    uint32_t hash_key, count_key;
  } kinds[] = {{"list_fill", "list_peek", "list_drain", 0, 1},
               {"tree_fill", nullptr, "tree_drain", 2, 3}};
  for (const auto& k : kinds) {
    absl::StrAppend(&line, "\t");
    for (int f = 0; f < c.fills; ++f) {
      int32_t ret = 0;
      if (!side.run(k.fill, &ret)) {
        *why = k.fill;
        return "";
      }
      absl::StrAppend(&line, f == 0 ? "" : " ", ret);
    }
    if (k.peek != nullptr) {
      int32_t ret = 0;
      if (!side.run(k.peek, &ret)) {
        *why = k.peek;
        return "";
      }
      absl::StrAppend(&line, " peek ", ret);
    }
    for (int d = 0; d < 2; ++d) {
      int32_t ret = 0;
      int64_t hash = 0, count = 0;
      if (!side.run(k.drain, &ret) || !side.result(k.hash_key, &hash) ||
          !side.result(k.count_key, &count)) {
        *why = k.drain;
        return "";
      }
      absl::StrAppend(&line, " ", ret, ":", hash, ":", count);
    }
  }
  return line;
}

// The packet every program runs on (tc test runs need one).
inline std::vector<uint8_t> ObjListPacket() {
  return Ipv4Frame(1, 2, 3, 4, 17, 64);
}

// bpfemu's side: `obj` loaded, in either face.
inline ObjListSide EmuObjListSide(native::Object& obj) {
  ObjListSide s;
  s.set_cfg = [&obj](uint32_t key, int32_t v) {
    return MapUpdateElem(obj.MapFd("cfg"), &key, &v, 0) == 0;
  };
  s.run = [&obj](const char* name, int32_t* ret) {
    const native::Program* p = obj.FindProgram(name);
    if (p == nullptr) return false;
    const native::PacketResult r = p->RunSkb(ObjListPacket());
    *ret = static_cast<int32_t>(r.retval);
    return r.err == 0;
  };
  s.result = [&obj](uint32_t key, int64_t* v) {
    return MapLookupElem(obj.MapFd("results"), &key, v) == 0;
  };
  return s;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_OBJ_LIST_CASES_H_
