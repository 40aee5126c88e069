// SPDX-License-Identifier: Apache-2.0
// A hash map emulated by bpfemu, used from a Bazel workspace of its own
// (@bpfemu, prebuilt): the kernel's answers, without bpf() permission.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>

#include "emu/syscall.h"

namespace {

TEST(Hash, KernelAnswers) {
  bpfemu::MapAttr attr{};
  attr.map_type = BPF_MAP_TYPE_HASH;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 2;
  const int fd = bpfemu::MapCreate(attr);
  ASSERT_GE(fd, 0);
  uint32_t k = 1;
  uint64_t v = 10;
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &k, &v, BPF_NOEXIST), 0);
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &k, &v, BPF_NOEXIST), -EEXIST);
  k = 2;
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &k, &v, BPF_ANY), 0);
  k = 3;
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &k, &v, BPF_ANY), -E2BIG);
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &k, &v, BPF_EXIST), -ENOENT);
  k = 1;
  uint64_t out = 0;
  EXPECT_EQ(bpfemu::MapLookupElem(fd, &k, &out), 0);
  EXPECT_EQ(out, 10u);
  EXPECT_EQ(bpfemu::CloseFd(fd), 0);
}

}  // namespace
