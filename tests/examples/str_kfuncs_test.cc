// SPDX-License-Identifier: Apache-2.0
// tests/examples/str_kfuncs.bpf.c on bpfemu alone: every case of
// str_kfuncs_cases.h gives the answer measured on the 6.18 kernel, natively
// and as bytecode (the bytecode face resolves the kfuncs against the
// running kernel's BTF and skips without it), and the load refusal of an
// older target: 6.12 and 6.1 have no string kfuncs, so the verifier there
// finds a FUNC that is no kfunc and refuses the load with -EACCES, naming
// it. The same object compared with the kernel: str_kfuncs_compare_test.cc.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/packets.h"
#include "tests/examples/str_kfuncs_cases.h"

namespace bpfemu::examples {
namespace {

using namespace str_kfuncs;  // NOLINT

constexpr char kPath[] = "tests/examples/str_kfuncs.bpf.o";

class StrKfuncsTest : public ::testing::TestWithParam<bool> {};

TEST_P(StrKfuncsTest, AnswersAsThe618Kernel) {
  const bool bytecode = GetParam();
  if (bytecode && KernelBtf::Get() == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  SetTargetKernel(KernelVersion::k6_18);
  auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                      : native::Object::Open("str_kfuncs");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("str_call");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  std::vector<char> big;
  int checked = 0;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(std::string("op ") + std::to_string(c.value.op) + " \"" +
                 c.value.s1 + "\" \"" + c.value.s2 + "\"");
    if (!bytecode && ((c.value.kind1 == kAddr && UserHalf(c.value.addr1)) ||
                      (c.value.kind2 == kAddr && UserHalf(c.value.addr2)))) {
      continue;  // natively the program's own memory (see the cases header)
    }
    FillBig(c, &big);
    const int32_t none = -1000;
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cases"), &zero, &c.value, BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("bigs"), &zero, big.data(), BPF_ANY),
              0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const native::PacketResult r = prog->RunSkb(packet);
    ASSERT_EQ(r.err, 0);
    int32_t got = none;
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &got), 0);
    EXPECT_EQ(got, c.want);
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

INSTANTIATE_TEST_SUITE_P(Faces, StrKfuncsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

constexpr const char* kStrKfuncs[] = {
    "bpf_strcmp",  "bpf_strcasecmp", "bpf_strchr", "bpf_strchrnul",
    "bpf_strnchr", "bpf_strrchr",    "bpf_strlen", "bpf_strnlen",
    "bpf_strspn",  "bpf_strcspn",    "bpf_strstr", "bpf_strnstr",
};

// 6.18 registers them in common_btf_ids (every program type); 6.12 and 6.1
// have none of them: their verifier finds a FUNC that no kfunc set holds
// (fetch_kfunc_meta) and refuses the call with -EACCES, naming it. The
// object's load fails the same way.
TEST(StrKfuncsVersionTest, OnlyThe618TargetHasThem) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  for (const char* name : kStrKfuncs) {
    SCOPED_TRACE(name);
    KfuncCall call;
    call.imm = btf->FindByNameKind(name, BTF_KIND_FUNC);
    ASSERT_GT(call.imm, 0);
    call.gpl_compatible = true;
    for (uint32_t type : {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SYSCALL,
                          BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_XDP}) {
      call.prog_type = type;
      for (KernelVersion v :
           {KernelVersion::k6_18, KernelVersion::k6_12, KernelVersion::k6_1}) {
        SetTargetKernel(v);
        const Kfunc* k = nullptr;
        std::string log;
        const int err = ResolveKfuncCall(btf, call, &k, &log);
        SetTargetKernel(KernelVersion::k6_18);
        if (v == KernelVersion::k6_18) {
          EXPECT_EQ(err, 0) << log;
          ASSERT_NE(k, nullptr);
          EXPECT_STREQ(k->name, name);
        } else {
          EXPECT_EQ(err, -EACCES);
          EXPECT_EQ(log, std::string("calling kernel function ") + name +
                             " is not allowed\n");
        }
      }
    }
  }
  for (KernelVersion v : {KernelVersion::k6_12, KernelVersion::k6_1}) {
    SCOPED_TRACE(static_cast<int>(v));
    SetTargetKernel(v);
    auto obj = native::Object::OpenBytecode(kPath);
    ASSERT_TRUE(obj.ok()) << obj.status();
    const int err = (*obj)->Load();
    SetTargetKernel(KernelVersion::k6_18);
    EXPECT_EQ(err, -EACCES);
  }
}

// A kfunc of the running kernel that bpfemu does not implement is refused
// at load with the verifier's line naming it, as the kernel names a FUNC
// that is no kfunc (issue 24: e.g. the LSM file kfuncs and
// bpf_sock_destroy are not emulated; bpf_strtol and bpf_strncmp are
// helpers, not kfuncs).
TEST(StrKfuncsVersionTest, UnimplementedKfuncsAreRefusedByName) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) {
    GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  }
  for (const char* name :
       {"bpf_get_task_exe_file", "bpf_put_file", "bpf_sock_destroy",
        "bpf_path_d_path", "bpf_strtol", "bpf_strncmp", "vfs_read"}) {
    SCOPED_TRACE(name);
    const int32_t id = btf->FindByNameKind(name, BTF_KIND_FUNC);
    if (id <= 0) continue;  // not in this kernel's BTF
    EXPECT_EQ(FindKfunc(name), nullptr);
    KfuncCall call;
    call.imm = id;
    call.gpl_compatible = true;
    call.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    const Kfunc* k = nullptr;
    std::string log;
    EXPECT_EQ(ResolveKfuncCall(btf, call, &k, &log), -EACCES);
    EXPECT_EQ(log, std::string("calling kernel function ") + name +
                       " is not allowed\n");
  }
}

}  // namespace
}  // namespace bpfemu::examples
