// SPDX-License-Identifier: Apache-2.0
// A connected TCP pair over loopback and its listener, closed with the
// object: the sockets the sk_msg and sock_ops comparisons attach to (on
// the kernel) and replay through (on bpfemu).

#ifndef BPFEMU_TESTS_EXAMPLES_TCP_PAIR_H_
#define BPFEMU_TESTS_EXAMPLES_TCP_PAIR_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bpfemu::examples {

struct TcpPair {
  int listener = -1, client = -1, server = -1;
  TcpPair() = default;
  TcpPair(const TcpPair&) = delete;
  TcpPair& operator=(const TcpPair&) = delete;
  ~TcpPair() {
    for (int fd : {listener, client, server}) {
      if (fd >= 0) close(fd);
    }
  }
};

// Listens on an ephemeral loopback port, connects to it and accepts: false
// when any step fails.
inline bool Connect(TcpPair* p) {
  p->listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(a);
  if (bind(p->listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(p->listener, 1) != 0 ||
      getsockname(p->listener, reinterpret_cast<sockaddr*>(&a), &alen) != 0) {
    return false;
  }
  p->client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(p->client, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    return false;
  }
  p->server = accept(p->listener, nullptr, nullptr);
  return p->server >= 0;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_TCP_PAIR_H_
