// SPDX-License-Identifier: Apache-2.0
// tests/examples/task_cgroup_kfuncs.bpf.c (kfuncB47) on the kernel
// (BPF_PROG_TEST_RUN of the syscall program, which runs in this thread) and
// on bpfemu, natively and as bytecode: bpf_task_from_vpid,
// bpf_task_under_cgroup, bpf_cgroup_ancestor, bpf_task_get_cgroup1 and
// bpf_send_signal_task for this thread, this process, its parent and pids
// that name no task, against the cgroup2 root and two cgroups the test
// makes (this process moved into the deeper one, which bpfemu is told with
// SetCurrentCgroup), and every cgroup v1 hierarchy id of the host. Every
// case gives the same line on both, and a signal the program sends to this
// thread arrives with the same siginfo. bpfemu holds no cgroup reference
// afterwards.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  int32_t pid, sig, type, level, hid, pad;
  uint64_t cgid, anc_id, value;
};

struct Out {
  int64_t v[12];
};

// A signal whose default action is to ignore it: a stray one harms nothing.
constexpr int kSig = SIGWINCH;

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

// The pending kSig's siginfo, or "none".
std::string TakeSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kSig);
  siginfo_t info;
  const struct timespec zero = {0, 0};
  if (sigtimedwait(&set, &info, &zero) != kSig) return "none";
  return absl::StrCat(
      "signo ", info.si_signo, " code ", info.si_code, " pid ", info.si_pid,
      " uid ", info.si_uid, " value 0x",
      absl::Hex(reinterpret_cast<uint64_t>(info.si_value.sival_ptr)));
}

class TaskCgroupKfuncsCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(TaskCgroupKfuncsCompareTest, SameAnswersAsTheKernel) {
  const std::string& mount = Cgroup2Mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  // Two cgroups of the test's own, this process in the deeper one.
  const std::string a_rel = "/bpfemu_tck_" + std::to_string(getpid());
  const std::string b_rel = a_rel + "/b";
  rmdir((mount + b_rel).c_str());  // a failed run's
  rmdir((mount + a_rel).c_str());
  ASSERT_EQ(mkdir((mount + a_rel).c_str(), 0755), 0) << mount + a_rel;
  ASSERT_EQ(mkdir((mount + b_rel).c_str(), 0755), 0);
  const std::string own_before = CurrentCgroupPath();
  const bool moved =
      WriteFile(mount + b_rel + "/cgroup.procs", std::to_string(getpid()));
  const uint64_t root_id = kRootCgroupId, a_id = Ino(mount + a_rel),
                 b_id = Ino(mount + b_rel);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, kSig);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
  TakeSignal();

  const std::string path = "tests/examples/task_cgroup_kfuncs.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const uint64_t refs_before = CgroupRefs();
  {
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("task_cgroup_kfuncs");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
    const native::Program* prog = (*obj)->FindProgram("probe");
    ASSERT_NE(prog, nullptr);

    struct Case {
      const char* what;
      Args a;
    };
    const int32_t tid = gettid(), pid = getpid(), ppid = getppid();
    std::vector<Case> cases;
    auto add = [&](const char* what, int32_t p, int32_t sig, int32_t type,
                   int32_t level, int32_t hid, uint64_t cgid, uint64_t anc,
                   uint64_t value) {
      cases.push_back({what, {p, sig, type, level, hid, 0, cgid, anc, value}});
    };
    for (int32_t p : {tid, pid, ppid, 0, -1, 0x3fffffff, INT32_MIN}) {
      add("root", p, -1, 0, 0, 0, root_id, root_id, 0);
      add("root+1", p, -1, 0, 1, 0, root_id, root_id, 0);
      add("a@1", p, -1, 0, 1, 0, a_id, a_id, 0);
      add("b@0", p, -1, 0, 0, 0, b_id, root_id, 0);
      add("b@1", p, -1, 0, 1, 0, b_id, a_id, 0);
      add("b@2", p, -1, 0, 2, 0, b_id, b_id, 0);
      add("b@3", p, -1, 0, 3, 0, b_id, b_id, 0);
      add("b@-1", p, -1, 0, -1, 0, b_id, b_id, 0);
      add("none", p, -1, 0, 0, 0, 0xfffffff0, root_id, 0);
    }
    // Every v1 hierarchy id (the host numbers them from 1), and ids that
    // are none; each at the levels 0..3 of its ancestors.
    for (int32_t p : {tid, ppid}) {
      for (int32_t hid = -1; hid <= 12; ++hid) {
        for (int32_t level = 0; level <= 3; ++level) {
          add("v1", p, -1, 0, level, hid, root_id, root_id, 0);
        }
      }
    }
    // bpf_send_signal_task: argument errors, signal 0 to every task, a
    // real signal to this thread and to its process.
    for (int32_t type : {0, 1, 2, 3, -1}) {
      add("sig0", tid, 0, type, 0, 0, root_id, root_id, 0);
      add("sig0 parent", ppid, 0, type, 0, 0, root_id, root_id, 0);
      add("sig65", tid, 65, type, 0, 0, root_id, root_id, 0);
      add("sig-5", tid, -5, type, 0, 0, root_id, root_id, 0);
    }
    add("sig thread", tid, kSig, 0, 0, 0, root_id, root_id, 0x1234);
    add("sig process", tid, kSig, 1, 0, 0, root_id, root_id,
        0xfedcba9876543210ull);
    add("sig pid type", pid, kSig, 0, 0, 0, root_id, root_id, 7);

    const uint32_t zero = 0;
    std::string kl, el;
    for (const Case& c : cases) {
      const std::string head =
          absl::StrCat(c.what, " pid ",
                       c.a.pid == tid    ? std::string("tid")
                       : c.a.pid == pid  ? std::string("pid")
                       : c.a.pid == ppid ? std::string("ppid")
                                         : std::to_string(c.a.pid),
                       " sig ", c.a.sig, " type ", c.a.type, " level ",
                       c.a.level, " hid ", c.a.hid, ":");
      Args ka = c.a, ea = c.a;
      const KernelObject::Result kr =
          KernelObject::RunSyscall(kernel->ProgFd("probe"), &ka, sizeof(ka));
      ASSERT_EQ(kr.err, 0) << head;
      Out ko{}, eo{};
      ASSERT_EQ(
          KernelBackend::Get().Lookup(kernel->MapFd("res"), &zero, &ko, 0), 0);
      const std::string ksig = TakeSignal();
      SetCurrentCgroup(moved ? std::optional<std::string>(b_rel)
                             : std::nullopt);
      const uint32_t eret = prog->Run(&ea);
      SetCurrentCgroup(std::nullopt);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &eo), 0);
      const std::string esig = TakeSignal();
      auto line = [&](uint32_t ret, const Out& o, const std::string& sig) {
        std::string s = absl::StrCat(head, " ret ", ret);
        for (int64_t v : o.v) absl::StrAppend(&s, " ", v);
        return absl::StrCat(s, " ", sig, "\n");
      };
      kl += line(kr.retval, ko, ksig);
      el += line(eret, eo, esig);
    }
    EXPECT_EQ(el, kl);
    std::printf("task_cgroup_kfuncs (%s, moved %d): %zu cases\n%s",
                GetParam() ? "bytecode" : "native", moved ? 1 : 0, cases.size(),
                kl.c_str());
    // What the kernel's answers must be, whatever bpfemu says.
    EXPECT_NE(kl.find("sig thread pid tid sig 28 type 0 level 0 hid 0: ret 0 "
                      "1 1 1 1 1 1 1 0 0 0 0 0 signo 28 code 128 pid 0 uid 0 "
                      "value 0x1234"),
              std::string::npos);
  }
  EXPECT_EQ(CgroupRefs(), refs_before);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  if (moved) {
    WriteFile(mount + (own_before == "/" ? "" : own_before) + "/cgroup.procs",
              std::to_string(getpid()));
  }
  rmdir((mount + b_rel).c_str());
  rmdir((mount + a_rel).c_str());
}

INSTANTIATE_TEST_SUITE_P(Faces, TaskCgroupKfuncsCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
