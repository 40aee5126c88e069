// SPDX-License-Identifier: Apache-2.0
// tests/examples/dynptr_ops.bpf.c on bpfemu, natively and as bytecode,
// without root: every case of dynptr_ops_cases.h against the kernel's
// answers recorded on 6.18 (tests/examples/testdata/dynptr_ops.expected,
// written by dynptr_ops_compare_test with DYNPTR_OPS_RECORD): the test-run
// error and return value, the kfunc's return value, both buffers and the
// packet out. Also the load refusal on a 6.12 target, which has neither
// kfunc.

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/dynptr_ops_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

using namespace dynptr_ops;  // NOLINT

class DynptrOpsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
  }
  void TearDown() override { SetTargetKernel(KernelVersion::k6_18); }
};

TEST_P(DynptrOpsTest, SameAsTheRecordedKernel) {
  SetTargetKernel(KernelVersion::k6_18);
  const Recorded rec =
      ReadRecorded("tests/examples/testdata/dynptr_ops.expected");
  ASSERT_FALSE(rec.lines.empty()) << "no testdata/dynptr_ops.expected";
  EXPECT_EQ(rec.kernel.rfind("6.18", 0), 0u) << "recorded on " << rec.kernel;
  const std::string path = "tests/examples/dynptr_ops.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("dynptr_ops");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const std::vector<uint8_t> packet = Packet();
  const uint32_t zero = 0, one = 1;
  int checked = 0;
  for (const char* pname : {"ops_tc", "ops_socket"}) {
    const native::Program* prog = (*obj)->FindProgram(pname);
    ASSERT_NE(prog, nullptr);
    for (const Case& c : Cases()) {
      const std::string name = std::string(pname) + " " + c.name;
      SCOPED_TRACE(name);
      auto it = rec.lines.find(name);
      ASSERT_NE(it, rec.lines.end()) << "not recorded";
      uint8_t b0[kBufLen], b1[kBufLen];
      InitialBufs(b0, b1);
      const int64_t none = -1000;
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c.v, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bufs"), &zero, b0, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bufs"), &one, b1, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
      const native::PacketResult er = prog->RunSkb(packet);
      int64_t eret = none;
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &eret), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("bufs"), &zero, b0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("bufs"), &one, b1), 0);
      EXPECT_EQ(Line(name, er.err, er.retval, eret, b0, b1, er.data_out),
                it->second + "\n");
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(rec.lines.size()));
  std::printf("dynptr_ops: %d cases checked against the recorded kernel\n",
              checked);
}

// 6.12 has neither kfunc: the bytecode load is refused (EACCES).
TEST_P(DynptrOpsTest, RefusedOnA612Target) {
  if (!GetParam()) GTEST_SKIP() << "the native build links what it declares";
  SetTargetKernel(KernelVersion::k6_12);
  auto obj = native::Object::OpenBytecode("tests/examples/dynptr_ops.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), -EACCES);
}

INSTANTIATE_TEST_SUITE_P(Faces, DynptrOpsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
