// SPDX-License-Identifier: Apache-2.0
// The example in README.md, verbatim, so the documentation stays true.
#include <linux/bpf.h>

#include <cerrno>

#include "emu/syscall.h"
#include "gtest/gtest.h"

TEST(FlowTable, SecondInsertOfSameFlowFails) {
  bpfemu::MapAttr attr{.map_type = BPF_MAP_TYPE_HASH,
                       .key_size = 4,
                       .value_size = 8,
                       .max_entries = 1024};
  int fd = bpfemu::MapCreate(attr);  // a real fd, or -errno
  ASSERT_GE(fd, 0);
  uint32_t pid = 42;
  uint64_t count = 1;
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &pid, &count, BPF_NOEXIST), 0);
  EXPECT_EQ(bpfemu::MapUpdateElem(fd, &pid, &count, BPF_NOEXIST), -EEXIST);
  bpfemu::CloseFd(fd);
}
