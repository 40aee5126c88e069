// SPDX-License-Identifier: Apache-2.0
// tests/examples/xdp_meta.bpf.c, an XDP program calling the XDP metadata
// kfuncs without being bound to a device: the 6.18 kernel refuses it at
// load (EINVAL, "metadata kfuncs require device-bound program"), and so
// does bpfemu's bytecode load; natively (no load checks) the run gets the
// generic kfuncs' -EOPNOTSUPP with the outputs untouched.

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

struct Answers {
  int64_t r[8];
};

class XdpMetaCompareTest : public KernelTest<> {};

TEST_F(XdpMetaCompareTest, RefusedAsTheKernelRefuses) {
  const std::string path = "tests/examples/xdp_meta.bpf.o";
  // The 6.18 host refuses a program not bound to a device (the same for
  // every program type: the check is add_kfunc_call's).
  std::unique_ptr<KernelObject> kernel;
  EXPECT_EQ(KernelObject::Load(path, &kernel), -EINVAL);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  EXPECT_EQ((*obj)->Load(), -EINVAL);
  // The verifier's line, for each kfunc from XDP and tc programs: a
  // hand-assembled call (ids from the kernel's BTF), refused before its
  // arguments are looked at.
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
  int compared = 0;
  for (const char* name :
       {"bpf_xdp_metadata_rx_timestamp", "bpf_xdp_metadata_rx_hash",
        "bpf_xdp_metadata_rx_vlan_tag"}) {
    const int32_t id = btf->FindByNameKind(name, BTF_KIND_FUNC);
    ASSERT_GT(id, 0) << name;
    namespace a = interp::asm_;
    const std::vector<interp::RawInsn> insns = {a::CallKfunc(id),
                                                a::MovImm(0, 0), a::Exit()};
    for (uint32_t type : {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS}) {
      SCOPED_TRACE(std::string(name) + " type " + std::to_string(type));
      const RawProg raw{.type = type, .insns = insns};
      const RawLoaded k = KernelLoadRaw(raw);
      if (k.fd >= 0) close(k.fd);
      const RawLoaded e = EmuLoadRaw(raw);
      if (e.fd >= 0) (void)CloseFd(e.fd);
      EXPECT_EQ(k.fd < 0 ? k.fd : 0, -EINVAL);
      EXPECT_EQ(e.fd, k.fd < 0 ? k.fd : 0);
      EXPECT_EQ(e.log, "metadata kfuncs require device-bound program\n");
      EXPECT_NE(k.log.find(e.log), std::string::npos) << k.log;
      ++compared;
    }
  }
  std::printf("xdp metadata kfuncs: %d refusals compared\n", compared);
}

// Natively nothing is refused at load: the run gets the generic kfuncs'
// answers, the outputs untouched (what a dev-bound program on a device
// without xdp_metadata_ops gets from the kernel).
TEST(XdpMetaTest, NativelyTheGenericAnswers) {
  auto obj = native::Object::Open("xdp_meta");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("xdp_meta");
  ASSERT_NE(prog, nullptr);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const native::PacketResult er = prog->RunXdp(packet);
  ASSERT_EQ(er.err, 0);
  EXPECT_EQ(er.retval, static_cast<uint32_t>(XDP_PASS));
  const uint32_t zero = 0;
  Answers ea{};
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &ea), 0);
  const int64_t want[8] = {-EOPNOTSUPP, -EOPNOTSUPP, -EOPNOTSUPP, 0x1111,
                           0x2222,      0x3333,      0x4444,      0x5555};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ea.r[i], want[i]) << "answer " << i;
}

}  // namespace
}  // namespace bpfemu::examples
