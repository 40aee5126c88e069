// SPDX-License-Identifier: Apache-2.0
// current_task.bpf.c: the current task read through CO-RE
// (bpf_get_current_task + BPF_CORE_READ, bpf_get_current_task_btf +
// direct loads) gives the calling thread's own pid, tgid, comm, parent,
// group leader and ids, on the main thread and on another thread, as
// bytecode on bpfemu (any user) and, as root, equal to what the kernel's
// run of the same object gives (native/task_model.h).

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "emu/prog.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

constexpr char kPath[] = "tests/examples/current_task.bpf.o";

struct Seen {  // struct seen of current_task.bpf.c
  uint32_t pid, tgid, ppid, leader_pid;
  uint32_t uid, euid, grandparent_pid, btf_pid;
  uint32_t btf_ppid, same_task;
  uint64_t pid_tgid;
  char comm[16];
  char parent_comm[16];
  bool operator==(const Seen& o) const {
    return std::memcmp(this, &o, sizeof(o)) == 0;
  }
};
static_assert(sizeof(Seen) == 80);

// What the calling thread knows of itself.
void ExpectSelf(const Seen& s) {
  char name[16] = {};
  prctl(PR_GET_NAME, name);
  EXPECT_EQ(s.pid, static_cast<uint32_t>(gettid()));
  EXPECT_EQ(s.tgid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(s.ppid, static_cast<uint32_t>(getppid()));
  EXPECT_EQ(s.leader_pid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(s.uid, getuid());
  EXPECT_EQ(s.euid, geteuid());
  EXPECT_EQ(s.btf_pid, s.pid);
  EXPECT_EQ(s.btf_ppid, s.ppid);
  EXPECT_EQ(s.same_task, 1u);
  EXPECT_EQ(s.pid_tgid, uint64_t{s.tgid} << 32 | s.pid);
  EXPECT_STREQ(s.comm, name);
  EXPECT_NE(s.parent_comm[0], '\0');
}

// Runs read_task on the emulator as bytecode, on this thread.
Seen RunEmulated() {
  Seen s = {};
  auto obj = native::Object::OpenBytecode(kPath);
  EXPECT_TRUE(obj.ok()) << obj.status();
  if (!obj.ok()) return s;
  EXPECT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("read_task");
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return s;
  EXPECT_EQ(p->RunRawTp({}), 0u);
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  const uint32_t zero = 0;
  EXPECT_EQ((*obj)->FindMap("seen")->LookupElem(&zero, &s, 0), 0);
  return s;
}

// The same on the kernel (bpf_prog_test_run_raw_tp runs on this thread).
Seen RunOnKernel() {
  Seen s = {};
  std::unique_ptr<KernelObject> k;
  EXPECT_EQ(KernelObject::Load(kPath, &k), 0);
  if (k == nullptr) return s;
  const KernelObject::Result r =
      KernelObject::RunRawTp(k->ProgFd("read_task"), {});
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.retval, 0u);
  const uint32_t zero = 0;
  EXPECT_EQ(bpf_map_lookup_elem(k->MapFd("seen"), &zero, &s), 0);
  return s;
}

TEST(CurrentTaskTest, ReadsTheCallingThread) {
  prctl(PR_SET_NAME, "ct_main");
  ExpectSelf(RunEmulated());
  std::thread([] {
    prctl(PR_SET_NAME, "ct_thread");
    const Seen s = RunEmulated();
    ExpectSelf(s);
    EXPECT_NE(s.pid, s.tgid);
  }).join();
}

class CurrentTaskCompareTest : public KernelTest<> {};

TEST_F(CurrentTaskCompareTest, KernelAndEmulatorReadTheSameTask) {
  for (const char* name : {"ct_kmain", "ct_kthread"}) {
    SCOPED_TRACE(name);
    auto run = [name] {
      prctl(PR_SET_NAME, name);
      const Seen kernel = RunOnKernel();
      ExpectSelf(kernel);
      const Seen emu = RunEmulated();
      EXPECT_EQ(emu, kernel);
      EXPECT_EQ(emu.grandparent_pid, kernel.grandparent_pid);
      EXPECT_STREQ(emu.parent_comm, kernel.parent_comm);
    };
    if (std::string(name) == "ct_kmain") {
      run();
    } else {
      std::thread(run).join();
    }
  }
}

}  // namespace
}  // namespace bpfemu::examples
