// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_task_vma.bpf.c (kfuncB47) on the kernel
// (BPF_PROG_TEST_RUN of the syscall program, which runs in this thread) and
// on bpfemu as bytecode (CO-RE): the open-coded vma iterator over this
// process's memory from a region the test lays out (a read-write and a
// read-only page between PROT_NONE pages: five vmas of known ranges), from
// inside it, from 0 and from the top of the address space; over its
// parent's memory; and a kernel thread's (kthreadd, no mm: -ENOENT). The
// kept vmas (start, end, flags, page offset, file) are compared exactly;
// the number of vmas of a whole address space by property (this process's
// heap and thread stacks change between the two runs).

#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Args {
  int32_t pid;
  uint32_t pad;
  uint64_t addr;
};

struct Out {
  int64_t new_ret;
  uint64_t count, ordered, got_task;
  uint64_t vma[6][5];
};

std::string Line(const Out& o, int keep, uint64_t base, bool exact_count) {
  std::string s = absl::StrCat("task ", o.got_task, " new ", o.new_ret,
                               " ordered ", o.ordered, " count ");
  absl::StrAppend(&s, exact_count ? std::to_string(o.count)
                                  : (o.count > 10 ? ">10" : "<=10"));
  for (int i = 0; i < keep && static_cast<uint64_t>(i) < o.count; ++i) {
    // Ranges relative to the test's region, to read them.
    absl::StrAppend(&s, " [", static_cast<int64_t>(o.vma[i][0] - base), ",",
                    static_cast<int64_t>(o.vma[i][1] - base), " flags 0x",
                    absl::Hex(o.vma[i][2]), " pgoff 0x", absl::Hex(o.vma[i][3]),
                    " file ", o.vma[i][4], "]");
  }
  return s;
}

class IterTaskVmaCompareTest : public KernelTest<::testing::Test> {};

TEST_F(IterTaskVmaCompareTest, SameVmasAsTheKernel) {
  const std::string path = "tests/examples/iter_task_vma.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("walk");
  ASSERT_NE(prog, nullptr);

  // Seven pages: none, rw (touched), none, r, none none none.
  const long page = sysconf(_SC_PAGESIZE);
  auto* region = static_cast<uint8_t*>(
      mmap(nullptr, 7 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(region, MAP_FAILED);
  ASSERT_EQ(mprotect(region + page, page, PROT_READ | PROT_WRITE), 0);
  std::memset(region + page, 7, page);
  ASSERT_EQ(mprotect(region + 3 * page, page, PROT_READ), 0);
  const uint64_t base = reinterpret_cast<uint64_t>(region);

  // kthreadd, when this host shows it.
  std::string comm;
  std::getline(std::ifstream("/proc/2/comm"), comm);

  const uint32_t zero = 0;
  std::string kl, el;
  auto run = [&](const char* what, Args a, int keep, bool exact) {
    Args ka = a, ea = a;
    const KernelObject::Result kr =
        KernelObject::RunSyscall(kernel->ProgFd("walk"), &ka, sizeof(ka));
    Out ko{}, eo{};
    if (kr.err != 0 ||
        KernelBackend::Get().Lookup(kernel->MapFd("res"), &zero, &ko, 0) != 0) {
      kl += absl::StrCat(what, ": kernel run failed ", kr.err, "\n");
    } else {
      kl += absl::StrCat(what, ": ret ", kr.retval, " ",
                         Line(ko, keep, base, exact), "\n");
    }
    const uint32_t eret = prog->Run(&ea);
    if (MapLookupElem((*obj)->MapFd("res"), &zero, &eo) != 0) {
      el += absl::StrCat(what, ": lookup failed\n");
    } else {
      el += absl::StrCat(what, ": ret ", eret, " ", Line(eo, keep, base, exact),
                         "\n");
    }
    return ko;
  };
  const int32_t tid = gettid(), ppid = getppid();
  const Out r = run("region", {tid, 0, base}, 5, false);
  EXPECT_EQ(r.new_ret, 0);
  EXPECT_EQ(r.vma[0][0], base);
  EXPECT_EQ(r.vma[1][0], base + page);
  EXPECT_EQ(r.vma[1][1], base + 2 * page);
  EXPECT_EQ(r.vma[3][0], base + 3 * page);
  EXPECT_EQ(r.vma[3][1], base + 4 * page);
  run("inside rw page", {tid, 0, base + page + 100}, 4, false);
  run("from 0", {tid, 0, 0}, 1, false);
  run("from the top", {tid, 0, ~uint64_t{0}}, 0, true);
  run("last page", {tid, 0, base + 7 * page - 1}, 0, false);
  run("parent", {ppid, 0, 0}, 0, false);
  if (comm == "kthreadd") run("kthreadd", {2, 0, 0}, 0, true);
  run("no task", {0x3fffffff, 0, 0}, 0, true);
  EXPECT_EQ(el, kl);
  std::printf("iter_task_vma:\n%s", kl.c_str());
  munmap(region, 7 * page);
}

}  // namespace
}  // namespace bpfemu::examples
