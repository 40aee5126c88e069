// SPDX-License-Identifier: Apache-2.0
// tests/examples/kptr.bpf.c on the kernel (libbpf, BPF_PROG_TEST_RUN of its
// tc programs) and on bpfemu, natively and as bytecode: every step of
// kptr_cases.h gives the same line. So bpf_kptr_xchg gives back the same
// objects, a userspace update or delete of an element frees the object its
// kptr field held (the next take finds none), a lookup shows the field as
// zero, and bpf_refcount_acquire keeps one object in an rbtree, a list and
// a map value at once, with a second push of its node refused (-EINVAL).
//
// To re-record the no-root test's answers (testdata/kptr.expected):
//   bazel test //tests/examples:kptr_compare_test \
//     --test_env=BPFEMU_RECORD_KPTR=$PWD/tests/examples/testdata/kptr.expected

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "emu/graph_obj.h"
#include "gtest/gtest.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/kptr_cases.h"
#include "tests/examples/recorded.h"

namespace bpfemu::examples {
namespace {

class KptrCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(KptrCompareTest, SameStashesAsTheKernel) {
  const std::string path = "tests/examples/kptr.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  const uint64_t live_before = graph::LiveObjects();
  const uint64_t leaked_before = graph::LeakedObjects();
  {
    auto obj = GetParam() ? native::Object::OpenBytecode(path)
                          : native::Object::Open("kptr");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    KernelBackend& k = KernelBackend::Get();
    KptrSide ks;
    ks.set_cfg = [&](uint32_t key, int64_t v) {
      return k.Update(kernel->MapFd("cfg"), &key, &v, 0) == 0;
    };
    ks.run = [&](const char* name, int32_t* ret) {
      const KernelObject::Result r =
          KernelObject::RunPacket(kernel->ProgFd(name), KptrPacket());
      *ret = static_cast<int32_t>(r.retval);
      return r.err == 0;
    };
    ks.update = [&](const char* map, uint32_t key, const void* value,
                    uint64_t flags) {
      return k.Update(kernel->MapFd(map), &key, value, flags);
    };
    ks.del = [&](const char* map, uint32_t key) {
      return k.Delete(kernel->MapFd(map), &key);
    };
    ks.lookup = [&](const char* map, uint32_t key, void* value) {
      return k.Lookup(kernel->MapFd(map), &key, value, 0);
    };
    KptrSide es = EmuKptrSide(**obj);
    ks.value_size = es.value_size;
    std::string record;
    int differences = 0;
    for (size_t i = 0; i < KptrSteps().size(); ++i) {
      std::string why;
      const std::string kl = RunKptrStep(i, ks, &why);
      ASSERT_FALSE(kl.empty()) << "kernel: " << why;
      const std::string el = RunKptrStep(i, es, &why);
      ASSERT_FALSE(el.empty())
          << "bpfemu: " << why << " " << interp::LastFault();
      EXPECT_EQ(el, kl);
      differences += el != kl;
      absl::StrAppend(&record, kl, "\n");
    }
    std::printf("kptr: %zu steps, %d differences (%s)\n", KptrSteps().size(),
                differences, GetParam() ? "bytecode" : "native");
    const char* record_path = std::getenv("BPFEMU_RECORD_KPTR");
    if (record_path != nullptr && !GetParam()) {
      ASSERT_TRUE(WriteRecorded(record_path, "kptr", record)) << record_path;
    }
    // What the scenario leaves stashed: four objects in map values.
    EXPECT_EQ(graph::LiveObjects(), live_before + 4);
  }
  // The maps' free dropped them (bpf_obj_free_fields); no run leaked one.
  EXPECT_EQ(graph::LiveObjects(), live_before);
  EXPECT_EQ(graph::LeakedObjects(), leaked_before);
}

INSTANTIATE_TEST_SUITE_P(Faces, KptrCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
