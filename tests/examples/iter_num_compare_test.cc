// SPDX-License-Identifier: Apache-2.0
// tests/examples/iter_num.bpf.c on the kernel (real libbpf resolves its
// `__ksym` kfuncs, BPF_PROG_TEST_RUN of the tc program) and on bpfemu,
// natively and as bytecode (bpfemu's loader resolves them against the
// same kernel BTF): for each set of ranges, the same return value, the same
// sums, counts and bpf_iter_num_new() results per range, and the same
// bpf_repeat() count. The ranges reach the corners: empty, start above
// end (-EINVAL), negative, around INT_MIN and INT_MAX, BPF_MAX_LOOPS
// values exactly and one more (-E2BIG).

#include <linux/bpf.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

// iter_num.bpf.c's map values.
struct Range {
  int32_t start, end;
};
struct Result {
  int64_t sum;
  uint32_t count;
  int32_t new_ret;
  bool operator==(const Result&) const = default;
};
constexpr uint32_t kRanges = 8;
constexpr int32_t kMaxLoops = 8 << 20;  // BPF_MAX_LOOPS

class IterNumCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(IterNumCompareTest, SameSumsAsTheKernel) {
  const std::string path = "tests/examples/iter_num.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("iter_num");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const native::Program* prog = (*obj)->FindProgram("sum_ranges");
  ASSERT_NE(prog, nullptr);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<std::vector<Range>> sets = {
      {{0, 10}, {-5, 3}, {7, 7}, {9, 2}, {0, 1}, {-1, 0}, {100, 101}, {3, 4}},
      {{INT_MIN, INT_MIN + 3},
       {INT_MAX - 2, INT_MAX},
       {INT_MAX, INT_MAX},
       {INT_MAX, INT_MIN},
       {0, kMaxLoops + 1},
       {-kMaxLoops, 1},
       {INT_MIN, INT_MAX},
       {0, 100000}},
      {{0, kMaxLoops}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},
  };
  const uint32_t repeats[] = {5, 0, 1000};
  for (size_t s = 0; s < sets.size(); ++s) {
    SCOPED_TRACE(s);
    for (uint32_t i = 0; i < kRanges; ++i) {
      const Range r = sets[s][i];
      const Result zero{};
      ASSERT_EQ(k.Update(kernel->MapFd("ranges"), &i, &r, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("ranges"), &i, &r, BPF_ANY), 0);
      ASSERT_EQ(k.Update(kernel->MapFd("results"), &i, &zero, BPF_ANY), 0);
      ASSERT_EQ(MapUpdateElem((*obj)->MapFd("results"), &i, &zero, BPF_ANY), 0);
    }
    const uint32_t zero_key = 0, one_key = 1, none = 0;
    ASSERT_EQ(
        k.Update(kernel->MapFd("repeat"), &zero_key, &repeats[s], BPF_ANY), 0);
    ASSERT_EQ(
        MapUpdateElem((*obj)->MapFd("repeat"), &zero_key, &repeats[s], BPF_ANY),
        0);
    ASSERT_EQ(k.Update(kernel->MapFd("repeat"), &one_key, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("repeat"), &one_key, &none, BPF_ANY),
              0);

    const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd("sum_ranges"), packet);
    ASSERT_EQ(kr.err, 0);
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(er.retval, kr.retval);
    for (uint32_t i = 0; i < kRanges; ++i) {
      SCOPED_TRACE(i);
      Result kv{}, ev{};
      ASSERT_EQ(k.Lookup(kernel->MapFd("results"), &i, &kv, 0), 0);
      ASSERT_EQ(MapLookupElem((*obj)->MapFd("results"), &i, &ev), 0);
      EXPECT_EQ(ev.sum, kv.sum);
      EXPECT_EQ(ev.count, kv.count);
      EXPECT_EQ(ev.new_ret, kv.new_ret);
      // The kernel's answers at the corners, pinned.
      const Range r = sets[s][i];
      const int64_t n = int64_t{r.end} - r.start;
      if (r.start > r.end) {
        EXPECT_EQ(kv.new_ret, -EINVAL);
      } else if (n > kMaxLoops) {
        EXPECT_EQ(kv.new_ret, -E2BIG);
      } else {
        EXPECT_EQ(kv.new_ret, 0);
        EXPECT_EQ(kv.count, static_cast<uint32_t>(n));
        EXPECT_EQ(kv.sum, (int64_t{r.start} + r.end - 1) * n / 2);
      }
      if (kv.new_ret != 0) {
        EXPECT_EQ(kv.count, 0u);
      }
    }
    uint32_t kran = 0, eran = 0;
    ASSERT_EQ(k.Lookup(kernel->MapFd("repeat"), &one_key, &kran, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("repeat"), &one_key, &eran), 0);
    EXPECT_EQ(eran, kran);
    EXPECT_EQ(kran, repeats[s]);
  }
}

INSTANTIATE_TEST_SUITE_P(Faces, IterNumCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
