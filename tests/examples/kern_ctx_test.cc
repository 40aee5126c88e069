// SPDX-License-Identifier: Apache-2.0
// tests/examples/kern_ctx.bpf.c on bpfemu as bytecode, without root: the
// kernel's answers pinned in kern_ctx_cases.h; a program type whose kernel
// context bpfemu does not model stops the run; the native face's kernel
// context is laid out as the kernel BTF's struct sk_buff.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "emu/cast_kfuncs.h"
#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/kern_ctx_cases.h"

namespace bpfemu::examples {
namespace {

using namespace kern_ctx;  // NOLINT

TEST(KernCtxTest, TheKernelsAnswers) {
  if (KernelBtf::Get() == nullptr) GTEST_SKIP() << "no kernel BTF";
  auto obj = native::Object::OpenBytecode("tests/examples/kern_ctx.bpf.o");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("kern_ctx");
  ASSERT_NE(prog, nullptr);
  const uint32_t zero = 0;
  int64_t v[kVals];
  for (int64_t& x : v) x = -1;
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, v, BPF_ANY), 0);
  const native::PacketResult r = prog->RunSkb(Packet());
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(interp::LastFault(), "");
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, v), 0);
  for (int i = 0; i < kVals; ++i) EXPECT_EQ(v[i], kWant[i]) << "value " << i;
}

TEST(KernCtxTest, SnapshotLayoutAndUnmodelledTypes) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF";
  struct __sk_buff s = {};
  s.len = 100;
  s.mark = 9;
  s.protocol = 0xdd86;
  uint32_t size = 0;
  const auto* k = static_cast<const uint8_t*>(
      castk::KernCtx(&s, BPF_PROG_TYPE_SCHED_CLS, &size));
  ASSERT_NE(k, nullptr);
  const int32_t id = btf->FindByNameKind("sk_buff", BTF_KIND_STRUCT);
  ASSERT_GT(id, 0);
  EXPECT_EQ(size, btf->Size(static_cast<uint32_t>(id)));
  const KernelBtf::Field len = btf->FindMember(id, "len");
  const KernelBtf::Field mark = btf->FindMember(id, "mark");
  const KernelBtf::Field proto = btf->FindMember(id, "protocol");
  uint32_t l = 0, m = 0;
  uint16_t p = 0;
  std::memcpy(&l, k + len.offset, 4);
  std::memcpy(&m, k + mark.offset, 4);
  std::memcpy(&p, k + proto.offset, 2);
  EXPECT_EQ(l, 100u);
  EXPECT_EQ(m, 9u);
  EXPECT_EQ(p, 0xdd86);
  EXPECT_EQ(castk::KernCtx(&s, BPF_PROG_TYPE_XDP, &size), nullptr);
  EXPECT_EQ(castk::KernCtx(&s, BPF_PROG_TYPE_SYSCALL, &size), nullptr);
}

}  // namespace
}  // namespace bpfemu::examples
