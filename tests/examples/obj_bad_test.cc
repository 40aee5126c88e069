// SPDX-License-Identifier: Apache-2.0
// tests/examples/obj_bad.bpf.c: what the kernel's verifier refuses at load
// stops a bytecode run with the verifier's reason, and natively gives
// -EINVAL or nothing; an object a run never released is dropped at its end
// and counted (docs/semantics.md, "Allocated objects"). No root needed.

#include <cerrno>
#include <cstdint>
#include <string>

#include "emu/graph_obj.h"
#include "emu/interp.h"
#include "emu/kernel_btf.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "tests/examples/obj_list_cases.h"

namespace bpfemu::examples {
namespace {

class ObjBadTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
    }
    const std::string path = "tests/examples/obj_bad.bpf.o";
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("obj_bad");
    ASSERT_TRUE(obj.ok()) << obj.status();
    obj_ = std::move(*obj);
    ASSERT_EQ(obj_->Load(), 0) << obj_->load_error();
  }
  // The program's return value; *fault the reason a bytecode run stopped.
  int32_t Run(const char* name, std::string* fault) {
    const native::Program* p = obj_->FindProgram(name);
    EXPECT_NE(p, nullptr) << name;
    if (p == nullptr) return -1;
    const native::PacketResult r = p->RunSkb(ObjListPacket());
    *fault = interp::LastFault();
    return static_cast<int32_t>(r.retval);
  }
  std::unique_ptr<native::Object> obj_;
};

TEST_P(ObjBadTest, RefusedProgramsStopOrFailWithoutHarm) {
  const uint64_t live = graph::LiveObjects();
  std::string fault;
  const int32_t pop = Run("pop_unlocked", &fault);
  const int32_t drop = Run("drop_twice", &fault);
  const std::string drop_fault = fault;
  const int32_t push = Run("push_loose", &fault);
  const std::string push_fault = fault;
  if (GetParam()) {
    EXPECT_EQ(Run("pop_unlocked", &fault), 0);
    EXPECT_NE(fault.find("bpf_spin_lock must be held for bpf_list_head"),
              std::string::npos)
        << fault;
    EXPECT_NE(drop_fault.find("bpf_obj_drop: R1 must be an allocated object"),
              std::string::npos)
        << drop_fault;
    EXPECT_NE(push_fault.find("R2 must be the bpf_list_node of an owned"),
              std::string::npos)
        << push_fault;
    EXPECT_EQ(Run("new_not_struct", &fault), 0);
    EXPECT_NE(fault.find("bpf_obj_new type ID argument must be of a struct"),
              std::string::npos)
        << fault;
  } else {
    EXPECT_EQ(pop, 2);  // an empty list, lock or not
    EXPECT_EQ(drop, 2);
    EXPECT_EQ(push, -EINVAL);
  }
  EXPECT_EQ(graph::LiveObjects(), live);
  const uint64_t leaked = graph::LeakedObjects();
  EXPECT_EQ(Run("leak", &fault), 2);
  EXPECT_EQ(graph::LeakedObjects(), leaked + 1);
  EXPECT_EQ(graph::LiveObjects(), live);
}

// kptr46: what the verifier refuses of kptr fields and per-CPU objects.
TEST_P(ObjBadTest, RefusedKptrAndPercpuCalls) {
  const uint64_t live = graph::LiveObjects();
  std::string fault;
  const int32_t stash = Run("stash_twice", &fault);
  const std::string stash_fault = fault;
  const int32_t per_cpu = Run("per_cpu_plain", &fault);
  const std::string per_cpu_fault = fault;
  const int32_t drop = Run("percpu_drop_plain", &fault);
  const std::string drop_fault = fault;
  if (GetParam()) {
    EXPECT_EQ(stash, 0);
    EXPECT_NE(stash_fault.find("bpf_kptr_xchg: R2 must be an allocated object "
                               "the program owns"),
              std::string::npos)
        << stash_fault;
    EXPECT_EQ(per_cpu, 0);
    EXPECT_NE(per_cpu_fault.find("bpf_per_cpu_ptr: R1 is not a per-CPU object"),
              std::string::npos)
        << per_cpu_fault;
    EXPECT_EQ(drop, 0);
    EXPECT_NE(drop_fault.find("bpf_percpu_obj_drop: R1 must be a per-CPU "
                              "object"),
              std::string::npos)
        << drop_fault;
  } else {
    // Natively: the second exchange gives NULL and leaves holders[1]
    // empty, bpf_per_cpu_ptr gives NULL, the per-CPU drop does nothing.
    EXPECT_EQ(stash, 2);
    EXPECT_EQ(per_cpu, 2);
    EXPECT_EQ(drop, 2);
  }
  // The object stashed in holders[0] lives until the map goes.
  EXPECT_EQ(graph::LiveObjects(), live + 1);
  obj_.reset();
  EXPECT_EQ(graph::LiveObjects(), live);
}

INSTANTIATE_TEST_SUITE_P(Faces, ObjBadTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
