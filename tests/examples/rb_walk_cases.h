// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/rb_walk.bpf.c (bpf_rbtree_root / _left /
// _right, Linux 6.18) and their record: one line per case, "<case>\t<err>
// \t<retval>\t<shape before>\t<shape after>\t<removed>\t<drained>", each
// list comma-separated. rb_walk_compare_test runs them on the kernel and
// on bpfemu and writes the kernel's lines to testdata/rb_walk.expected
// when RB_WALK_RECORD names that file; rb_walk_test checks bpfemu against
// it without root.

#ifndef BPFEMU_TESTS_EXAMPLES_RB_WALK_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_RB_WALK_CASES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::examples::rb_walk {

inline constexpr int kMaxKeys = 16, kMaxRemove = 8, kPositions = 64;

// struct walk_case and struct walk_out of rb_walk.bpf.c.
struct Value {
  uint32_t n, nremove;
  int64_t keys[kMaxKeys];
  int64_t remove[kMaxRemove];
};
struct Out {
  int64_t before[kPositions];
  int64_t after[kPositions];
  int64_t removed[kMaxRemove];
  int64_t drained[kMaxKeys + 1];
};

struct Case {
  std::string name;
  std::vector<int64_t> keys, remove;
  Value ToValue() const {
    Value v{};
    v.n = static_cast<uint32_t>(keys.size());
    v.nremove = static_cast<uint32_t>(remove.size());
    for (size_t i = 0; i < keys.size() && i < kMaxKeys; ++i)
      v.keys[i] = keys[i];
    for (size_t i = 0; i < remove.size() && i < kMaxRemove; ++i) {
      v.remove[i] = remove[i];
    }
    return v;
  }
};

inline std::vector<Case> Cases() {
  return {
      {"empty", {}, {1}},
      {"single", {42}, {42}},
      {"ascending", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {4, 8}},
      {"descending", {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, {10, 1, 5}},
      {"mixed", {5, 3, 8, 1, 4, 7, 9, 2, 6, 10}, {5, 99, 3}},
      {"duplicates", {3, 3, 3, 1, 1, 2}, {3, 1}},
      {"sixteen",
       {50, 20, 80, 10, 30, 70, 90, 5, 15, 25, 35, 65, 75, 85, 95, 1},
       {50, 20, 10, 5, 1, 80, 90, 95}},
      {"ascending remove all",
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
       {1, 2, 3, 4, 5, 6, 7, 8}},
      {"zigzag", {8, 1, 7, 2, 6, 3, 5, 4, 9, 0, 12, 11}, {7, 2, 9, 11, 8}},
      {"negative", {-5, 5, -10, 10, 0, -1, 1}, {0, -10, 10}},
  };
}

inline std::string List(const int64_t* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i != 0) s += ",";
    s += std::to_string(v[i]);
  }
  return s;
}

inline std::string Line(const std::string& name, int err, uint32_t retval,
                        const Out& o) {
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + List(o.before, kPositions) + "\t" + List(o.after, kPositions) +
         "\t" + List(o.removed, kMaxRemove) + "\t" +
         List(o.drained, kMaxKeys + 1) + "\n";
}

// `out` before a run: every answer 7777.
inline Out Unset() {
  Out o;
  for (int64_t& v : o.before) v = 7777;
  for (int64_t& v : o.after) v = 7777;
  for (int64_t& v : o.removed) v = 7777;
  for (int64_t& v : o.drained) v = 7777;
  return o;
}

}  // namespace bpfemu::examples::rb_walk

#endif  // BPFEMU_TESTS_EXAMPLES_RB_WALK_CASES_H_
