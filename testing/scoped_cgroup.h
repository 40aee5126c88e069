// SPDX-License-Identifier: Apache-2.0
// A cgroup v2 child made for a kernel comparison that attaches programs
// (BPF_CGROUP_*): under the hierarchy emu/cgroup.h Cgroup2Mount() finds,
// named <prefix>_<pid>; whatever was attached through it is detached and
// the directory removed when it goes, however the test ends (rmdir retried
// while the kernel still frees a child that just left).

#ifndef BPFEMU_TESTING_SCOPED_CGROUP_H_
#define BPFEMU_TESTING_SCOPED_CGROUP_H_

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "emu/cgroup.h"

namespace bpfemu {

class ScopedCgroup {
 public:
  explicit ScopedCgroup(const std::string& prefix) {
    const std::string& mount = Cgroup2Mount();
    if (mount.empty()) {
      why_ = "no cgroup2 hierarchy mounted";
      return;
    }
    dir_ = mount + "/" + prefix + "_" + std::to_string(getpid());
    rmdir(dir_.c_str());  // a leftover of a killed run
    if (mkdir(dir_.c_str(), 0755) != 0) {
      why_ = dir_ + ": " + std::strerror(errno);
      dir_.clear();
      return;
    }
    fd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd_ < 0) why_ = dir_ + ": " + std::strerror(errno);
    procs_ = dir_ + "/cgroup.procs";
  }
  ~ScopedCgroup() {
    for (const auto& [prog, type] : attached_) {
      bpf_prog_detach2(prog, fd_, type);
      close(prog);
    }
    if (fd_ >= 0) close(fd_);
    if (dir_.empty()) return;
    for (int i = 0; i < 50; ++i) {
      if (rmdir(dir_.c_str()) == 0 || errno == ENOENT) break;
      usleep(20000);
    }
  }
  ScopedCgroup(const ScopedCgroup&) = delete;
  ScopedCgroup& operator=(const ScopedCgroup&) = delete;

  // False, with why(), when the child could not be made.
  bool ok() const { return fd_ >= 0; }
  const std::string& why() const { return why_; }
  int fd() const { return fd_; }
  // Its cgroup.procs: a child writes its pid there to enter.
  const std::string& procs() const { return procs_; }

  // bpf_prog_attach(prog, fd(), type, flags): 0 or -errno. The program is
  // held (a dup of `prog`) and detached at the end.
  int Attach(int prog, bpf_attach_type type, unsigned flags) {
    if (bpf_prog_attach(prog, fd_, type, flags) != 0) return -errno;
    attached_.emplace_back(dup(prog), type);
    return 0;
  }

 private:
  std::string dir_, procs_, why_;
  int fd_ = -1;
  std::vector<std::pair<int, bpf_attach_type>> attached_;
};

}  // namespace bpfemu

#endif  // BPFEMU_TESTING_SCOPED_CGROUP_H_
