// SPDX-License-Identifier: Apache-2.0
// tests/examples/obj_list.bpf.c on the kernel (libbpf, BPF_PROG_TEST_RUN of
// its tc programs) and on bpfemu, natively and as bytecode: for each case
// of obj_list_cases.h the same return values and the same folded values
// and counts from the list and the rbtree, so the same objects in the same
// order. Afterwards bpfemu holds no object the programs allocated.
//
// To re-record the no-root test's answers (testdata/obj_list.expected):
//   bazel test //tests/examples:obj_list_compare_test \
//     --test_env=BPFEMU_RECORD_OBJ_LIST=$PWD/tests/examples/testdata/obj_list.expected

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/graph_obj.h"
#include "gtest/gtest.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/obj_list_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

class ObjListCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(ObjListCompareTest, SameObjectsAsTheKernel) {
  const std::string path = "tests/examples/obj_list.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const uint64_t live_before = graph::LiveObjects();
  const uint64_t leaked_before = graph::LeakedObjects();
  {
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("obj_list");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    KernelBackend& k = KernelBackend::Get();
    ObjListSide ks;
    ks.set_cfg = [&](uint32_t key, int32_t v) {
      return k.Update(kernel->MapFd("cfg"), &key, &v, 0) == 0;
    };
    ks.run = [&](const char* name, int32_t* ret) {
      const KernelObject::Result r =
          KernelObject::RunPacket(kernel->ProgFd(name), ObjListPacket());
      *ret = static_cast<int32_t>(r.retval);
      return r.err == 0;
    };
    ks.result = [&](uint32_t key, int64_t* v) {
      return k.Lookup(kernel->MapFd("results"), &key, v, 0) == 0;
    };
    ObjListSide es = EmuObjListSide(**obj);
    std::string record;
    for (const ObjListCase& c : ObjListCases()) {
      SCOPED_TRACE(c.name);
      std::string why;
      const std::string kl = RunObjListCase(c, ks, &why);
      ASSERT_FALSE(kl.empty()) << "kernel: " << why;
      const std::string el = RunObjListCase(c, es, &why);
      ASSERT_FALSE(el.empty())
          << "bpfemu: " << why << " " << interp::LastFault();
      EXPECT_EQ(el, kl);
      absl::StrAppend(&record, kl, "\n");
    }
    const char* record_path = std::getenv("BPFEMU_RECORD_OBJ_LIST");
    if (record_path != nullptr && !GetParam()) {
      ASSERT_TRUE(WriteRecorded(record_path, "obj_list", record))
          << record_path;
    }
  }
  // Every case drains what it filled; nothing was left to reclaim.
  EXPECT_EQ(graph::LiveObjects(), live_before);
  EXPECT_EQ(graph::LeakedObjects(), leaked_before);
}

INSTANTIATE_TEST_SUITE_P(Faces, ObjListCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
