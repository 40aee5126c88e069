// SPDX-License-Identifier: Apache-2.0
// The kernel's recorded answers that the unprivileged example tests check
// bpfemu against (tests/examples/testdata/*.expected, written by the
// matching *_compare_test as root): a "# kernel RELEASE" line, comments,
// and one tab-separated line per case keyed by its first field.

#ifndef BPFEMU_TESTS_EXAMPLES_RECORDED_H_
#define BPFEMU_TESTS_EXAMPLES_RECORDED_H_

#include <sys/utsname.h>

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

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_RECORDED_H_
