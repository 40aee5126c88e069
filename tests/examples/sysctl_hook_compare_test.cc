// SPDX-License-Identifier: Apache-2.0
// tests/examples/sysctl_hook.bpf.c on the kernel and on bpfemu, natively
// and as bytecode (issue 24). CGROUP_SYSCTL programs have no kernel test
// run, so the kernel side attaches them: both programs to a cgroup made
// below the cgroup2 root (BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, in that
// order), and a forked child in a network namespace of its own (its
// net.ipv4.tcp_keepalive_time starts at 7200 and dies with it) reads the
// sysctl, moves into the cgroup and makes the case's access (pread or
// pwrite at the case's position), then reads the sysctl again. bpfemu runs
// the same programs through RunSysctlHook (loader/cgroup_hooks.h) on the
// value the child first read. Compared, per case: everything each program
// recorded (names, values, helper returns, file_pos, retval before and
// after, sysctl_hook_scenario.h Dump) and the access's result (errno, or
// the bytes read / the length written, and the value a later read shows),
// which bpfemu's outcome gives through the handler's rules
// (sysctl_hook_scenario.h EmuResult).

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/cgroup.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/in_child.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/scoped_cgroup.h"
#include "tests/examples/sysctl_hook_scenario.h"

namespace bpfemu::examples::sysctl_hook {
namespace {

constexpr char kPath[] = "/proc/sys/net/ipv4/tcp_keepalive_time";

// What the child reports through a pipe.
struct ChildOut {
  int stage;  // 0: done; else the step that failed, with errno in err
  int err;
  char initial[64];
  long initial_len;
  long ret;  // the access's return value (errno in err when < 0)
  char data[64];
  long after_len;
  char after[64];
};

void ChildRun(const Case& c, const char* procs, int out_fd) {
  ChildOut o = {};
  auto fail = [&](int stage) {
    o.stage = stage;
    o.err = errno;
    (void)!write(out_fd, &o, sizeof(o));
    _exit(1);
  };
  if (unshare(CLONE_NEWNET) != 0) fail(1);
  int fd = open(kPath, O_RDONLY);
  if (fd < 0) fail(2);
  o.initial_len = pread(fd, o.initial, sizeof(o.initial) - 1, 0);
  if (o.initial_len < 0) fail(3);
  close(fd);
  const int pfd = open(procs, O_WRONLY);
  if (pfd < 0 || write(pfd, "0", 1) != 1) fail(4);
  close(pfd);
  fd = open(kPath, c.write ? O_RDWR : O_RDONLY);
  if (fd < 0) fail(5);
  errno = 0;
  o.ret = c.write ? pwrite(fd, c.value, std::strlen(c.value), c.pos)
                  : pread(fd, o.data, sizeof(o.data), c.pos);
  o.err = o.ret < 0 ? errno : 0;
  close(fd);
  fd = open(kPath, O_RDONLY);
  if (fd < 0) fail(6);
  o.after_len = pread(fd, o.after, sizeof(o.after) - 1, 0);
  close(fd);
  (void)!write(out_fd, &o, sizeof(o));
  _exit(0);
}

std::string KernelResult(const Case& c, const ChildOut& o) {
  const long after =
      Parsed(std::string(o.after, o.after_len > 0 ? o.after_len : 0));
  if (o.ret < 0) return absl::StrCat("errno ", o.err, " then ", after);
  if (!c.write) {
    return absl::StrCat("read ", o.ret, " ", Bytes(o.data, o.ret), " then ",
                        after);
  }
  return absl::StrCat("wrote ", o.ret, " then ", after);
}

class SysctlHookCompareTest
    : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(SysctlHookCompareTest, SameAccessesAsTheKernel) {
  ScopedCgroup cgroup("bpfemu_sysctl");
  if (Cgroup2Mount().empty()) GTEST_SKIP() << cgroup.why();
  ASSERT_TRUE(cgroup.ok()) << cgroup.why();
  const std::string& procs = cgroup.procs();

  const std::string path = "tests/examples/sysctl_hook.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  for (const char* n : {"sysctl_first", "sysctl_second"}) {
    const int fd = kernel->ProgFd(n);
    ASSERT_GE(fd, 0) << n;
    ASSERT_EQ(cgroup.Attach(fd, BPF_CGROUP_SYSCTL, BPF_F_ALLOW_MULTI), 0) << n;
  }
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("sysctl_hook");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  // The 4096 bytes "too long" sets: digits, on both sides.
  {
    std::string big(4096, '1');
    const uint32_t zero = 0;
    ASSERT_EQ(
        bpf_map_update_elem(kernel->MapFd("big"), &zero, big.data(), BPF_ANY),
        0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("big"), &zero, big.data(), BPF_ANY),
              0);
  }
  const int kcfg = kernel->MapFd("cfg"), kseen = kernel->MapFd("seen");
  int compared = 0;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    for (uint32_t k = 0; k < 3; ++k) {
      const sysctl_seen blank = {};
      if (k < 2) {
        ASSERT_EQ(bpf_map_update_elem(kcfg, &k, &c.cfg[k], BPF_ANY), 0);
      }
      ASSERT_EQ(bpf_map_update_elem(kseen, &k, &blank, BPF_ANY), 0);
    }
    const std::string out =
        InChild([&](int fd) { ChildRun(c, procs.c_str(), fd); });
    ChildOut o = {};
    ASSERT_EQ(out.size(), sizeof(o)) << out;
    std::memcpy(&o, out.data(), sizeof(o));
    ASSERT_EQ(o.stage, 0) << "child step " << o.stage << ": "
                          << strerror(o.err);
    sysctl_seen ks[3] = {};
    for (uint32_t k = 0; k < 3; ++k) {
      ASSERT_EQ(bpf_map_lookup_elem(kseen, &k, &ks[k]), 0);
    }
    const std::string initial(o.initial, o.initial_len);
    EmuRun e = {};
    ASSERT_EQ(EmuAccess(**obj, c, initial, &e), 0);  // NOLINT
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(Dump(e.seen[k]), Dump(ks[k])) << "record " << k;
    }
    EXPECT_EQ(EmuResult(e, c, initial), KernelResult(c, o));
    ++compared;
  }
  std::printf("sysctl_hook (%s): %d accesses compared\n",
              GetParam() ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, SysctlHookCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::sysctl_hook
