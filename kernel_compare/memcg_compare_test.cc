// SPDX-License-Identifier: Apache-2.0
// Creation inside a memory cgroup. Since 5.11 the kernel charges a map's
// memory to its creator's memory cgroup (bpf_map_area_alloc with
// __GFP_ACCOUNT, kernel/bpf/syscall.c; mm/memcontrol.c) and a map the
// cgroup cannot hold fails at create with ENOMEM; the creator lives on. The
// emulator must answer the same, not let the cgroup's OOM killer end the
// process while it backs the region. Each case runs the create in a child
// moved into a fresh memory cgroup with a 32 MiB limit; kernel maps stay
// at or under 48 MiB of request.

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"

namespace bpfemu {
namespace {

constexpr uint64_t kLimit = uint64_t{32} << 20;

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.flush();
  return f.good();
}

// A child memory cgroup of this process's, limited to kLimit: cgroup v1's
// memory hierarchy, or v2 where the parent delegates the memory controller.
// Empty with *why set when there is none this process may make.
std::string MakeCgroup(std::string* why) {
  if (geteuid() != 0) {
    *why = "making a memory cgroup needs root";
    return "";
  }
  std::ifstream in("/proc/self/cgroup");
  std::string line, v1, v2;
  while (std::getline(in, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string ctl = line.substr(a + 1, b - a - 1);
    if (("," + ctl + ",").find(",memory,") != std::string::npos) {
      v1 = line.substr(b + 1);
    }
    if (line.compare(0, a, "0") == 0 && ctl.empty()) v2 = line.substr(b + 1);
  }
  const std::string name = "/bpfemu-memcg-" + std::to_string(getpid());
  struct Candidate {
    std::string dir, limit;
  };
  const Candidate candidates[] = {
      {"/sys/fs/cgroup/memory" + (v1 == "/" ? "" : v1) + name,
       "memory.limit_in_bytes"},
      {"/sys/fs/cgroup" + (v2 == "/" ? "" : v2) + name, "memory.max"},
  };
  for (const Candidate& c : candidates) {
    if ((c.dir.find("/memory/") != std::string::npos && v1.empty()) ||
        (c.limit == "memory.max" && v2.empty())) {
      continue;
    }
    if (mkdir(c.dir.c_str(), 0755) != 0) continue;
    if (WriteFile(c.dir + "/" + c.limit, std::to_string(kLimit))) {
      return c.dir;
    }
    rmdir(c.dir.c_str());
  }
  *why = "no memory cgroup this process can create and limit";
  return "";
}

// Creates `attr` on `backend` in a child inside `cgroup`: the child's exit
// code is the errno (0 for success); a signal is reported as its number
// plus 1000.
int CreateInCgroup(Backend& backend, const std::string& cgroup,
                   const MapAttr& attr) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!WriteFile(cgroup + "/cgroup.procs", std::to_string(getpid()))) {
      _exit(200);
    }
    const int fd = backend.CreateMap(attr);
    if (fd >= 0) backend.Close(fd);
    _exit(fd >= 0 ? 0 : -fd);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

MapAttr Array(uint32_t entries) {
  MapAttr a{};
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4096;
  a.max_entries = entries;
  return a;
}

class MemcgCreate : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    backend_ = std::string(GetParam()) == "kernel"
                   ? static_cast<Backend*>(&KernelBackend::Get())
                   : static_cast<Backend*>(&EmuBackend::Get());
    if (std::string why = backend_->Unavailable(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    std::string why;
    cgroup_ = MakeCgroup(&why);
    if (cgroup_.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    // The cgroup empties when the child is reaped; v1 may take a moment to
    // let go of it.
    for (int i = 0; i < 50 && !cgroup_.empty(); ++i) {
      if (rmdir(cgroup_.c_str()) == 0 || errno == ENOENT) break;
      usleep(20000);
    }
  }
  Backend* backend_ = nullptr;
  std::string cgroup_;
};

TEST_P(MemcgCreate, MapLargerThanTheCgroupFailsWithEnomem) {
  // 48 MiB of values in a 32 MiB cgroup.
  EXPECT_EQ(CreateInCgroup(*backend_, cgroup_, Array(12288)), ENOMEM)
      << "(1000 + n: the creator was killed by signal n)";
}

TEST_P(MemcgCreate, MapTheCgroupHoldsIsCreated) {
  EXPECT_EQ(CreateInCgroup(*backend_, cgroup_, Array(2048)), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, MemcgCreate,
                         ::testing::Values("emu", "kernel"),
                         [](const auto& info) {
                           return std::string(info.param);
                         });

}  // namespace
}  // namespace bpfemu
