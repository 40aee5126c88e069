// SPDX-License-Identifier: Apache-2.0
// tests/examples/sysctl_hook.bpf.c on bpfemu alone (no kernel, no root),
// natively and as bytecode: the sysctl helpers' answers and the hook's
// outcome for a few accesses of sysctl_hook_scenario.h, as the kernel gave
// them in sysctl_hook_compare_test (6.18): the name in full (27), by base
// name (18), truncated (-E2BIG, strscpy's word-wise zeroing after the NUL);
// the value; -EINVAL for a read's new value; a set value reaching the
// handler; the run context's retval across the two programs; file_pos
// writes keeping the position's upper half.

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"
#include "tests/examples/sysctl_hook_scenario.h"

namespace bpfemu::examples::sysctl_hook {
namespace {

class SysctlHookTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    const std::string path = "tests/examples/sysctl_hook.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("sysctl_hook");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0) << obj_->load_error();
  }
  const Case& Find(const char* name) {
    static const std::vector<Case> cases = Cases();
    for (const Case& c : cases) {
      if (std::strcmp(c.name, name) == 0) return c;
    }
    ADD_FAILURE() << "no case " << name;
    return cases[0];
  }
  EmuRun Run(const char* name) {
    EmuRun r = {};
    EXPECT_EQ(EmuAccess(*obj_, Find(name), "7200\n", &r), 0);
    return r;
  }
  std::unique_ptr<native::Object> obj_;
};

TEST_P(SysctlHookTest, ReadSeesNamesAndValue) {
  const EmuRun r = Run("read allowed");
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_EQ(r.outcome.verdicts, (std::vector<uint32_t>{1, 1}));
  const sysctl_seen& s = r.seen[0];
  EXPECT_EQ(s.write, 0u);
  EXPECT_EQ(s.name_ret[0], 27);
  EXPECT_STREQ(s.name_full, kSysctl);
  // strscpy stores the word holding the NUL with zeros after it: bytes 27
  // to 32 are zero, 33 on untouched.
  EXPECT_EQ(std::string(s.name_full + 27, 8), std::string("\0\0\0\0\0\0**", 8));
  EXPECT_EQ(s.name_ret[1], 18);
  EXPECT_STREQ(s.name_base, "tcp_keepalive_time");
  EXPECT_EQ(s.name_ret[2], -E2BIG);
  EXPECT_EQ(std::string(s.name_small, 8), std::string("net/ipv\0", 8));
  EXPECT_EQ(s.name_ret[3], -E2BIG);
  EXPECT_EQ(std::string(s.name_tiny, 4), std::string("ne\0*", 4));
  EXPECT_EQ(s.name_ret[4], -E2BIG);
  EXPECT_EQ(std::string(s.name_base_small, 6), std::string("tcp_\0*", 6));
  EXPECT_EQ(s.cur_ret[0], 5);
  EXPECT_STREQ(s.cur, "7200\n");
  EXPECT_EQ(s.cur_ret[1], -E2BIG);
  EXPECT_EQ(std::string(s.cur_small, 5), std::string("720\0*", 5));
  EXPECT_EQ(s.new_ret[0], -EINVAL);  // a read has no new value
  EXPECT_EQ(s.new_value[0], '\0');
}

TEST_P(SysctlHookTest, NewValueReachesTheHandler) {
  EmuRun r = Run("write of a new value");
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_TRUE(r.outcome.new_updated);
  EXPECT_EQ(r.outcome.new_value, "600");
  EXPECT_EQ(r.seen[0].new_ret[0], 4);
  EXPECT_STREQ(r.seen[0].new_value, "7201");
  EXPECT_EQ(r.seen[0].set_ret, 0);
  EXPECT_STREQ(r.seen[0].new_after, "600");
  EXPECT_STREQ(r.seen[1].new_value, "600");  // the second program sees it
  EXPECT_STREQ(r.seen[2].cur, "600\n");      // and the later read

  r = Run("new value then denied");  // set, but the access fails
  EXPECT_EQ(r.outcome.ret, -EPERM);
  EXPECT_FALSE(r.outcome.new_updated);
  EXPECT_STREQ(r.seen[2].cur, "7200\n");

  r = Run("too long, then a new value");
  EXPECT_EQ(r.seen[0].set_big_ret, -E2BIG);
  EXPECT_EQ(r.outcome.new_value, "300");

  r = Run("new value on a read");
  EXPECT_EQ(r.seen[0].set_ret, -EINVAL);
  EXPECT_EQ(r.seen[0].new_ret[2], -EINVAL);
}

TEST_P(SysctlHookTest, RetvalAcrossThePrograms) {
  EmuRun r = Run("read denied by the first");
  EXPECT_EQ(r.outcome.ret, -EPERM);
  EXPECT_EQ(r.seen[1].retval_before, -EPERM);

  r = Run("retval EACCES and deny");  // an error retval stays
  EXPECT_EQ(r.outcome.ret, -EACCES);
  EXPECT_EQ(r.seen[0].retval_after, -EACCES);
  EXPECT_EQ(r.seen[1].retval_before, -EACCES);

  r = Run("retval ENOSPC and allow");  // allowed, yet failing
  EXPECT_EQ(r.outcome.ret, -ENOSPC);
  EXPECT_EQ(r.outcome.verdicts, (std::vector<uint32_t>{1, 1}));

  r = Run("retval positive and deny");  // no error: -EPERM
  EXPECT_EQ(r.outcome.ret, -EPERM);
  EXPECT_EQ(r.seen[1].retval_before, -EPERM);

  r = Run("denied, then cleared by the second");
  EXPECT_EQ(r.outcome.ret, 0);
  EXPECT_EQ(r.outcome.new_value, "7201");
  EXPECT_STREQ(r.seen[2].cur, "7201\n");
}

TEST_P(SysctlHookTest, FilePosIsTheLowHalf) {
  EmuRun r = Run("read at 2^32 + 3 moved to 0");
  EXPECT_EQ(r.seen[0].pos_before, 3u);
  EXPECT_EQ(r.seen[0].pos_after, 0u);
  EXPECT_EQ(r.seen[1].pos_before, 0u);
  EXPECT_EQ(r.outcome.pos, int64_t{1} << 32);
  r = Run("read at 0 moved to 4");
  EXPECT_EQ(r.outcome.pos, 4);
}

// Outside a hook: no access to describe (-EINVAL), no retval to keep.
TEST(SysctlHookNoRun, HelpersWithoutAnAccess) {
  char buf[8] = {};
  EXPECT_EQ(native::SysctlGetName(nullptr, buf, sizeof(buf), 0), -EINVAL);
  EXPECT_EQ(native::SysctlGetCurrentValue(nullptr, buf, sizeof(buf)), -EINVAL);
  EXPECT_EQ(native::SysctlSetNewValue(nullptr, buf, 1), -EINVAL);
  EXPECT_EQ(native::SetRetval(-EACCES), 0);
  EXPECT_EQ(native::GetRetval(), 0);
}

INSTANTIATE_TEST_SUITE_P(Faces, SysctlHookTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples::sysctl_hook
