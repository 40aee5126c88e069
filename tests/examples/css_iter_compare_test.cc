// SPDX-License-Identifier: Apache-2.0
// tests/examples/css_iter.bpf.c (kfuncB47) on the kernel
// (BPF_PROG_TEST_RUN of the syscall programs) and on bpfemu, natively and
// as bytecode: the css iterators over cgroups the test makes below the
// cgroup2 root (A, its children b and c made in that order, b's child d)
// in pre order, post order and up, exactly; from the root by property (the
// root first or not, more than four cgroups: the machine's other cgroups may
// differ in number and order between runs); the order errors (SELF_ONLY
// included). And the tasks of a css: this process moved into d (its process,
// its threads), A (none of its own), the root (others) and the flag errors.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "emu/cgroup.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Args {
  uint64_t ids[6];
  uint32_t start, flags;
  int32_t self, leader;
};

struct Out {
  int64_t new_ret;
  uint64_t count;
  uint64_t seq[16];
  uint64_t self, leader;
};

uint64_t Ino(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

bool WriteFile(const std::string& path, const std::string& s) {
  std::ofstream f(path);
  f << s;
  f.flush();
  return f.good();
}

std::string Line(const Out& o, bool exact) {
  std::string s = absl::StrCat("new ", o.new_ret, " count ");
  if (exact) {
    absl::StrAppend(&s, o.count, " seq");
    for (uint64_t i = 0; i < o.count && i < 16; ++i) {
      absl::StrAppend(&s, " ", o.seq[i]);
    }
  } else {
    // Which cgroup comes first after the root's own place is the
    // machine's: a post-order walk starts at the first leaf of the whole
    // tree, which other cgroups (other tests') decide.
    absl::StrAppend(&s, o.count > 4 ? ">4" : "<=4", " first ",
                    o.count == 0    ? "none"
                    : o.seq[0] == 0 ? "root"
                                    : "other");
  }
  return absl::StrCat(s, " self ", o.self, " leader ", o.leader);
}

class CssIterCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(CssIterCompareTest, SameWalksAsTheKernel) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  const std::string a = "/bpfemu_css_" + std::to_string(getpid());
  const std::string rels[] = {a, a + "/b", a + "/c", a + "/b/d"};
  for (int i = 3; i >= 0; --i) rmdir((mount + rels[i]).c_str());
  for (const std::string& r : rels) {
    ASSERT_EQ(mkdir((mount + r).c_str(), 0755), 0) << mount + r;
  }
  const std::string own_before = CurrentCgroupPath();
  const bool moved =
      WriteFile(mount + rels[3] + "/cgroup.procs", std::to_string(getpid()));
  const uint64_t ids[6] = {kRootCgroupId,        Ino(mount + rels[0]),
                           Ino(mount + rels[1]), Ino(mount + rels[2]),
                           Ino(mount + rels[3]), 0xfffffff0};

  const std::string path = "tests/examples/css_iter.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const uint64_t refs_before = CgroupRefs();
  {
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("css_iter");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
    const uint32_t zero = 0;
    const int32_t tid = gettid(), pid = getpid();
    std::string kl, el;
    auto run = [&](const char* prog, const char* what, uint32_t start,
                   uint32_t flags, bool exact) {
      Args args{};
      std::memcpy(args.ids, ids, sizeof(ids));
      if (std::string(prog) == "walk_tasks") args.ids[0] = ids[start];
      args.start = start;
      args.flags = flags;
      args.self = tid;
      args.leader = pid;
      Args ka = args, ea = args;
      const KernelObject::Result kr =
          KernelObject::RunSyscall(kernel->ProgFd(prog), &ka, sizeof(ka));
      Out ko{}, eo{};
      if (kr.err != 0 || KernelBackend::Get().Lookup(kernel->MapFd("res"),
                                                     &zero, &ko, 0) != 0) {
        kl += absl::StrCat(what, ": kernel run failed ", kr.err, "\n");
      } else {
        kl +=
            absl::StrCat(what, ": ret ", kr.retval, " ", Line(ko, exact), "\n");
      }
      const native::Program* p = (*obj)->FindProgram(prog);
      if (moved) SetCurrentCgroup(rels[3]);
      const uint32_t eret = p != nullptr ? p->Run(&ea) : 99;
      SetCurrentCgroup(std::nullopt);
      if (MapLookupElem((*obj)->MapFd("res"), &zero, &eo) != 0) {
        el += absl::StrCat(what, ": lookup failed\n");
      } else {
        el += absl::StrCat(what, ": ret ", eret, " ", Line(eo, exact), "\n");
      }
    };
    // enum bpf_cgroup_iter_order.
    constexpr uint32_t kSelfOnly = 1, kPre = 2, kPost = 3, kUp = 4;
    run("walk_css", "A pre", 1, kPre, true);
    run("walk_css", "A post", 1, kPost, true);
    run("walk_css", "b pre", 2, kPre, true);
    run("walk_css", "b post", 2, kPost, true);
    run("walk_css", "c pre", 3, kPre, true);
    run("walk_css", "d up", 4, kUp, true);
    run("walk_css", "d pre", 4, kPre, true);
    run("walk_css", "root up", 0, kUp, true);
    run("walk_css", "root pre", 0, kPre, false);
    run("walk_css", "root post", 0, kPost, false);
    run("walk_css", "A order 0", 1, 0, true);
    run("walk_css", "A self only", 1, kSelfOnly, true);
    run("walk_css", "A order 5", 1, 5, true);
    run("walk_css", "A order ~0", 1, ~0u, true);
    run("walk_css", "no cgroup", 5, kPre, true);
    if (moved) {
      run("walk_tasks", "d procs", 4, 1, true);
      run("walk_tasks", "d threads", 4, 0, true);
      run("walk_tasks", "d procs threaded", 4, 3, true);
      run("walk_tasks", "A procs", 1, 1, true);
      run("walk_tasks", "root procs", 0, 1, false);
    }
    run("walk_tasks", "d flags 2", 4, 2, true);
    run("walk_tasks", "d flags 4", 4, 4, true);
    EXPECT_EQ(el, kl);
    std::printf("css_iter (%s, moved %d):\n%s",
                GetParam() ? "bytecode" : "native", moved ? 1 : 0, kl.c_str());
    EXPECT_NE(kl.find("A pre: ret 0 new 0 count 4 seq 1 2 4 3"),
              std::string::npos);
  }
  EXPECT_EQ(CgroupRefs(), refs_before);
  if (moved) {
    WriteFile(mount + (own_before == "/" ? "" : own_before) + "/cgroup.procs",
              std::to_string(getpid()));
  }
  for (int i = 3; i >= 0; --i) rmdir((mount + rels[i]).c_str());
}

INSTANTIATE_TEST_SUITE_P(Faces, CssIterCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
