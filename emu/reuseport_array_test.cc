// SPDX-License-Identifier: Apache-2.0
// REUSEPORT_SOCKARRAY through the syscall face, on real sockets: the create
// and update checks in reuseport_array.c's order, the cookie lookup, the
// socket leaving its slot when it is closed or stops listening, EBUSY for a
// socket already held, and memlock. tests/conformance/reuseport_conformance.h
// runs the same commands on the kernel too.

#include "emu/reuseport_array.h"

#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

MapAttr Reuseport(uint32_t value_size, uint32_t max_entries = 4,
                  uint32_t flags = 0) {
  return MapAttr{.map_type = BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
                 .key_size = 4,
                 .value_size = value_size,
                 .max_entries = max_entries,
                 .map_flags = flags};
}

uint64_t Cookie(int fd) {
  uint64_t c = 0;
  socklen_t len = sizeof(c);
  getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
  return c;
}

// An IPv4 loopback socket of `type`, SO_REUSEPORT unless told otherwise,
// bound to `port` (0: any) and listening if TCP and `listen_too`.
int Sock(int type, bool bind_it = true, bool listen_too = true,
         bool reuseport = true, uint16_t port = 0) {
  const int fd = socket(AF_INET, type, 0);
  if (fd < 0) return fd;
  const int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind_it) {
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
    if (type == SOCK_STREAM && listen_too && listen(fd, 1) != 0) return -1;
  }
  return fd;
}

uint16_t Port(int fd) {
  sockaddr_in a = {};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int Update(int map, uint32_t index, int64_t fd, uint64_t flags) {
  return MapUpdateElem(map, &index, &fd, flags);
}

TEST(ReuseportArrayTest, CreateChecks) {
  EXPECT_EQ(MapCreate(Reuseport(16)), -EINVAL);
  EXPECT_EQ(MapCreate(Reuseport(0)), -EINVAL);
  EXPECT_EQ(MapCreate(Reuseport(8, 0)), -EINVAL);
  EXPECT_EQ(MapCreate(Reuseport(8, 4, BPF_F_MMAPABLE)), -EINVAL);
  EXPECT_EQ(MapCreate(Reuseport(8, 4, BPF_F_INNER_MAP)), -EINVAL);
  EXPECT_EQ(MapCreate(Reuseport(8, 4, BPF_F_PRESERVE_ELEMS)), -EINVAL);
  MapAttr key8 = Reuseport(8);
  key8.key_size = 8;
  EXPECT_EQ(MapCreate(key8), -EINVAL);
  for (uint32_t v : {4u, 8u}) {
    const int fd = MapCreate(Reuseport(v, 4, BPF_F_RDONLY_PROG));
    ASSERT_GE(fd, 0) << v;
    EXPECT_EQ(CloseFd(fd), 0);
  }
}

TEST(ReuseportArrayTest, UpdateChecksInTheKernelsOrder) {
  const int map = MapCreate(Reuseport(8));
  ASSERT_GE(map, 0);
  const int tcp = Sock(SOCK_STREAM);
  ASSERT_GE(tcp, 0);
  EXPECT_EQ(Update(map, 0, tcp, BPF_EXIST + 1), -EINVAL);
  EXPECT_EQ(Update(map, 4, tcp, BPF_ANY), -E2BIG);
  EXPECT_EQ(Update(map, 0, int64_t{1} << 31, BPF_ANY), -EINVAL);
  EXPECT_EQ(Update(map, 0, 1000000, BPF_ANY), -EBADF);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(Update(map, 0, pipefd[0], BPF_ANY), -ENOTSOCK);
  // The flag checks come before the socket's kind.
  const int unix_sock = socket(AF_UNIX, SOCK_DGRAM, 0);
  EXPECT_EQ(Update(map, 0, unix_sock, BPF_EXIST), -ENOENT);
  EXPECT_EQ(Update(map, 0, unix_sock, BPF_ANY), -kENOTSUPP);
  // Not in a reuseport group: unbound, bound but not listening, no
  // SO_REUSEPORT.
  const int unbound = Sock(SOCK_DGRAM, /*bind_it=*/false);
  const int not_listening = Sock(SOCK_STREAM, true, /*listen_too=*/false);
  const int no_reuse = Sock(SOCK_DGRAM, true, true, /*reuseport=*/false);
  EXPECT_EQ(Update(map, 0, unbound, BPF_ANY), -EINVAL);
  EXPECT_EQ(Update(map, 0, not_listening, BPF_ANY), -EINVAL);
  EXPECT_EQ(Update(map, 0, no_reuse, BPF_ANY), -EINVAL);

  EXPECT_EQ(Update(map, 0, tcp, BPF_NOEXIST), 0);
  EXPECT_EQ(Update(map, 0, tcp, BPF_NOEXIST), -EEXIST);
  // Held already: EBUSY at its own slot and at another.
  EXPECT_EQ(Update(map, 0, tcp, BPF_ANY), -EBUSY);
  EXPECT_EQ(Update(map, 1, tcp, BPF_ANY), -EBUSY);
  // And in another array.
  const int map2 = MapCreate(Reuseport(8));
  EXPECT_EQ(Update(map2, 0, tcp, BPF_ANY), -EBUSY);
  for (int fd : {pipefd[0], pipefd[1], unix_sock, unbound, not_listening,
                 no_reuse, tcp}) {
    close(fd);
  }
  EXPECT_EQ(CloseFd(map2), 0);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(ReuseportArrayTest, LookupAnswersTheCookieAndDeleteEmpties) {
  const int map = MapCreate(Reuseport(8));
  ASSERT_GE(map, 0);
  const int udp = Sock(SOCK_DGRAM);
  ASSERT_GE(udp, 0);
  uint32_t index = 2;
  uint64_t cookie = 0;
  EXPECT_EQ(MapLookupElem(map, &index, &cookie, 0), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &index), -ENOENT);
  ASSERT_EQ(Update(map, index, udp, BPF_ANY), 0);
  ASSERT_EQ(MapLookupElem(map, &index, &cookie, 0), 0);
  EXPECT_EQ(cookie, Cookie(udp));
  uint32_t bad = 4;
  EXPECT_EQ(MapLookupElem(map, &bad, &cookie, 0), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &bad), -E2BIG);
  EXPECT_EQ(MapDeleteElem(map, &index), 0);
  EXPECT_EQ(MapLookupElem(map, &index, &cookie, 0), -ENOENT);
  // Free again: it can go anywhere.
  EXPECT_EQ(Update(map, 3, udp, BPF_NOEXIST), 0);
  close(udp);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(ReuseportArrayTest, A32BitValueMapCannotBeLookedUp) {
  const int map = MapCreate(Reuseport(4));
  ASSERT_GE(map, 0);
  const int tcp = Sock(SOCK_STREAM);
  uint32_t index = 0;
  int32_t fd32 = tcp;
  ASSERT_EQ(MapUpdateElem(map, &index, &fd32, BPF_ANY), 0);
  uint64_t cookie;
  EXPECT_EQ(MapLookupElem(map, &index, &cookie, 0), -ENOSPC);
  int32_t negative = -1;
  EXPECT_EQ(MapUpdateElem(map, &index, &negative, BPF_ANY), -EBADF);
  close(tcp);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(ReuseportArrayTest, SocketLeavesWhenClosedOrUnhashed) {
  const int map = MapCreate(Reuseport(8));
  ASSERT_GE(map, 0);
  const int a = Sock(SOCK_STREAM);
  const int b = Sock(SOCK_STREAM, true, true, true, Port(a));  // same group
  ASSERT_GE(b, 0);
  ASSERT_EQ(Update(map, 0, a, BPF_ANY), 0);
  ASSERT_EQ(Update(map, 1, b, BPF_ANY), 0);
  // A duplicate keeps the socket open: still there.
  const int dup_a = dup(a);
  close(a);
  uint32_t index = 0;
  uint64_t cookie = 0;
  ASSERT_EQ(MapLookupElem(map, &index, &cookie, 0), 0);
  EXPECT_EQ(cookie, Cookie(dup_a));
  close(dup_a);
  EXPECT_EQ(MapLookupElem(map, &index, &cookie, 0), -ENOENT);
  // A listener shut down is unhashed.
  ASSERT_EQ(shutdown(b, SHUT_RDWR), 0);
  index = 1;
  EXPECT_EQ(MapLookupElem(map, &index, &cookie, 0), -ENOENT);
  EXPECT_EQ(MapDeleteElem(map, &index), -ENOENT);
  close(b);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(ReuseportArrayTest, ClosingTheMapReleasesItsSockets) {
  const int udp = Sock(SOCK_DGRAM);
  const int map = MapCreate(Reuseport(8));
  ASSERT_EQ(Update(map, 0, udp, BPF_ANY), 0);
  EXPECT_EQ(CloseFd(map), 0);
  const int map2 = MapCreate(Reuseport(8));
  EXPECT_EQ(Update(map2, 0, udp, BPF_ANY), 0);
  EXPECT_EQ(CloseFd(map2), 0);
  close(udp);
}

TEST(ReuseportArrayTest, GetNextKeyWalksTheArray) {
  const int map = MapCreate(Reuseport(8, 3));
  uint32_t next = 99, key = 7;
  EXPECT_EQ(MapGetNextKey(map, nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(MapGetNextKey(map, &key, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 1;
  EXPECT_EQ(MapGetNextKey(map, &key, &next), 0);
  EXPECT_EQ(next, 2u);
  key = 2;
  EXPECT_EQ(MapGetNextKey(map, &key, &next), -ENOENT);
  EXPECT_EQ(CloseFd(map), 0);
}

TEST(ReuseportArrayTest, MemlockIsTheStructAndAPointerPerSlot) {
  const int map = MapCreate(Reuseport(8, 3));
  std::shared_ptr<Map> m = MapFromFd(map);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->MemUsage(DefaultBuildProfile(KernelVersion::k6_18)),
            DefaultBuildProfile(KernelVersion::k6_18).reuseport_array + 24);
  EXPECT_EQ(DefaultBuildProfile(KernelVersion::k6_18).reuseport_array, 296u);
  EXPECT_EQ(CloseFd(map), 0);
}

}  // namespace
}  // namespace bpfemu
