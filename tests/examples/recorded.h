// SPDX-License-Identifier: Apache-2.0
// The kernel's recorded answers that the unprivileged example tests check
// bpfemu against (tests/examples/testdata/*.expected, written by the
// matching *_compare_test as root): a "# kernel RELEASE" line, comments,
// and one tab-separated line per case keyed by its first field.

#ifndef BPFEMU_TESTS_EXAMPLES_RECORDED_H_
#define BPFEMU_TESTS_EXAMPLES_RECORDED_H_

#include <sys/utsname.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace bpfemu::examples {

struct Recorded {
  std::string kernel;                        // the release it was made on
  std::map<std::string, std::string> lines;  // case name -> its line
};

inline Recorded ReadRecorded(const std::string& path) {
  Recorded r;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# kernel ", 0) == 0) r.kernel = line.substr(9);
    if (line.empty() || line[0] == '#') continue;
    r.lines[line.substr(0, line.find('\t'))] = line;
  }
  return r;
}

// Writes `lines` (one per case) to `path` as the record of `example`'s
// cases on the running kernel (its *_compare_test does, as root); false if
// the file cannot be written.
inline bool WriteRecorded(const std::string& path, const std::string& example,
                          const std::string& lines) {
  struct utsname u;
  if (uname(&u) != 0) return false;
  std::ofstream out(path);
  out << "# The kernel's answers to tests/examples/" << example
      << "_cases.h (recorded by " << example
      << "_compare_test; format there).\n# kernel " << u.release << "\n"
      << lines;
  return static_cast<bool>(out.flush());
}

// Checks every line bpfemu made (one per case, keyed by its first field; a
// trailing newline is not compared) against the recorded line of its case,
// and that every recorded case was made, but those in `not_compared` (values
// that are the recording run's own). `example` names the *_compare_test that
// re-records. Prints and returns how many lines were checked.
inline int ExpectSameAsRecorded(
    const Recorded& rec, const std::vector<std::string>& lines,
    const std::string& example,
    const std::set<std::string>& not_compared = {}) {
  int checked = 0;
  for (std::string line : lines) {
    if (!line.empty() && line.back() == '\n') line.pop_back();
    const std::string key = line.substr(0, line.find('\t'));
    if (not_compared.count(key) != 0) continue;
    auto it = rec.lines.find(key);
    if (it == rec.lines.end()) {
      ADD_FAILURE() << key << ": not recorded: re-record (see " << example
                    << "_compare_test.cc)";
      continue;
    }
    EXPECT_EQ(line, it->second);
    ++checked;
  }
  size_t want = rec.lines.size();
  for (const std::string& key : not_compared) want -= rec.lines.count(key);
  EXPECT_EQ(static_cast<size_t>(checked), want)
      << "the record has cases the test no longer makes";
  std::printf("%s: %d lines checked against the recorded kernel\n",
              example.c_str(), checked);
  return checked;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_RECORDED_H_
