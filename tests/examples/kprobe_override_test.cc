// SPDX-License-Identifier: Apache-2.0
// tests/examples/kprobe_override.bpf.c on bpfemu's kprobe model
// (native/kprobe_override.h), natively and as bytecode: which attachments
// perf_event_attach_bpf_prog takes for a program calling
// bpf_override_return, and what the caller of the probed function gets,
// read from kernel/trace/bpf_trace.c and arch/x86/lib/error-inject.c. No
// kernel bpfemu is compared with builds CONFIG_BPF_KPROBE_OVERRIDE, so the
// bytecode face offers the helper only when the test says the modelled
// kernel has it; without, the load is refused as on those kernels
// (docs/helpers.md).

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "emu/prog.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/kprobe_override.h"

namespace bpfemu::examples {
namespace {

struct ko_cfg {
  uint64_t fail_mask;
};
struct ko_out {
  uint64_t hits;
  uint64_t overrides;
  int64_t last_ret;
};

constexpr const char* kPath = "tests/examples/kprobe_override.bpf.o";

class KprobeOverrideTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { native::SetKprobeOverrideBuilt(true); }
  void TearDown() override { native::SetKprobeOverrideBuilt(false); }
};

TEST_P(KprobeOverrideTest, AttachOnlyAtTheEntryOfAnInjectableFunction) {
  EXPECT_EQ(native::KprobeOverrideAttach(true, "should_failslab", 0), 0);
  EXPECT_EQ(native::KprobeOverrideAttach(true, "should_fail_bio", 0), 0);
  EXPECT_EQ(native::KprobeOverrideAttach(true, "should_failslab", 4), -EINVAL);
  EXPECT_EQ(native::KprobeOverrideAttach(true, "vfs_read", 0), -EINVAL);
  // A program that does not override attaches anywhere.
  EXPECT_EQ(native::KprobeOverrideAttach(false, "vfs_read", 8), 0);
}

TEST_P(KprobeOverrideTest, TheOverriddenFunctionDoesNotRun) {
  auto obj = GetParam() ? native::Object::OpenBytecode(kPath)
                        : native::Object::Open("kprobe_override");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0);
  const native::Program* p = (*obj)->FindProgram("fail_slab");
  ASSERT_NE(p, nullptr);
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(p->fd(), &prog), 0);
  const uint32_t zero = 0;
  const ko_cfg cfg = {0x400};  // __GFP_NOFAIL's neighbour, any bit
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cfg"), &zero, &cfg, BPF_ANY), 0);
  int calls = 0;
  auto should_failslab = [&](const uint64_t* args) -> uint64_t {
    ++calls;
    EXPECT_EQ(args[0], 0x1000u);  // the cache
    return 0;
  };
  // gfp without the bit: the function runs, returns 0.
  native::KprobeHitResult r =
      native::KprobeHit(*prog, {0x1000, 0x10}, should_failslab);
  EXPECT_FALSE(r.overridden);
  EXPECT_EQ(r.ret, 0u);
  EXPECT_EQ(calls, 1);
  // With it: -ENOMEM instead, the function skipped.
  r = native::KprobeHit(*prog, {0x1000, 0x410}, should_failslab);
  EXPECT_TRUE(r.overridden);
  EXPECT_EQ(static_cast<int64_t>(r.ret), -ENOMEM);
  EXPECT_EQ(calls, 1);
  ko_out out = {};
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &out), 0);
  EXPECT_EQ(out.hits, 2u);
  EXPECT_EQ(out.overrides, 1u);
  EXPECT_EQ(out.last_ret, 0);  // bpf_override_return answers 0
}

// Without CONFIG_BPF_KPROBE_OVERRIDE (every kernel bpfemu is compared
// with) kprobe_prog_func_proto has no such helper: the load is refused.
TEST(KprobeOverrideOfferTest, RefusedWithoutTheConfig) {
  native::SetKprobeOverrideBuilt(false);
  auto obj = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), -EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Faces, KprobeOverrideTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
