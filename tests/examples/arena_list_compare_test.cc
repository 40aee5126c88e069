// SPDX-License-Identifier: Apache-2.0
// arena_list.bpf.c on the kernel and on the emulator (natively and as
// bytecode): the same list through the user mapping (values and each
// node's offset in the arena), the same globals, return values and
// resident pages after the walk and after list_drain's frees.
//
// The kernel side needs a kernel that makes arenas. This 6.18 host refuses
// every ARENA create with EPERM (docs/semantics.md, ARENA), so here the
// test skips with that reason; the kernel matrix runs it in the 6.12 QEMU
// guest (tools/kmatrix/examples_compare.sh), where it compares. On 6.1,
// which has no ARENA type, both sides must refuse the object.

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "emu/version.h"
#include "gtest/gtest.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/arena_list_walk.h"

namespace bpfemu::examples {
namespace {

class ArenaListCompareTest : public KernelTest<> {};

// The kernel's run: libbpf loads the object (KernelObject maps the arena
// first, as libbpf 1.4 does), the programs run through BPF_PROG_TEST_RUN.
void RunOnKernel(const KernelObject& k, ArenaWalk* out) {
  const int add = k.ProgFd("list_add");
  const int drain = k.ProgFd("list_drain");
  ASSERT_GE(add, 0);
  ASSERT_GE(drain, 0);
  const KernelObject::Arena* arena = k.FindArena("arena");
  ASSERT_NE(arena, nullptr);
  // .bss through a lookup: libbpf 1.1.2 maps an object's global data only
  // for a skeleton.
  const int bss_fd = k.MapFd(".bss");
  ASSERT_GE(bss_fd, 0);
  uint8_t bss[4096] = {};
  const uint32_t zero = 0;
  uint64_t ctx[4] = {};
  for (uint32_t& ret : out->add_ret) {
    const KernelObject::Result r =
        KernelObject::RunSyscall(add, ctx, sizeof(ctx));
    ASSERT_EQ(r.err, 0);
    ret = r.retval;
  }
  ASSERT_EQ(bpf_map_lookup_elem(bss_fd, &zero, bss), 0);
  uint64_t head = 0;
  std::memcpy(&head, bss, 8);
  std::memcpy(&out->added, bss + 8, 8);
  std::memcpy(&out->sum, bss + 16, 8);
  const uint64_t start = reinterpret_cast<uint64_t>(arena->start);
  ASSERT_TRUE(WalkArenaList(head, start, arena->len, out));
  out->resident_after_walk = ResidentPages(arena->start, arena->len);
  const KernelObject::Result r =
      KernelObject::RunSyscall(drain, ctx, sizeof(ctx));
  ASSERT_EQ(r.err, 0);
  out->drain_ret = r.retval;
  ASSERT_EQ(bpf_map_lookup_elem(bss_fd, &zero, bss), 0);
  std::memcpy(&out->head_after, bss, 8);
  std::memcpy(&out->sum, bss + 16, 8);
  out->resident_after_drain = ResidentPages(arena->start, arena->len);
}

TEST_F(ArenaListCompareTest, KernelAndEmulatorBuildTheSameList) {
  std::ifstream f(kArenaListPath, std::ios::binary | std::ios::ate);
  if (!f.good() || f.tellg() <= 0) {
    GTEST_SKIP() << "arena_list.bpf.o was not built: clang-19 is absent "
                    "(tools/setup.sh installs it)";
  }
  std::unique_ptr<KernelObject> k;
  const int err = KernelObject::Load(kArenaListPath, &k);
  if (!HasArenaMap(TargetKernel())) {
    // 6.1: no ARENA type. The kernel refuses the map (created first, as
    // libbpf 1.4 creates arenas); the emulator's loader stops earlier, as
    // libbpf does, at the kfunc 6.1's BTF lacks.
    EXPECT_EQ(err, -EINVAL);
    auto obj = native::Object::OpenBytecode(kArenaListPath);
    ASSERT_TRUE(obj.ok()) << obj.status();
    EXPECT_NE((*obj)->Load(), 0);
    return;
  }
  if (err == -EPERM) {
    GTEST_SKIP() << "this kernel refuses BPF_MAP_TYPE_ARENA (EPERM; "
                    "docs/semantics.md, ARENA): compared in the 6.12 guest";
  }
  ASSERT_EQ(err, 0) << "the kernel refused arena_list.bpf.o";
  ArenaWalk kernel;
  RunOnKernel(*k, &kernel);
  if (HasFatalFailure()) return;
  // Two pages of 64 nodes; the kernel's answers are the reference.
  EXPECT_EQ(kernel.values.size(), 128u);
  EXPECT_EQ(kernel.added, 128u);
  EXPECT_EQ(kernel.resident_after_walk, 2u);
  EXPECT_EQ(kernel.resident_after_drain, 0u);
  for (bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    ArenaWalk emu;
    uint64_t pages_before = 0, pages_after = 0;
    RunArenaListEmulated(bytecode, &emu, &pages_before, &pages_after);
    if (HasFatalFailure()) return;
    EXPECT_EQ(emu.values, kernel.values);
    EXPECT_EQ(emu.offsets, kernel.offsets);
    EXPECT_EQ(emu, kernel);
  }
}

}  // namespace
}  // namespace bpfemu::examples
