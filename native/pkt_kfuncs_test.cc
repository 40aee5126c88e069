// SPDX-License-Identifier: Apache-2.0
// bpf_dynptr_from_skb_meta and bpf_xdp_pull_data (native/pkt_kfuncs.cc,
// emu/pkt_kfuncs.h) on what no kernel test run makes (the kernel
// comparison is tests/examples/pull_meta_compare_test.cc): an skb with
// metadata in front of its data, and frames with fragments smaller than a
// page (a driver's), so a pull frees some and shortens the next, and a
// frame with tail room.

#include <linux/bpf.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/pkt_kfuncs.h"
#include "gtest/gtest.h"
#include "native/helpers.h"

extern "C" int bpf_dynptr_from_skb_meta(struct __sk_buff* skb, uint64_t flags,
                                        struct bpf_dynptr* ptr__uninit);
extern "C" int bpf_xdp_pull_data(struct xdp_md* x, uint32_t len);

namespace bpfemu::native {
namespace {

uint8_t* LowPage() {
  // The contexts hold 32-bit packet pointers: memory below 4 GiB.
  void* low = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  return low == MAP_FAILED ? nullptr : static_cast<uint8_t*>(low);
}

uint32_t Low32(const void* p) {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p));
}

TEST(PktKfuncsTest, SkbMetaDynptrCoversTheMetadata) {
  uint8_t* page = LowPage();
  ASSERT_NE(page, nullptr);
  // 8 bytes of metadata, then 64 of packet.
  for (int i = 0; i < 72; ++i) page[100 + i] = static_cast<uint8_t>(i);
  struct __sk_buff skb = {};
  skb.len = 64;
  skb.data_meta = Low32(page + 100);
  skb.data = Low32(page + 108);
  skb.data_end = skb.data + 64;
  struct bpf_dynptr d;
  ASSERT_EQ(bpf_dynptr_from_skb_meta(&skb, 0, &d), 0);
  uint8_t got[8] = {};
  EXPECT_EQ(bpfemu_dynptr_read(got, 8, &d, 0, 0), 0);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], i);
  // The metadata only: not the packet after it.
  EXPECT_EQ(bpfemu_dynptr_read(got, 2, &d, 7, 0), -E2BIG);
  uint8_t src[2] = {0xaa, 0xbb};
  EXPECT_EQ(bpfemu_dynptr_write(&d, 6, src, 2, 0), 0);
  EXPECT_EQ(page[106], 0xaa);
  EXPECT_EQ(page[107], 0xbb);
  EXPECT_EQ(page[108], 8);  // the packet untouched
  EXPECT_EQ(bpfemu_dynptr_write(&d, 0, src, 1, 1), -EINVAL);
  // Flags: a null dynptr.
  ASSERT_EQ(bpf_dynptr_from_skb_meta(&skb, 2, &d), -EINVAL);
  EXPECT_EQ(bpfemu_dynptr_read(got, 1, &d, 0, 0), -EINVAL);
  // No metadata (data_meta 0, as every bpfemu test run's skb): size 0.
  skb.data_meta = 0;
  ASSERT_EQ(bpf_dynptr_from_skb_meta(&skb, 0, &d), 0);
  EXPECT_EQ(bpfemu_dynptr_read(got, 0, &d, 0, 0), 0);
  EXPECT_EQ(bpfemu_dynptr_read(got, 1, &d, 0, 0), -E2BIG);
  munmap(page, 4096);
}

// A frame laid out as the XDP test run's: the xdp_frame's 40 bytes, then
// head room, the data, and the page's end at `hard_end`.
struct Frame {
  uint8_t* page = nullptr;
  struct xdp_md md = {};
  std::vector<std::vector<uint8_t>> frags;
  ~Frame() {
    SetXdpFrame(0, 0, nullptr);
    if (page != nullptr) munmap(page, 4096);
  }
  // `head` bytes between the page's start and the data, `linear` bytes of
  // data, `tail` bytes of tail room.
  bool Make(uint32_t head, uint32_t linear, uint32_t tail,
            const std::vector<uint32_t>& frag_sizes) {
    page = LowPage();
    if (page == nullptr) return false;
    for (uint32_t i = 0; i < linear; ++i) page[head + i] = 1;
    md.data_meta = md.data = Low32(page + head);
    md.data_end = md.data + linear;
    uint8_t fill = 2;
    for (uint32_t n : frag_sizes) frags.emplace_back(n, fill++);
    SetXdpFrame(reinterpret_cast<uintptr_t>(page),
                reinterpret_cast<uintptr_t>(page + head + linear + tail),
                &frags);
    return true;
  }
  uint32_t Linear() const { return md.data_end - md.data; }
  const uint8_t* Data() const {
    return reinterpret_cast<const uint8_t*>(uintptr_t{md.data});
  }
};

TEST(PktKfuncsTest, PullFreesEmptiedFragmentsAndShortensTheNext) {
  Frame f;
  // 100 bytes of head room past the xdp_frame, 300 of tail room.
  ASSERT_TRUE(f.Make(140, 50, 300, {30, 40, 100}));
  const uint32_t data = f.md.data;
  // 50 linear + 30 + 40 + 50 of the third: no move (the tail room holds
  // the 120), the first two fragments freed, the third shortened.
  ASSERT_EQ(bpf_xdp_pull_data(&f.md, 170), 0);
  EXPECT_EQ(f.md.data, data);
  EXPECT_EQ(f.Linear(), 170u);
  ASSERT_EQ(f.frags.size(), 1u);
  EXPECT_EQ(f.frags[0].size(), 50u);
  EXPECT_EQ(f.Data()[49], 1);
  EXPECT_EQ(f.Data()[50], 2);
  EXPECT_EQ(f.Data()[79], 2);
  EXPECT_EQ(f.Data()[80], 3);
  EXPECT_EQ(f.Data()[120], 4);
  // Nothing to do for what is linear already.
  EXPECT_EQ(bpf_xdp_pull_data(&f.md, 170), 0);
  EXPECT_EQ(bpf_xdp_pull_data(&f.md, 0), 0);
  // Past the frame (170 + 50).
  EXPECT_EQ(bpf_xdp_pull_data(&f.md, 221), -EINVAL);
  // The rest: the tail room (180 left) is enough, the last one freed.
  ASSERT_EQ(bpf_xdp_pull_data(&f.md, 220), 0);
  EXPECT_EQ(f.Linear(), 220u);
  EXPECT_EQ(f.Data()[219], 4);
  EXPECT_TRUE(f.frags.empty());
  EXPECT_EQ(f.md.data, data);
}

TEST(PktKfuncsTest, PullMovesTheDataIntoTheHeadRoom) {
  Frame f;
  // 60 bytes of head room past the xdp_frame, 10 of tail room.
  ASSERT_TRUE(f.Make(100, 20, 10, {200}));
  const uint32_t data = f.md.data;
  // 70 bytes of room in all: 71 more is -EINVAL, nothing moved.
  EXPECT_EQ(bpf_xdp_pull_data(&f.md, 91), -EINVAL);
  EXPECT_EQ(f.md.data, data);
  // 50 more: the tail room's 10 and a move of 40.
  ASSERT_EQ(bpf_xdp_pull_data(&f.md, 70), 0);
  EXPECT_EQ(f.md.data, data - 40);
  EXPECT_EQ(f.md.data_meta, data - 40);
  EXPECT_EQ(f.Linear(), 70u);
  EXPECT_EQ(f.Data()[19], 1);
  EXPECT_EQ(f.Data()[20], 2);
  ASSERT_EQ(f.frags.size(), 1u);
  EXPECT_EQ(f.frags[0].size(), 150u);
}

TEST(PktKfuncsTest, NoFrameNoPull) {
  struct xdp_md md = {};
  md.data = 4096;
  md.data_end = 4096 + 10;
  SetXdpFrame(0, 0, nullptr);
  EXPECT_EQ(bpf_xdp_pull_data(&md, 5), 0);  // linear already
  EXPECT_EQ(bpf_xdp_pull_data(&md, 11), -EINVAL);
}

}  // namespace
}  // namespace bpfemu::native
