// SPDX-License-Identifier: Apache-2.0
// The kernel's recorded answers that the unprivileged example tests check
// bpfemu against (tests/examples/testdata/*.expected, written by the
// matching *_compare_test as root): a "# kernel RELEASE" line, comments,
// and one tab-separated line per case keyed by its first field.

#ifndef BPFEMU_TESTS_EXAMPLES_RECORDED_H_
#define BPFEMU_TESTS_EXAMPLES_RECORDED_H_

#include <fstream>
#include <map>
#include <string>

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

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_RECORDED_H_
