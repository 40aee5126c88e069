// SPDX-License-Identifier: Apache-2.0
// kfy48's slab-cache and dma-buf kfuncs without the kernel and without the
// native helpers (emu/kmem_iter_kfuncs.h): the walks over lists the test
// sets (the kmem_cache walk ends for good, the dma-buf walk starts over
// after its end, a list replaced mid-walk ends it), the views' fields at
// the kernel BTF's offsets, bpf_get_kmem_cache without task views (NULL),
// and the interpreter's stop on an iterator that is not writable. Against
// the kernel: tests/examples/kmem_iter_compare_test.cc.

#include "emu/kmem_iter_kfuncs.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc_testing.h"
#include "gtest/gtest.h"

namespace bpfemu::kmemk {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;

TEST(KmemIterKfuncsTest, CacheWalkEndsForGood) {
  SetKmemCaches({{"one", 64, 60}, {"two", 128, 120}});
  uint64_t it = 0xdead;
  EXPECT_EQ(IterKmemCacheNew(&it), 0);
  const void* first = IterKmemCacheNext(&it);
  const void* second = IterKmemCacheNext(&it);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_EQ(IterKmemCacheNext(&it), nullptr);
  EXPECT_EQ(IterKmemCacheNext(&it), nullptr);
  IterKmemCacheDestroy(&it);
  // The fields, where the kernel BTF puts them.
  if (const KernelBtf* btf = KernelBtf::Get(); btf != nullptr) {
    const int32_t id = btf->FindByNameKind("kmem_cache", BTF_KIND_STRUCT);
    ASSERT_GT(id, 0);
    const auto* v = static_cast<const uint8_t*>(second);
    uint64_t name = 0;
    uint32_t size = 0, object_size = 0;
    std::memcpy(&name, v + btf->FindMember(id, "name").offset, 8);
    std::memcpy(&size, v + btf->FindMember(id, "size").offset, 4);
    std::memcpy(&object_size, v + btf->FindMember(id, "object_size").offset, 4);
    EXPECT_STREQ(reinterpret_cast<const char*>(name), "two");
    EXPECT_EQ(size, 128u);
    EXPECT_EQ(object_size, 120u);
  }
  // A list replaced mid-walk: the view held is on no list, the walk ends.
  EXPECT_EQ(IterKmemCacheNew(&it), 0);
  ASSERT_NE(IterKmemCacheNext(&it), nullptr);
  SetKmemCaches({{"three", 8, 8}});
  EXPECT_EQ(IterKmemCacheNext(&it), nullptr);
  // An empty list.
  SetKmemCaches({});
  EXPECT_EQ(IterKmemCacheNew(&it), 0);
  EXPECT_EQ(IterKmemCacheNext(&it), nullptr);
}

TEST(KmemIterKfuncsTest, DmabufWalkStartsOver) {
  SetDmabufs({{4096, "a", "system"}, {8192, "", "udmabuf"}});
  uint64_t it = 0xdead;
  EXPECT_EQ(IterDmabufNew(&it), 0);
  const void* first = IterDmabufNext(&it);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(IterDmabufNext(&it), nullptr);
  EXPECT_EQ(IterDmabufNext(&it), nullptr);
  EXPECT_EQ(IterDmabufNext(&it), first);
  IterDmabufDestroy(&it);
  SetDmabufs({});
  EXPECT_EQ(IterDmabufNew(&it), 0);
  EXPECT_EQ(IterDmabufNext(&it), nullptr);
  EXPECT_EQ(IterDmabufNext(&it), nullptr);
}

TEST(KmemIterKfuncsTest, NoTaskViewsNoCache) {
  SetKmemCaches({{"task_struct", 5888, 5840}});
  uint64_t local = 0;
  EXPECT_EQ(GetKmemCache(0), nullptr);
  EXPECT_EQ(GetKmemCache(reinterpret_cast<uint64_t>(&local)), nullptr);
}

TEST(KmemIterKfuncsInterpTest, StopsOnAnIteratorThatIsNotWritable) {
  const char* const names[] = {"bpf_iter_kmem_cache_new",
                               "bpf_iter_dmabuf_next"};
  auto btf = kfunctest::FuncBtf(std::vector<const char*>(names, names + 2));
  for (int32_t id : {3, 4}) {
    bool faulted = false;
    kfunctest::RunSyscallProg(
        btf.get(), {a::MovImm(1, 0x1000), a::CallKfunc(id), a::Exit()},
        &faulted);
    EXPECT_TRUE(faulted);
    EXPECT_NE(interp::LastFault().find(names[id - 3]), std::string::npos)
        << interp::LastFault();
  }
}

// A view a walk hands out is readable by the run even while another thread
// replaces the list: the region the run is given is the block that holds
// the view, not whichever list is current by then.
TEST(KmemIterKfuncsInterpTest, ViewsStayReadableWhileTheListIsReplaced) {
  const char* const names[] = {"bpf_iter_kmem_cache_new",
                               "bpf_iter_kmem_cache_next",
                               "bpf_iter_kmem_cache_destroy"};
  auto btf = kfunctest::FuncBtf(std::vector<const char*>(names, names + 3));
  // Walks the caches reading each view's first byte; R0 = views read.
  const std::vector<RawInsn> p = {
      a::MovImm(6, 0),
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(3),
      // loop:
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(4),
      a::JmpImm(BPF_JEQ, 0, 0, 3),
      a::Ldx(BPF_B, 2, 0, 0),
      a::AluImm(BPF_ADD, 6, 1),
      a::Ja(-7),
      // out:
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(5),
      a::MovReg(0, 6),
      a::Exit(),
  };
  const std::vector<KmemCache> one = {{"a", 64, 60}, {"b", 128, 120}};
  const std::vector<KmemCache> two = {{"c", 8, 8}};
  SetKmemCaches(one);
  std::atomic<bool> stop{false};
  std::thread setter([&] {
    // Each list is a block kept for good: a bounded number of them.
    for (int i = 0; i < 5000 && !stop.load(std::memory_order_relaxed); ++i) {
      SetKmemCaches(i % 2 == 0 ? two : one);
    }
  });
  int faults = 0;
  for (int i = 0; i < 500; ++i) {
    bool faulted = false;
    const int32_t n = kfunctest::RunSyscallProg(btf.get(), p, &faulted);
    if (faulted) {
      ++faults;
    } else {
      EXPECT_LE(n, 2);
    }
  }
  stop = true;
  setter.join();
  EXPECT_EQ(faults, 0) << interp::LastFault();
  SetKmemCaches({});
}

}  // namespace
}  // namespace bpfemu::kmemk
