// SPDX-License-Identifier: Apache-2.0
// File: xsk_conformance.h
//
// XskConformance: BPF_MAP_TYPE_XSKMAP through the syscall, mirroring
// net/xdp/xskmap.c (xsk_map_alloc, xsk_map_update_elem,
// xsk_map_lookup_elem_sys_only, xsk_map_delete_elem) and net/xdp/xsk.c
// (xsk_release empties the slots of a closed socket). The cases with an
// AF_XDP socket skip where socket(AF_XDP) fails (it needs CAP_NET_RAW).
// Every value was measured on 6.18.

#ifndef BPFEMU_TESTS_CONFORMANCE_XSK_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_XSK_CONFORMANCE_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "tests/conformance/fixture.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace bpfemu {

template <class B>
class XskConformance : public ConformanceTest<B> {
 protected:
  static MapAttr Xsk(uint32_t max_entries = 4, uint32_t flags = 0) {
    return Attr(BPF_MAP_TYPE_XSKMAP, 4, 4, max_entries, flags);
  }
  int Put(int map, uint32_t index, int32_t fd, uint64_t flags = BPF_ANY) {
    return this->b().Update(map, &index, &fd, flags);
  }
};
TYPED_TEST_SUITE_P(XskConformance);

// xsk_map_alloc()'s checks.
TYPED_TEST_P(XskConformance, CreateChecks) {
  EXPECT_GE(this->Create(this->Xsk()), 0);
  EXPECT_EQ(this->Create(this->Xsk(0)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_XSKMAP, 4, 8, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_XSKMAP, 8, 4, 4)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_XSKMAP, 4, 0, 4)), -EINVAL);
  EXPECT_EQ(this->Create(this->Xsk(4, BPF_F_RDONLY_PROG)), -EINVAL);
  EXPECT_EQ(this->Create(this->Xsk(4, BPF_F_MMAPABLE)), -EINVAL);
  EXPECT_EQ(this->Create(this->Xsk(4, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_GE(this->Create(this->Xsk(4, BPF_F_RDONLY)), 0);
  EXPECT_GE(this->Create(this->Xsk(4, BPF_F_NUMA_NODE)), 0);
  MapInfo info{};
  const int fd = this->MustCreate(this->Xsk(9));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_XSKMAP});
  EXPECT_EQ(info.max_entries, 9u);
}

// The update errnos before the socket is known to be AF_XDP, the lookup
// userspace may not make, delete and get_next_key.
TYPED_TEST_P(XskConformance, CommandsWithoutAnXdpSocket) {
  const int map = this->MustCreate(this->Xsk());
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(udp, 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(this->Put(map, 0, udp, BPF_EXIST + 1), -EINVAL);
  EXPECT_EQ(this->Put(map, 4, udp), -E2BIG);
  EXPECT_EQ(this->Put(map, 4, -1), -E2BIG);
  EXPECT_EQ(this->Put(map, 0, -1), -EBADF);
  EXPECT_EQ(this->Put(map, 0, 1000000), -EBADF);
  EXPECT_EQ(this->Put(map, 0, pipefd[0]), -ENOTSOCK);
  EXPECT_EQ(this->Put(map, 0, udp), -EOPNOTSUPP);
  EXPECT_EQ(this->Put(map, 0, udp, BPF_EXIST), -EOPNOTSUPP);
  close(udp);
  close(pipefd[0]);
  close(pipefd[1]);
  uint32_t value = 0;
  for (uint32_t key : {0u, 3u, 4u, 100u}) {
    EXPECT_EQ(this->Lookup(map, key, &value), -EOPNOTSUPP) << key;
  }
  EXPECT_EQ(this->Delete(map, uint32_t{1}), 0);
  EXPECT_EQ(this->Delete(map, uint32_t{4}), -EINVAL);
  EXPECT_EQ(this->template Keys<uint32_t>(map),
            (std::vector<uint32_t>{0, 1, 2, 3}));
  uint32_t key = 0;
  EXPECT_EQ(this->b().LookupAndDelete(map, &key, &value, 0), -kENOTSUPP);
}

// AF_XDP sockets, bound or not: the same socket stores again with any
// flags, one socket may fill several slots, and closing it empties them.
TYPED_TEST_P(XskConformance, XdpSockets) {
  const int x = socket(AF_XDP, SOCK_RAW, 0);
  if (x < 0) GTEST_SKIP() << "socket(AF_XDP): errno " << errno;
  const int y = socket(AF_XDP, SOCK_RAW, 0);
  ASSERT_GE(y, 0);
  const int map = this->MustCreate(this->Xsk());
  EXPECT_EQ(this->Put(map, 0, x, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 0, x, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Put(map, 0, x, BPF_NOEXIST), 0);
  EXPECT_EQ(this->Put(map, 0, y, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(map, 1, y, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 1, x), 0);
  EXPECT_EQ(this->Put(map, 2, y), 0);
  EXPECT_EQ(this->Put(map, 2, x, BPF_EXIST), 0);
  EXPECT_EQ(this->Put(map, 3, y), 0);
  uint32_t value = 0;
  EXPECT_EQ(this->Lookup(map, uint32_t{0}, &value), -EOPNOTSUPP);
  EXPECT_EQ(this->Delete(map, uint32_t{1}), 0);
  EXPECT_EQ(this->Put(map, 1, y, BPF_EXIST), -ENOENT);
  close(x);
  // Slots 0 and 2 held x: empty now; slot 3 still holds y.
  EXPECT_EQ(this->Put(map, 0, y, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 2, y, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 3, y, BPF_NOEXIST), 0);
  const int z = socket(AF_XDP, SOCK_RAW, 0);
  ASSERT_GE(z, 0);
  EXPECT_EQ(this->Put(map, 3, z, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(this->Put(map, 3, z, BPF_EXIST), 0);
  close(y);
  close(z);
  EXPECT_EQ(this->Put(map, 3, y, BPF_ANY), -EBADF);
}

REGISTER_TYPED_TEST_SUITE_P(XskConformance, CreateChecks,
                            CommandsWithoutAnXdpSocket, XdpSockets);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_XSK_CONFORMANCE_H_
