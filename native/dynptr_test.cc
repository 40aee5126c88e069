// SPDX-License-Identifier: Apache-2.0
// The native face's dynptr helpers and kfuncs called directly, as a
// natively built program calls them (kernel/bpf/helpers.c
// bpf_dynptr_from_mem / _read / _write / _data, bpf_dynptr_slice;
// net/core/filter.c bpf_dynptr_from_skb): a local dynptr over an array
// map's value at and past its end, and an skb dynptr over a hand-made
// linear packet. The programs' view of the same calls is compared with
// 6.18 in tests/examples/dynptr_compare_test.cc.

#include <linux/bpf.h>
#include <linux/types.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "emu/kfunc.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "native/bound_map.h"

extern "C" int bpf_dynptr_from_skb(struct __sk_buff* skb, __u64 flags,
                                   struct bpf_dynptr* ptr);
extern "C" void* bpf_dynptr_slice(const struct bpf_dynptr* p, __u32 offset,
                                  void* buffer, __u32 len);

namespace bpfemu::native {
namespace {

struct bpf_dynptr* Opaque(bpfemu_dynptr* d) {
  return reinterpret_cast<struct bpf_dynptr*>(d);
}

TEST(DynptrTest, LocalDynptrOverAMapValue) {
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 32;
  attr.max_entries = 1;
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  auto bound = internal::MakeBound("array", fd, MapFromFd(fd));
  const uint32_t zero = 0;
  auto* value =
      static_cast<uint8_t*>(bpfemu_map_lookup_elem(&bound->cell, &zero));
  ASSERT_NE(value, nullptr);

  bpfemu_dynptr d;
  // DYNPTR_MAX_SIZE + 1: -E2BIG before the flags are looked at.
  EXPECT_EQ(bpfemu_dynptr_from_mem(value, 1u << 24, 1, Opaque(&d)), -E2BIG);
  EXPECT_EQ(d.data, nullptr);
  EXPECT_EQ(bpfemu_dynptr_from_mem(value, 32, 1, Opaque(&d)), -EINVAL);
  EXPECT_EQ(d.data, nullptr);
  ASSERT_EQ(bpfemu_dynptr_from_mem(value, 32, 0, Opaque(&d)), 0);

  const uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(
      bpfemu_dynptr_write(Opaque(&d), 24, const_cast<uint8_t*>(src), 8, 0), 0);
  EXPECT_EQ(std::memcmp(value + 24, src, 8), 0);
  // Across the end, offset past it, offset wrapping: -E2BIG, nothing
  // written.
  EXPECT_EQ(
      bpfemu_dynptr_write(Opaque(&d), 25, const_cast<uint8_t*>(src), 8, 0),
      -E2BIG);
  EXPECT_EQ(
      bpfemu_dynptr_write(Opaque(&d), 33, const_cast<uint8_t*>(src), 0, 0),
      -E2BIG);
  EXPECT_EQ(bpfemu_dynptr_write(Opaque(&d), 0xfffffffcu,
                                const_cast<uint8_t*>(src), 8, 0),
            -E2BIG);
  EXPECT_EQ(value[25], 2);
  // Range before flags for a local dynptr.
  EXPECT_EQ(
      bpfemu_dynptr_write(Opaque(&d), 32, const_cast<uint8_t*>(src), 0, 1),
      -EINVAL);
  EXPECT_EQ(
      bpfemu_dynptr_write(Opaque(&d), 40, const_cast<uint8_t*>(src), 0, 1),
      -E2BIG);
  uint8_t got[8] = {};
  EXPECT_EQ(bpfemu_dynptr_read(got, 8, Opaque(&d), 25, 0), -E2BIG);
  EXPECT_EQ(bpfemu_dynptr_read(got, 8, Opaque(&d), 24, 0), 0);
  EXPECT_EQ(std::memcmp(got, src, 8), 0);
  EXPECT_EQ(bpfemu_dynptr_data(Opaque(&d), 24, 8), value + 24);
  EXPECT_EQ(bpfemu_dynptr_data(Opaque(&d), 25, 8), nullptr);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 24, got, 8), value + 24);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 25, got, 8), nullptr);
  CloseFd(fd);
}

TEST(DynptrTest, SkbDynptrGoesThroughTheSkbHelpers) {
  // struct __sk_buff holds 32-bit packet pointers: the packet below 4 GiB.
  void* low = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  ASSERT_NE(low, MAP_FAILED);
  auto* packet = static_cast<uint8_t*>(low);
  for (int i = 0; i < 64; ++i) packet[i] = static_cast<uint8_t>(i);
  struct __sk_buff skb = {};
  skb.len = 64;
  skb.data = static_cast<__u32>(reinterpret_cast<uintptr_t>(packet));
  skb.data_end = skb.data + 64;

  bpfemu_dynptr d;
  // Outside a run the program type is unknown (UNSPEC): read-only, as for
  // every type that may not write packets.
  ASSERT_EQ(bpf_dynptr_from_skb(&skb, 0, Opaque(&d)), 0);
  EXPECT_TRUE(DynptrIsRdonly(&d));
  uint8_t src[4] = {0xaa, 0xbb, 0xcc, 0xdd};
  EXPECT_EQ(bpfemu_dynptr_write(Opaque(&d), 0, src, 4, 0), -EINVAL);
  // A writable one, as bpf_dynptr_from_skb makes it for tc.
  ASSERT_EQ(DynptrFromSkb(&skb, 0, &d, BPF_PROG_TYPE_SCHED_CLS), 0);
  EXPECT_EQ(DynptrSize(&d), 64u);
  EXPECT_EQ(bpfemu_dynptr_write(Opaque(&d), 60, src, 4, 0), 0);
  EXPECT_EQ(packet[63], 0xdd);
  EXPECT_EQ(bpfemu_dynptr_write(Opaque(&d), 60, src, 4, 4), -EINVAL);
  EXPECT_EQ(bpfemu_dynptr_write(Opaque(&d), 61, src, 4, 0), -E2BIG);
  uint8_t got[4];
  EXPECT_EQ(bpfemu_dynptr_read(got, 4, Opaque(&d), 8, 0), 0);
  EXPECT_EQ(got[0], 8);
  EXPECT_EQ(bpfemu_dynptr_data(Opaque(&d), 0, 4), nullptr);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 8, got, 4), packet + 8);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 61, got, 4), nullptr);
  // The packet shrinks under the dynptr: its size is stale, and reads
  // past the new end fail as bpf_skb_load_bytes does (-EFAULT, zeroed).
  skb.len = 32;
  skb.data_end = skb.data + 32;
  std::memset(got, 0x55, sizeof(got));
  EXPECT_EQ(bpfemu_dynptr_read(got, 4, Opaque(&d), 40, 0), -EFAULT);
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 40, got, 4), nullptr);
  // Adjusted: offsets count from the new start.
  ASSERT_EQ(DynptrAdjust(&d, 4, 12), 0);
  EXPECT_EQ(bpfemu_dynptr_read(got, 4, Opaque(&d), 0, 0), 0);
  EXPECT_EQ(got[0], 4);
  EXPECT_EQ(bpf_dynptr_slice(Opaque(&d), 4, nullptr, 4), packet + 8);
  munmap(low, 4096);
}

}  // namespace
}  // namespace bpfemu::native
