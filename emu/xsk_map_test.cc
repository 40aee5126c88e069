// SPDX-License-Identifier: Apache-2.0
// XSKMAP through the syscall face: xsk_map_alloc's checks, the update
// errnos in xskmap.c's order on real AF_XDP sockets (socket(AF_XDP) needs
// CAP_NET_RAW: those cases skip without it), the userspace lookup the
// kernel refuses, delete, and memlock counting one node per used slot until
// the socket is closed. tests/conformance/xsk_conformance.h runs the same
// commands on the kernel.

#include "emu/xsk_map.h"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "emu/build_profile.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace bpfemu {
namespace {

MapAttr Xsk(uint32_t max_entries = 4, uint32_t flags = 0) {
  return MapAttr{.map_type = BPF_MAP_TYPE_XSKMAP,
                 .key_size = 4,
                 .value_size = 4,
                 .max_entries = max_entries,
                 .map_flags = flags};
}

int Put(int map, uint32_t index, int32_t fd, uint64_t flags = BPF_ANY) {
  return MapUpdateElem(map, &index, &fd, flags);
}

uint64_t Memlock(int fd) {
  std::shared_ptr<Map> map = MapFromFd(fd);
  return map == nullptr ? 0 : map->Memlock();
}

TEST(XskMapTest, CreateChecks) {
  EXPECT_EQ(MapCreate(Xsk(0)), -EINVAL);
  EXPECT_EQ(MapCreate(Xsk(4, BPF_F_RDONLY_PROG)), -EINVAL);
  EXPECT_EQ(MapCreate(Xsk(4, BPF_F_MMAPABLE)), -EINVAL);
  MapAttr v8 = Xsk();
  v8.value_size = 8;
  EXPECT_EQ(MapCreate(v8), -EINVAL);
  MapAttr k8 = Xsk();
  k8.key_size = 8;
  EXPECT_EQ(MapCreate(k8), -EINVAL);
  const int fd = MapCreate(Xsk(4, BPF_F_RDONLY));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(CloseFd(fd), 0);
}

TEST(XskMapTest, CommandsWithoutAnXdpSocket) {
  const int map = MapCreate(Xsk());
  ASSERT_GE(map, 0);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(Put(map, 0, udp, BPF_EXIST + 1), -EINVAL);
  EXPECT_EQ(Put(map, 4, udp), -E2BIG);
  EXPECT_EQ(Put(map, 0, -1), -EBADF);
  EXPECT_EQ(Put(map, 0, 1000000), -EBADF);
  EXPECT_EQ(Put(map, 0, pipefd[0]), -ENOTSOCK);
  // The family is checked before the slot.
  EXPECT_EQ(Put(map, 0, udp, BPF_EXIST), -EOPNOTSUPP);
  uint32_t key = 0, value = 0;
  EXPECT_EQ(MapLookupElem(map, &key, &value, 0), -EOPNOTSUPP);
  key = 9;
  EXPECT_EQ(MapLookupElem(map, &key, &value, 0), -EOPNOTSUPP);
  EXPECT_EQ(MapDeleteElem(map, &key), -EINVAL);
  key = 1;
  EXPECT_EQ(MapDeleteElem(map, &key), 0);
  uint32_t next = 7;
  EXPECT_EQ(MapGetNextKey(map, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 3;
  EXPECT_EQ(MapGetNextKey(map, &key, &next), -ENOENT);
  close(udp);
  close(pipefd[0]);
  close(pipefd[1]);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(XskMapTest, XdpSocketsAndMemlock) {
  const int x = socket(AF_XDP, SOCK_RAW, 0);
  if (x < 0) GTEST_SKIP() << "socket(AF_XDP): errno " << errno;
  const int y = socket(AF_XDP, SOCK_RAW, 0);
  ASSERT_GE(y, 0);
  const int map = MapCreate(Xsk());
  ASSERT_GE(map, 0);
  const uint64_t base = DefaultBuildProfile(KernelVersion::k6_18).xsk_map;
  std::shared_ptr<Map> m = MapFromFd(map);
  const BuildProfile build = DefaultBuildProfile(KernelVersion::k6_18);
  EXPECT_EQ(m->MemUsage(build), base + 32);
  // Unbound is fine.
  EXPECT_EQ(Put(map, 0, x, BPF_EXIST), -ENOENT);
  EXPECT_EQ(Put(map, 0, x), 0);
  EXPECT_EQ(m->MemUsage(build), base + 32 + 32);
  // The same socket again: 0 even with BPF_NOEXIST.
  EXPECT_EQ(Put(map, 0, x, BPF_NOEXIST), 0);
  EXPECT_EQ(Put(map, 0, y, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(Put(map, 1, y, BPF_EXIST), -ENOENT);
  // One socket in two slots: two nodes.
  EXPECT_EQ(Put(map, 1, x), 0);
  EXPECT_EQ(m->MemUsage(build), base + 32 + 64);
  uint32_t key = 1;
  EXPECT_EQ(MapDeleteElem(map, &key), 0);
  EXPECT_EQ(m->MemUsage(build), base + 32 + 32);
  EXPECT_EQ(Put(map, 1, x), 0);
  EXPECT_EQ(Put(map, 2, y), 0);
  // xsk_release: closing x empties both its slots.
  close(x);
  EXPECT_EQ(m->MemUsage(build), base + 32 + 32);
  EXPECT_EQ(Put(map, 0, y, BPF_EXIST), -ENOENT);
  EXPECT_EQ(Memlock(map), m->Memlock());
  close(y);
  EXPECT_EQ(CloseFd(map), 0);
}

}  // namespace
}  // namespace bpfemu
