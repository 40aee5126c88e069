// SPDX-License-Identifier: Apache-2.0
// A forked child whose output comes back through a pipe: what the kernel
// comparisons use to act from another process (one moved into a cgroup,
// in a new network namespace, with its own session keyring) and read what
// it saw.

#ifndef BPFEMU_TESTING_IN_CHILD_H_
#define BPFEMU_TESTING_IN_CHILD_H_

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace bpfemu {

// Writes all of `s` to `fd` (as far as it can).
inline void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

// Runs fn(out) in a forked child, which exits after it (or where fn calls
// _exit); gives back everything the child wrote to `out`, once it has
// exited, and its wait status in *status (if not null).
inline std::string InChild(const std::function<void(int out)>& fn,
                           int* status = nullptr) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return "fork failed";
  }
  if (pid == 0) {
    close(p[0]);
    fn(p[1]);
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (status != nullptr) *status = st;
  return out;
}

}  // namespace bpfemu

#endif  // BPFEMU_TESTING_IN_CHILD_H_
