// SPDX-License-Identifier: Apache-2.0
// tests/examples/kmem_iter.bpf.c (kfy48) on the kernel (BPF_PROG_TEST_RUN
// of its syscall programs) and on bpfemu, natively and as bytecode. The
// slab caches are the host's on both (bpfemu reads /proc/slabinfo), so
// they are compared by property: the walk ends (next after the end is
// NULL), it finds caches, no name is empty, "task_struct" is among them
// with the same size and object_size, bpf_get_kmem_cache of the current
// task is the "task_struct" cache and of a stack address or 0 NULL. The
// counts and first names are printed. The dma-buf walk (this host has no
// dma-buf exporter: none on either side) is compared exactly. A second
// test sets bpfemu's lists and checks the walks over them without the
// kernel.

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "emu/kernel_btf.h"
#include "emu/kmem_iter_kfuncs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

struct Args {
  uint32_t name_off, size_off, object_size_off;
  uint32_t max;
  uint32_t dmabuf_size_off;
};

struct Out {
  int64_t new_ret;
  uint64_t count;
  uint64_t empty_names;
  int64_t task_index;
  uint64_t task_size, task_object_size;
  uint64_t after_end_null;
  uint64_t task_cache_found;
  uint64_t stack_cache_null, zero_cache_null;
  uint64_t dmabuf_count, dmabuf_bytes;
  uint64_t dmabuf_restart_nonnull;
  int64_t dmabuf_new_ret;
  char first_name[32];
  char task_cache_name[32];
};

// The field offsets from the kernel BTF; false without it.
bool MakeArgs(Args* a) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) return false;
  const int32_t kc = btf->FindByNameKind("kmem_cache", BTF_KIND_STRUCT);
  const int32_t db = btf->FindByNameKind("dma_buf", BTF_KIND_STRUCT);
  if (kc <= 0 || db <= 0) return false;
  a->name_off = btf->FindMember(kc, "name").offset;
  a->size_off = btf->FindMember(kc, "size").offset;
  a->object_size_off = btf->FindMember(kc, "object_size").offset;
  a->dmabuf_size_off = btf->FindMember(db, "size").offset;
  a->max = 100000;
  return true;
}

// The line compared exactly, and the properties.
std::string Exact(const Out& o) {
  return absl::StrCat(
      "new ", o.new_ret, " after_end_null ", o.after_end_null, " empty_names ",
      o.empty_names, " found_task_struct ", o.task_index >= 0, " task size ",
      o.task_size, " object_size ", o.task_object_size, " task cache found ",
      o.task_cache_found, " name '", o.task_cache_name, "' stack null ",
      o.stack_cache_null, " zero null ", o.zero_cache_null, " | dmabuf new ",
      o.dmabuf_new_ret, " count ", o.dmabuf_count, " bytes ", o.dmabuf_bytes,
      " restart ", o.dmabuf_restart_nonnull);
}

class KmemIterCompareTest : public KernelTest<::testing::TestWithParam<bool>> {
};

TEST_P(KmemIterCompareTest, SameAsTheKernel) {
  Args args{};
  ASSERT_TRUE(MakeArgs(&args)) << "no kernel BTF with kmem_cache, dma_buf";
  const std::string path = "tests/examples/kmem_iter.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  auto run_kernel = [&](const char* prog) {
    Out o{};
    EXPECT_EQ(k.Update(kernel->MapFd("res"), &zero, &o, 0), 0);
    Args a = args;
    const KernelObject::Result r =
        KernelObject::RunSyscall(kernel->ProgFd(prog), &a, sizeof(a));
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(r.retval, 0u);
    EXPECT_EQ(k.Lookup(kernel->MapFd("res"), &zero, &o, 0), 0);
    return o;
  };
  Out ko = run_kernel("caches");
  Out kd = run_kernel("dmabufs");

  // bpfemu's list: the host's now.
  kmemk::SetKmemCaches(kmemk::HostKmemCaches());
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("kmem_iter");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  auto run_emu = [&](const char* prog) {
    Out o{};
    EXPECT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &o, 0), 0);
    Args a = args;
    const native::Program* p = (*obj)->FindProgram(prog);
    EXPECT_NE(p, nullptr);
    if (p != nullptr) {
      EXPECT_EQ(p->Run(&a), 0u) << interp::LastFault();
    }
    EXPECT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
    return o;
  };
  Out eo = run_emu("caches");
  Out ed = run_emu("dmabufs");
  ko.dmabuf_count = kd.dmabuf_count;
  ko.dmabuf_bytes = kd.dmabuf_bytes;
  ko.dmabuf_restart_nonnull = kd.dmabuf_restart_nonnull;
  ko.dmabuf_new_ret = kd.dmabuf_new_ret;
  eo.dmabuf_count = ed.dmabuf_count;
  eo.dmabuf_bytes = ed.dmabuf_bytes;
  eo.dmabuf_restart_nonnull = ed.dmabuf_restart_nonnull;
  eo.dmabuf_new_ret = ed.dmabuf_new_ret;
  EXPECT_EQ(Exact(eo), Exact(ko));
  EXPECT_GT(ko.count, 0u);
  EXPECT_GT(eo.count, 0u);
  EXPECT_EQ(ko.after_end_null, 1u);
  EXPECT_STREQ(ko.task_cache_name, "task_struct");
  std::printf(
      "kmem_cache (%s): kernel %s\n  kernel %llu caches, first '%s', "
      "task_struct at %lld; bpfemu %llu caches, first '%s', task_struct at "
      "%lld\n",
      GetParam() ? "bytecode" : "native", Exact(ko).c_str(),
      static_cast<unsigned long long>(ko.count), ko.first_name,
      static_cast<long long>(ko.task_index),
      static_cast<unsigned long long>(eo.count), eo.first_name,
      static_cast<long long>(eo.task_index));
}

INSTANTIATE_TEST_SUITE_P(Faces, KmemIterCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// bpfemu's lists set by the test, without the kernel.
class KmemIterListsTest : public ::testing::TestWithParam<bool> {};

TEST_P(KmemIterListsTest, WalksWhatTheTestSet) {
  Args args{};
  if (!MakeArgs(&args)) GTEST_SKIP() << "no kernel BTF with kmem_cache";
  kmemk::SetKmemCaches(
      {{"alpha", 64, 56}, {"", 8, 8}, {"task_struct", 100, 90}});
  kmemk::SetDmabufs({{4096, "buf-a", "system"}, {8192, "", "udmabuf"}});
  const std::string path = "tests/examples/kmem_iter.bpf.o";
  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("kmem_iter");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  const uint32_t zero = 0;
  Out o{};
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &o, 0), 0);
  for (const char* prog : {"caches", "dmabufs"}) {
    Args a = args;
    ASSERT_EQ((*obj)->FindProgram(prog)->Run(&a), 0u) << interp::LastFault();
  }
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.new_ret, 0);
  EXPECT_EQ(o.count, 3u);
  EXPECT_EQ(o.empty_names, 1u);
  EXPECT_STREQ(o.first_name, "alpha");
  EXPECT_EQ(o.task_index, 2);
  EXPECT_EQ(o.task_size, 100u);
  EXPECT_EQ(o.task_object_size, 90u);
  EXPECT_EQ(o.after_end_null, 1u);
  EXPECT_EQ(o.stack_cache_null, 1u);
  EXPECT_EQ(o.zero_cache_null, 1u);
  EXPECT_EQ(o.dmabuf_count, 2u);
  EXPECT_EQ(o.dmabuf_bytes, 4096u + 8192u);
  // After the end the dma-buf walk starts over.
  EXPECT_EQ(o.dmabuf_restart_nonnull, 1u);
  // A walk stopped early (max 1).
  Args one = args;
  one.max = 1;
  o = Out{};
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &o, 0), 0);
  ASSERT_EQ((*obj)->FindProgram("caches")->Run(&one), 0u);
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.count, 1u);
  EXPECT_EQ(o.task_index, -1);
  kmemk::SetKmemCaches({});
  kmemk::SetDmabufs({});
  o = Out{};
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("res"), &zero, &o, 0), 0);
  for (const char* prog : {"caches", "dmabufs"}) {
    Args a = args;
    ASSERT_EQ((*obj)->FindProgram(prog)->Run(&a), 0u);
  }
  ASSERT_EQ(MapLookupElem((*obj)->MapFd("res"), &zero, &o), 0);
  EXPECT_EQ(o.count, 0u);
  EXPECT_EQ(o.after_end_null, 1u);
  EXPECT_EQ(o.task_cache_found, 0u);  // no "task_struct" cache listed
  EXPECT_EQ(o.dmabuf_count, 0u);
  EXPECT_EQ(o.dmabuf_restart_nonnull, 0u);
}

INSTANTIATE_TEST_SUITE_P(Faces, KmemIterListsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples
