// SPDX-License-Identifier: Apache-2.0
// tests/examples/kern_ctx.bpf.c on the kernel (BPF_PROG_TEST_RUN of the tc
// program) and on bpfemu as bytecode (the source needs CO-RE): the same
// struct sk_buff fields through bpf_cast_to_kern_ctx, the same reads
// through bpf_rdonly_cast, which are also the ones pinned in
// kern_ctx_cases.h.

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <string>

#include "emu/interp.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/kern_ctx_cases.h"

namespace bpfemu::examples {
namespace {

using namespace kern_ctx;  // NOLINT

class KernCtxCompareTest : public KernelTest<::testing::Test> {};

TEST_F(KernCtxCompareTest, SameFieldsAsTheKernel) {
  const std::string path = "tests/examples/kern_ctx.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("kern_ctx");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  int64_t none[kVals];
  for (int64_t& v : none) v = -1;
  ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, none, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, none, BPF_ANY), 0);
  const KernelObject::Result kr =
      KernelObject::RunPacket(kernel->ProgFd("kern_ctx"), Packet());
  ASSERT_EQ(kr.err, 0);
  const native::PacketResult er = prog->RunSkb(Packet());
  ASSERT_EQ(er.err, 0);
  EXPECT_EQ(interp::LastFault(), "");
  EXPECT_EQ(er.retval, kr.retval);
  EXPECT_EQ(kr.retval, 0u);
  int64_t kv[kVals], ev[kVals];
  ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, kv, 0), 0);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, ev), 0);
  for (int i = 0; i < kVals; ++i) {
    EXPECT_EQ(ev[i], kv[i]) << "value " << i;
    EXPECT_EQ(kv[i], kWant[i]) << "value " << i;
  }
  EXPECT_EQ(er.data_out, kr.data_out);
}

}  // namespace
}  // namespace bpfemu::examples
