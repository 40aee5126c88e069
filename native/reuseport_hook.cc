// SPDX-License-Identifier: Apache-2.0
// native/reuseport_hook.h: net/core/filter.c bpf_run_sk_reuseport,
// bpf_init_reuseport_kern and sk_select_reuseport over real SO_REUSEPORT
// sockets (the group: family, protocol and bound address, as
// reuseport_id tells the kernel's groups apart).
#include "native/reuseport_hook.h"

#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "bpfemu/native_abi.h"
#include "emu/reuseport_array.h"
#include "native/bound_map.h"

namespace bpfemu::native {
namespace {

struct ReuseportFrame {
  int fd = -1;
  uint64_t selected = 0;
};
thread_local ReuseportFrame* reuseport_run = nullptr;

// The reuseport group a socket is hashed in, as far as userspace can
// name it.
struct Group {
  int family = 0, protocol = 0;
  struct sockaddr_storage addr = {};
  socklen_t len = 0;
};

int IntOpt(int fd, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  return getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : -1;
}

Group GroupOf(int fd) {
  Group g;
  g.family = IntOpt(fd, SO_DOMAIN);
  g.protocol = IntOpt(fd, SO_PROTOCOL);
  g.len = sizeof(g.addr);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&g.addr), &g.len) !=
      0) {
    g.len = 0;
  }
  return g;
}

bool BoundToAny(const Group& g) {
  if (g.family == AF_INET) {
    struct sockaddr_in in;
    std::memcpy(&in, &g.addr, sizeof(in));
    return in.sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (g.family == AF_INET6) {
    struct sockaddr_in6 in6;
    std::memcpy(&in6, &g.addr, sizeof(in6));
    return IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr);
  }
  return false;
}

}  // namespace

ReuseportOutcome RunReuseportHook(const ReuseportAccess& access,
                                  absl::FunctionRef<uint32_t(void* ctx)> run) {
  std::vector<uint8_t> data = access.data;
  if (data.empty()) data.reserve(1);
  const Group g = GroupOf(access.fd);
  struct sk_reuseport_md md = {};
  md.data = data.data();
  md.data_end = data.data() + data.size();
  md.len = static_cast<uint32_t>(data.size());
  md.eth_protocol = access.eth_protocol;
  md.ip_protocol = static_cast<uint32_t>(g.protocol);
  md.bind_inany = BoundToAny(g) ? 1 : 0;
  md.hash = access.hash;
  ReuseportFrame frame{access.fd, 0};
  ReuseportFrame* const outer = reuseport_run;
  reuseport_run = &frame;
  ReuseportOutcome out;
  out.verdict = run(&md);
  reuseport_run = outer;
  if (out.verdict == SK_PASS) out.selected_cookie = frame.selected;
  return out;
}

long SkSelectReuseport(const void* /*ctx*/, void* map, const void* key,
                       uint64_t /*flags*/) {
  ReuseportFrame* f = reuseport_run;
  if (f == nullptr) return -EINVAL;
  auto* array =
      dynamic_cast<ReuseportArray*>(internal::BoundOf(map)->map.get());
  if (array == nullptr) return -EOPNOTSUPP;  // SOCKMAP / SOCKHASH
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  const int fd = array->SocketFdAt(index);
  if (fd < 0) return -ENOENT;
  const Group mine = GroupOf(f->fd), theirs = GroupOf(fd);
  if (mine.protocol != theirs.protocol) return -EPROTOTYPE;
  if (mine.family != theirs.family) return -EAFNOSUPPORT;
  if (mine.len != theirs.len ||
      std::memcmp(&mine.addr, &theirs.addr, mine.len) != 0) {
    return -EBADFD;
  }
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) {
    return -ENOENT;
  }
  f->selected = cookie;
  return 0;
}

}  // namespace bpfemu::native

extern "C" long bpfemu_sk_select_reuseport(void* reuse, void* map, void* key,
                                           __u64 flags) {
  return bpfemu::native::SkSelectReuseport(reuse, map, key, flags);
}
