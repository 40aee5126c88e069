// SPDX-License-Identifier: Apache-2.0
// tests/examples/wq.bpf.c (kfuncB47) on the kernel (BPF_PROG_TEST_RUN of
// the syscall program) and on bpfemu, natively and as bytecode: BPF
// workqueues on an ARRAY and a HASH value. Each step gives the same
// returns (argument errors, -EBUSY of a second init, -EINVAL of a start
// before the callback), and once the work has run (the kernel's kworker:
// polled for up to a second; bpfemu: AdvanceTimers(0)) the element shows
// the same count of callback runs and the key the callback was given, also
// after userspace replaced the array value or deleted the hash element
// (which frees the wq: bpf_obj_free_workqueue).

#include <linux/bpf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/timer.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/elem_steps_side.h"

namespace bpfemu::examples {
namespace {

struct Args {
  uint32_t which, key;
  uint32_t op[8];
  uint32_t flags[8];
};

struct Elem {
  uint64_t runs;
  int64_t key_seen;
  uint64_t wq[2];
};

constexpr uint32_t kInit = 1, kCb = 2, kStart = 3, kInsert = 4;

struct Side : ElemStepsSide<Args, Elem> {
  std::function<void(uint32_t which, uint32_t key, uint64_t runs)> drain;
};

std::string Steps(Side& s) {
  std::string out;
  auto step = [&](const char* what, uint32_t which, uint32_t key,
                  std::vector<std::pair<uint32_t, uint32_t>> ops) {
    Args a{};
    a.which = which;
    a.key = key;
    for (size_t i = 0; i < ops.size(); ++i) {
      a.op[i] = ops[i].first;
      a.flags[i] = ops[i].second;
    }
    Elem before{};
    const bool had = s.lookup(which, key, &before) == 0;
    int64_t ret[8] = {};
    if (!s.run(&a, ret)) {
      absl::StrAppend(&out, what, ": run failed\n");
      return;
    }
    bool started = false;
    absl::StrAppend(&out, what, ":");
    for (size_t i = 0; i < ops.size(); ++i) {
      absl::StrAppend(&out, " ", ret[i]);
      started |= ops[i].first == kStart && ret[i] == 0;
    }
    if (started) s.drain(which, key, had ? before.runs : 0);
    Elem e{};
    const int err = s.lookup(which, key, &e);
    absl::StrAppend(&out, " | elem ", err, " runs ", err == 0 ? e.runs : 0,
                    " key ", err == 0 ? e.key_seen : 0, "\n");
  };
  step(
      "arr 1 before init", 0, 1,
      {{kStart, 0}, {kCb, 0}, {kInit, 1}, {kInit, 0}, {kStart, 0}, {kInit, 0}});
  step("arr 0 init, callback, start", 0, 0,
       {{kInit, 0}, {kInit, 0}, {kCb, 1}, {kCb, 0}, {kStart, 1}, {kStart, 0}});
  step("arr 0 again", 0, 0, {{kStart, 0}});
  const Elem zero{};
  absl::StrAppend(&out, "update arr 0 = ", s.update(0, 0, &zero), "\n");
  step("arr 0 after update", 0, 0,
       {{kStart, 0}, {kInit, 0}, {kCb, 0}, {kStart, 0}});
  step("h 7", 1, 7,
       {{kStart, 0}, {kInsert, 0}, {kInit, 0}, {kCb, 0}, {kStart, 0}});
  absl::StrAppend(&out, "delete h 7 = ", s.del(1, 7), "\n");
  step("h 7 after delete", 1, 7,
       {{kInsert, 0}, {kInit, 0}, {kStart, 0}, {kCb, 2}});
  step("h 7 callback", 1, 7, {{kCb, 0}, {kStart, 0}});
  return out;
}

class WqCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(WqCompareTest, SameWorkAsTheKernel) {
  const std::string path = "tests/examples/wq.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("wq");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const native::Program* prog = (*obj)->FindProgram("steps");
  ASSERT_NE(prog, nullptr);
  Side ks;
  SetKernelSide(kernel.get(), &ks);
  // The kworker runs the work soon after: wait for the count to move.
  ks.drain = [&](uint32_t which, uint32_t key, uint64_t runs) {
    for (int i = 0; i < 1000; ++i) {
      Elem e{};
      if (ks.lookup(which, key, &e) == 0 && e.runs != runs) break;
      usleep(1000);
    }
    usleep(20000);  // and for a second run, should there be one
  };
  Side es;
  SetEmuSide(obj->get(), prog, &es);
  es.drain = [&](uint32_t, uint32_t, uint64_t) { AdvanceTimers(0); };

  const std::string kl = Steps(ks);
  const std::string el = Steps(es);
  EXPECT_EQ(el, kl) << interp::LastFault();
  std::printf("wq (%s):\n%s", GetParam() ? "bytecode" : "native", kl.c_str());
  // The kernel's own answers, whatever bpfemu says.
  EXPECT_NE(kl.find("arr 0 init, callback, start: 0 -16 -22 0 -22 0 | elem 0 "
                    "runs 1 key 0"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Faces, WqCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
