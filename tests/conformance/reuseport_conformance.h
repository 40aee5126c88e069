// SPDX-License-Identifier: Apache-2.0
// File: reuseport_conformance.h
//
// ReuseportConformance: BPF_MAP_TYPE_REUSEPORT_SOCKARRAY through the
// syscall on real sockets, mirroring kernel/bpf/reuseport_array.c
// (reuseport_array_alloc_check, bpf_fd_reuseport_array_update_elem,
// bpf_fd_reuseport_array_lookup_elem, reuseport_array_delete_elem) and
// net/core/sock_reuseport.c (the socket leaves the array when it is
// unhashed). The update errnos come in the kernel's order; every value was
// measured on 6.18.

#ifndef BPFEMU_TESTS_CONFORMANCE_REUSEPORT_CONFORMANCE_H_
#define BPFEMU_TESTS_CONFORMANCE_REUSEPORT_CONFORMANCE_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "tests/conformance/fixture.h"

namespace bpfemu {

template <class B>
class ReuseportConformance : public ConformanceTest<B> {
 protected:
  void TearDown() override {
    for (int fd : socks_) close(fd);
    ConformanceTest<B>::TearDown();
  }
  static MapAttr Reuseport(uint32_t value_size, uint32_t max_entries = 4,
                           uint32_t flags = 0) {
    return Attr(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, value_size, max_entries,
                flags);
  }
  // A loopback IPv4 socket of `type` (closed after the case), with
  // SO_REUSEPORT if `reuseport`, bound if `bind_it` (to `port`, 0: any),
  // listening if TCP and `listen_too`.
  int Sock(int type, bool bind_it = true, bool listen_too = true,
           bool reuseport = true, uint16_t port = 0) {
    const int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
      ADD_FAILURE() << "socket: " << errno;
      return -1;
    }
    socks_.push_back(fd);
    const int one = 1;
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind_it) {
      sockaddr_in a = {};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port);
      EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
      if (type == SOCK_STREAM && listen_too) {
        EXPECT_EQ(listen(fd, 1), 0);
      }
    }
    return fd;
  }
  static uint16_t Port(int fd) {
    sockaddr_in a = {};
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  static uint64_t Cookie(int fd) {
    uint64_t c = 0;
    socklen_t len = sizeof(c);
    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
    return c;
  }
  // Closes a socket Sock made, now.
  void CloseSock(int fd) {
    for (auto it = socks_.begin(); it != socks_.end(); ++it) {
      if (*it == fd) {
        socks_.erase(it);
        break;
      }
    }
    close(fd);
  }
  int Put(int map, uint32_t index, int64_t fd, uint64_t flags = BPF_ANY) {
    return this->b().Update(map, &index, &fd, flags);
  }
  int CookieAt(int map, uint32_t index, uint64_t* cookie) {
    return this->b().Lookup(map, &index, cookie, 0);
  }

 private:
  std::vector<int> socks_;
};
TYPED_TEST_SUITE_P(ReuseportConformance);

// reuseport_array_alloc_check(): the value is a u32 or u64 fd, then
// array_map_alloc_check().
TYPED_TEST_P(ReuseportConformance, CreateChecks) {
  EXPECT_GE(this->Create(this->Reuseport(4)), 0);
  EXPECT_GE(this->Create(this->Reuseport(8)), 0);
  EXPECT_EQ(this->Create(this->Reuseport(0)), -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(16)), -EINVAL);
  EXPECT_EQ(this->Create(Attr(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 8, 8, 4)),
            -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(8, 0)), -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(8, 4, BPF_F_MMAPABLE)), -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(8, 4, BPF_F_INNER_MAP)), -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(8, 4, BPF_F_PRESERVE_ELEMS)), -EINVAL);
  EXPECT_EQ(this->Create(this->Reuseport(8, 4, BPF_F_NO_PREALLOC)), -EINVAL);
  EXPECT_GE(this->Create(this->Reuseport(8, 4, BPF_F_RDONLY_PROG)), 0);
  EXPECT_GE(this->Create(this->Reuseport(8, 4, BPF_F_NUMA_NODE)), 0);
  EXPECT_EQ(this->Create(
                this->Reuseport(8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
            -EINVAL);
  MapInfo info{};
  const int fd = this->MustCreate(this->Reuseport(8, 7));
  ASSERT_EQ(this->b().GetMapInfo(fd, &info), 0);
  EXPECT_EQ(info.type, uint32_t{BPF_MAP_TYPE_REUSEPORT_SOCKARRAY});
  EXPECT_EQ(info.value_size, 8u);
  EXPECT_EQ(info.max_entries, 7u);
}

// bpf_fd_reuseport_array_update_elem() and reuseport_array_update_check():
// flags, index, fd, then the slot's flags before the socket's kind, then
// the reuseport group, then EBUSY.
TYPED_TEST_P(ReuseportConformance, UpdateChecksInTheKernelsOrder) {
  const int map = this->MustCreate(this->Reuseport(8));
  const int tcp = this->Sock(SOCK_STREAM);
  EXPECT_EQ(this->Put(map, 0, tcp, BPF_EXIST + 1), -EINVAL);
  EXPECT_EQ(this->Put(map, 4, tcp), -E2BIG);
  EXPECT_EQ(this->Put(map, 4, -1), -E2BIG);
  EXPECT_EQ(this->Put(map, 0, int64_t{1} << 31), -EINVAL);
  EXPECT_EQ(this->Put(map, 0, -1), -EINVAL);  // a u64 above INT_MAX
  EXPECT_EQ(this->Put(map, 0, 1000000), -EBADF);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(this->Put(map, 0, pipefd[0]), -ENOTSOCK);
  close(pipefd[0]);
  close(pipefd[1]);
  const int unix_sock = socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(unix_sock, 0);
  EXPECT_EQ(this->Put(map, 0, unix_sock, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 0, unix_sock), -kENOTSUPP);
  close(unix_sock);
  EXPECT_EQ(this->Put(map, 0, this->Sock(SOCK_DGRAM, /*bind_it=*/false)),
            -EINVAL);
  EXPECT_EQ(this->Put(map, 0, this->Sock(SOCK_STREAM, /*bind_it=*/false)),
            -EINVAL);
  EXPECT_EQ(
      this->Put(map, 0, this->Sock(SOCK_STREAM, true, /*listen_too=*/false)),
      -EINVAL);
  EXPECT_EQ(this->Put(map, 0,
                      this->Sock(SOCK_DGRAM, true, true, /*reuseport=*/false)),
            -EINVAL);
  EXPECT_EQ(this->Put(map, 0,
                      this->Sock(SOCK_STREAM, true, true, /*reuseport=*/false)),
            -EINVAL);

  EXPECT_EQ(this->Put(map, 0, tcp, BPF_EXIST), -ENOENT);
  EXPECT_EQ(this->Put(map, 0, tcp, BPF_NOEXIST), 0);
  const int udp = this->Sock(SOCK_DGRAM);
  EXPECT_EQ(this->Put(map, 0, udp, BPF_NOEXIST), -EEXIST);
  // A socket already in an array: EBUSY in its own slot, another slot,
  // another array.
  EXPECT_EQ(this->Put(map, 0, tcp), -EBUSY);
  EXPECT_EQ(this->Put(map, 1, tcp), -EBUSY);
  const int map2 = this->MustCreate(this->Reuseport(8));
  EXPECT_EQ(this->Put(map2, 0, tcp), -EBUSY);
  // Replacing a slot frees its old socket for another one.
  EXPECT_EQ(this->Put(map, 0, udp, BPF_EXIST), 0);
  EXPECT_EQ(this->Put(map2, 0, tcp), 0);
  EXPECT_EQ(this->Put(map, 1, udp), -EBUSY);
}

// Lookup answers the socket's cookie; delete empties the slot.
TYPED_TEST_P(ReuseportConformance, LookupAnswersTheCookie) {
  const int map = this->MustCreate(this->Reuseport(8));
  const int udp = this->Sock(SOCK_DGRAM);
  uint64_t cookie = 0;
  EXPECT_EQ(this->CookieAt(map, 2, &cookie), -ENOENT);
  EXPECT_EQ(this->CookieAt(map, 4, &cookie), -ENOENT);
  EXPECT_EQ(this->Delete(map, uint32_t{2}), -ENOENT);
  EXPECT_EQ(this->Delete(map, uint32_t{4}), -E2BIG);
  ASSERT_EQ(this->Put(map, 2, udp), 0);
  ASSERT_EQ(this->CookieAt(map, 2, &cookie), 0);
  EXPECT_EQ(cookie, this->Cookie(udp));
  EXPECT_EQ(this->Delete(map, uint32_t{2}), 0);
  EXPECT_EQ(this->CookieAt(map, 2, &cookie), -ENOENT);
  EXPECT_EQ(this->Delete(map, uint32_t{2}), -ENOENT);
  EXPECT_EQ(this->Put(map, 3, udp, BPF_NOEXIST), 0);
  EXPECT_EQ(this->CookieAt(map, 3, &cookie), 0);
  // Lookup and delete, and the batch commands: no op in reuseport_array_ops.
  uint32_t key = 3, count = 1, out_key = 0;
  EXPECT_EQ(this->b().LookupAndDelete(map, &key, &cookie, 0), -kENOTSUPP);
  EXPECT_EQ(this->b().LookupBatch(map, nullptr, &out_key, &out_key, &cookie,
                                  &count, 0, 0),
            -kENOTSUPP);
}

// A u32-valued array takes 32-bit fds but cannot answer a cookie.
TYPED_TEST_P(ReuseportConformance, A32BitArrayCannotBeLookedUp) {
  const int map = this->MustCreate(this->Reuseport(4));
  const int tcp = this->Sock(SOCK_STREAM);
  uint32_t index = 1;
  int32_t fd32 = tcp;
  ASSERT_EQ(this->b().Update(map, &index, &fd32, BPF_NOEXIST), 0);
  uint64_t cookie = 0;
  EXPECT_EQ(this->CookieAt(map, 1, &cookie), -ENOSPC);
  EXPECT_EQ(this->CookieAt(map, 0, &cookie), -ENOSPC);
  fd32 = -1;
  EXPECT_EQ(this->b().Update(map, &index, &fd32, BPF_ANY), -EBADF);
}

// bpf_sk_reuseport_detach(): the socket leaves when it is closed (its last
// descriptor) or, for a listener, shut down.
TYPED_TEST_P(ReuseportConformance, SocketLeavesWhenUnhashed) {
  const int map = this->MustCreate(this->Reuseport(8));
  const int a = this->Sock(SOCK_STREAM);
  const int b = this->Sock(SOCK_STREAM, true, true, true, this->Port(a));
  const int u = this->Sock(SOCK_DGRAM);
  ASSERT_EQ(this->Put(map, 0, a), 0);
  ASSERT_EQ(this->Put(map, 1, b), 0);
  ASSERT_EQ(this->Put(map, 2, u), 0);
  const uint64_t a_cookie = this->Cookie(a);
  const int a_dup = dup(a);
  this->CloseSock(a);
  uint64_t cookie = 0;
  ASSERT_EQ(this->CookieAt(map, 0, &cookie), 0);
  EXPECT_EQ(cookie, a_cookie);
  close(a_dup);
  EXPECT_EQ(this->CookieAt(map, 0, &cookie), -ENOENT);
  EXPECT_EQ(this->Put(map, 0, b, BPF_EXIST), -ENOENT);
  ASSERT_EQ(shutdown(b, SHUT_RDWR), 0);
  EXPECT_EQ(this->CookieAt(map, 1, &cookie), -ENOENT);
  EXPECT_EQ(this->Delete(map, uint32_t{1}), -ENOENT);
  this->CloseSock(u);
  EXPECT_EQ(this->Delete(map, uint32_t{2}), -ENOENT);
  // A new socket takes the freed slots.
  EXPECT_EQ(this->Put(map, 2, this->Sock(SOCK_DGRAM), BPF_NOEXIST), 0);
}

// sk_user_data has one user: a socket map's psock or a reuseport array.
// The socket map checks its flags and index first (sock_map_update_common).
TYPED_TEST_P(ReuseportConformance, SocketMapsAndArraysExcludeEachOther) {
  const int rp = this->MustCreate(this->Reuseport(8));
  const int sm = this->MustCreate(Attr(BPF_MAP_TYPE_SOCKMAP, 4, 8, 4));
  const int sh = this->MustCreate(Attr(BPF_MAP_TYPE_SOCKHASH, 4, 8, 4));
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    SCOPED_TRACE(type);
    const int s = this->Sock(type);
    ASSERT_EQ(this->Put(sm, 0, s), 0);
    EXPECT_EQ(this->Put(rp, 0, s), -EBUSY);
    EXPECT_EQ(this->Delete(sm, uint32_t{0}), 0);
    EXPECT_EQ(this->Put(rp, 0, s), 0);
    EXPECT_EQ(this->Put(sm, 0, s, BPF_EXIST + 1), -EINVAL);
    EXPECT_EQ(this->Put(sm, 4, s), -E2BIG);
    EXPECT_EQ(this->Put(sm, 0, s), -EBUSY);
    EXPECT_EQ(this->Put(sh, 0, s), -EBUSY);
    EXPECT_EQ(this->Put(sh, 0, s, BPF_EXIST + 1), -EINVAL);
    EXPECT_EQ(this->Delete(rp, uint32_t{0}), 0);
    EXPECT_EQ(this->Put(sh, 0, s), 0);
    EXPECT_EQ(this->Put(rp, 1, s), -EBUSY);
    EXPECT_EQ(this->Delete(sh, uint32_t{0}), 0);
  }
}

TYPED_TEST_P(ReuseportConformance, GetNextKeyWalksTheArray) {
  const int map = this->MustCreate(this->Reuseport(8, 3));
  EXPECT_EQ(this->template Keys<uint32_t>(map),
            (std::vector<uint32_t>{0, 1, 2}));
  uint32_t key = 9, next = 7;
  EXPECT_EQ(this->b().GetNextKey(map, &key, &next), 0);
  EXPECT_EQ(next, 0u);
  key = 2;
  EXPECT_EQ(this->b().GetNextKey(map, &key, &next), -ENOENT);
}

REGISTER_TYPED_TEST_SUITE_P(ReuseportConformance, CreateChecks,
                            UpdateChecksInTheKernelsOrder,
                            LookupAnswersTheCookie, A32BitArrayCannotBeLookedUp,
                            SocketLeavesWhenUnhashed,
                            SocketMapsAndArraysExcludeEachOther,
                            GetNextKeyWalksTheArray);

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_REUSEPORT_CONFORMANCE_H_
