// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/sk_lookup.bpf.c shared by sk_lookup_test (on
// bpfemu, without root) and sk_lookup_compare_test (the kernel too): real
// sockets on 127.0.0.1 and ::1 made by the test (a TCP listener, an
// established connection's two ends, a bound UDP socket, per family) and
// the tuples that find them, miss them, or break the argument rules of
// net/core/filter.c __bpf_skc_lookup (tuple size, flags, netns). Each case
// says what the lookup must answer, from the sockets' own getsockname.

#ifndef BPFEMU_TESTS_EXAMPLES_SK_LOOKUP_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SK_LOOKUP_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu::examples::sk_lookup {

// tests/examples/sk_lookup.bpf.c's map values.
enum Op : uint32_t { kTcp = 0, kUdp = 1, kSkcTcp = 2 };
struct Cmd {
  uint8_t tuple[64];
  uint32_t len;
  uint32_t op;
  uint64_t netns;
  uint64_t flags;
};
struct Out {
  uint32_t found;
  uint32_t family, type, protocol, state;
  uint32_t src_ip4, dst_ip4;
  uint32_t src_ip6[4], dst_ip6[4];
  uint32_t src_port, dst_port;
  uint32_t runs;
  uint32_t fullsock_type;   // tc only: bpf_sk_fullsock of an skc answer
  uint32_t listener_state;  // tc only: bpf_get_listener_sock of an answer
};

struct Case {
  std::string name;
  Cmd cmd;
  Out want;  // runs is not compared

  // The answer of the tc program (use_xdp false) or the XDP one.
  Out Want(bool use_xdp) const {
    Out w = want;
    if (!use_xdp && cmd.op == kSkcTcp && w.found) w.fullsock_type = SOCK_STREAM;
    if (!use_xdp && cmd.op == kTcp && w.state == 10) w.listener_state = 10;
    return w;
  }
};

inline bool SameAnswer(const Out& a, const Out& b) {
  Out x = a, y = b;
  x.runs = y.runs = 0;
  return std::memcmp(&x, &y, sizeof(x)) == 0;
}

inline std::string Describe(const Out& o) {
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "found=%u family=%u type=%u proto=%u state=%u src4=%08x "
                "dst4=%08x src6=%08x:%08x:%08x:%08x dst6=%08x:%08x:%08x:%08x "
                "sport=%u dport=%u",
                o.found, o.family, o.type, o.protocol, o.state, o.src_ip4,
                o.dst_ip4, o.src_ip6[0], o.src_ip6[1], o.src_ip6[2],
                o.src_ip6[3], o.dst_ip6[0], o.dst_ip6[1], o.dst_ip6[2],
                o.dst_ip6[3], o.src_port, o.dst_port);
  return buf;
}

// One end of a socket: its family's address bytes and port (network
// order), from getsockname / getpeername.
struct End {
  uint32_t addr[4] = {};
  uint16_t port = 0;
};

inline End NameOf(int fd, bool peer) {
  sockaddr_storage ss = {};
  socklen_t l = sizeof(ss);
  End e;
  if ((peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &l)
            : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &l)) != 0) {
    return e;
  }
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    e.addr[0] = s->sin_addr.s_addr;
    e.port = s->sin_port;
  } else {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(e.addr, &s->sin6_addr, 16);
    e.port = s->sin6_port;
  }
  return e;
}

// The sockets of one family: fds closed by the destructor.
class Sockets {
 public:
  explicit Sockets(int family) : family_(family) {
    sockaddr_storage ss = {};
    socklen_t l;
    if (family == AF_INET) {
      auto* s = reinterpret_cast<sockaddr_in*>(&ss);
      s->sin_family = AF_INET;
      s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      l = sizeof(*s);
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
      s->sin6_family = AF_INET6;
      s->sin6_addr = in6addr_loopback;
      l = sizeof(*s);
    }
    const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
    listener = socket(family, SOCK_STREAM, 0);
    ok =
        listener >= 0 && bind(listener, sa, l) == 0 && listen(listener, 4) == 0;
    const End ln = NameOf(listener, false);
    sockaddr_storage to = ss;
    if (family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&to)->sin_port = ln.port;
    } else {
      reinterpret_cast<sockaddr_in6*>(&to)->sin6_port = ln.port;
    }
    client = socket(family, SOCK_STREAM, 0);
    ok = ok && client >= 0 &&
         connect(client, reinterpret_cast<const sockaddr*>(&to), l) == 0;
    server = ok ? accept(listener, nullptr, nullptr) : -1;
    // The UDP socket's port is held by a bound TCP socket that never
    // listens, so no TCP listener (this one's, or another process's: UDP
    // and TCP ports are allocated apart) can share it and turn the "tcp
    // miss (udp port)" case into a hit.
    tcp_hold = socket(family, SOCK_STREAM, 0);
    ok = ok && tcp_hold >= 0 && bind(tcp_hold, sa, l) == 0;
    sockaddr_storage held = ss;
    if (family == AF_INET) {
      reinterpret_cast<sockaddr_in*>(&held)->sin_port =
          NameOf(tcp_hold, false).port;
    } else {
      reinterpret_cast<sockaddr_in6*>(&held)->sin6_port =
          NameOf(tcp_hold, false).port;
    }
    udp = socket(family, SOCK_DGRAM, 0);
    ok = ok && server >= 0 && udp >= 0 &&
         bind(udp, reinterpret_cast<const sockaddr*>(&held), l) == 0;
    // A port nothing of this family is bound to: a socket bound and closed.
    const int spare = socket(family, SOCK_STREAM, 0);
    ok = ok && spare >= 0 && bind(spare, sa, l) == 0;
    unused_port = NameOf(spare, false).port;
    if (spare >= 0) close(spare);
  }
  ~Sockets() {
    for (int fd : {listener, client, server, udp, tcp_hold}) {
      if (fd >= 0) close(fd);
    }
  }
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;

  int family_;
  bool ok = false;
  int listener = -1, client = -1, server = -1, udp = -1, tcp_hold = -1;
  uint16_t unused_port = 0;
};

inline uint32_t TupleLen(int family) {
  return family == AF_INET ? sizeof(((bpf_sock_tuple*)nullptr)->ipv4)
                           : sizeof(((bpf_sock_tuple*)nullptr)->ipv6);
}

// A command for the tuple remote -> local.
inline Cmd MakeCmd(int family, Op op, const End& remote, const End& local) {
  Cmd c = {};
  auto* t = reinterpret_cast<bpf_sock_tuple*>(c.tuple);
  if (family == AF_INET) {
    t->ipv4.saddr = remote.addr[0];
    t->ipv4.daddr = local.addr[0];
    t->ipv4.sport = remote.port;
    t->ipv4.dport = local.port;
  } else {
    std::memcpy(t->ipv6.saddr, remote.addr, 16);
    std::memcpy(t->ipv6.daddr, local.addr, 16);
    t->ipv6.sport = remote.port;
    t->ipv6.dport = local.port;
  }
  c.len = TupleLen(family);
  c.op = op;
  c.netns = static_cast<uint64_t>(BPF_F_CURRENT_NETNS);
  return c;
}

// The answer for socket `fd` of `type` in `state` (include/net/tcp_states.h).
inline Out Want(int family, int fd, int type, int proto, uint32_t state,
                bool full, bool accepted = false) {
  Out o = {};
  o.found = 1;
  o.family = family;
  if (full) {
    o.type = type;
    o.protocol = proto;
  }
  o.state = state;
  const End me = NameOf(fd, false), peer = NameOf(fd, true);
  if (family == AF_INET) {
    o.src_ip4 = me.addr[0];
    o.dst_ip4 = peer.addr[0];
  } else {
    std::memcpy(o.src_ip6, me.addr, 16);
    std::memcpy(o.dst_ip6, peer.addr, 16);
  }
  o.src_port = ntohs(me.port);
  o.dst_port = peer.port;
  // The other family's fields, as the 6.18 kernel fills them: v4-mapped
  // addresses for an IPv4 TCP socket past listen, LOOPBACK4_IPV6 for an
  // IPv6 socket's IPv4 source (and destination, once accepted).
  if (family == AF_INET && proto == IPPROTO_TCP && state != 10) {
    o.src_ip6[2] = o.dst_ip6[2] = htonl(0xffff);
    o.src_ip6[3] = o.src_ip4;
    o.dst_ip6[3] = o.dst_ip4;
  }
  if (family == AF_INET6) {
    o.src_ip4 = htonl(0x7f000006);
    if (accepted) o.dst_ip4 = htonl(0x7f000006);
  }
  return o;
}

inline std::vector<Case> Cases(const Sockets& s) {
  const int f = s.family_;
  const std::string fam = f == AF_INET ? "ipv4 " : "ipv6 ";
  std::vector<Case> v;
  const End ln = NameOf(s.listener, false), cl = NameOf(s.client, false),
            ud = NameOf(s.udp, false);
  End stranger = ln;
  stranger.port = htons(1);  // a remote end nothing is connected to
  const Out none = {};
  auto add = [&](const std::string& n, const Cmd& c, const Out& w) {
    v.push_back({fam + n, c, w});
  };
  const Out listen = Want(f, s.listener, SOCK_STREAM, IPPROTO_TCP, 10, true);
  add("tcp listener", MakeCmd(f, kTcp, stranger, ln), listen);
  add("tcp established (server end)", MakeCmd(f, kTcp, cl, ln),
      Want(f, s.server, SOCK_STREAM, IPPROTO_TCP, 1, true, true));
  add("tcp established (client end)", MakeCmd(f, kTcp, ln, cl),
      Want(f, s.client, SOCK_STREAM, IPPROTO_TCP, 1, true));
  add("skc listener", MakeCmd(f, kSkcTcp, stranger, ln),
      Want(f, s.listener, SOCK_STREAM, IPPROTO_TCP, 10, false));
  add("skc established", MakeCmd(f, kSkcTcp, cl, ln),
      Want(f, s.server, SOCK_STREAM, IPPROTO_TCP, 1, false, true));
  End miss = ln;
  miss.port = s.unused_port;
  add("tcp miss (unused port)", MakeCmd(f, kTcp, stranger, miss), none);
  add("tcp miss (udp port)", MakeCmd(f, kTcp, stranger, ud), none);
  add("udp bound", MakeCmd(f, kUdp, stranger, ud),
      Want(f, s.udp, SOCK_DGRAM, IPPROTO_UDP, 7, true));
  add("udp miss (tcp listener port)", MakeCmd(f, kUdp, stranger, ln), none);
  // __bpf_skc_lookup's argument rules.
  for (uint32_t len : {0u, 8u, 13u, 35u, 37u, 40u}) {
    if (len == 0 || len == TupleLen(f)) continue;
    Cmd c = MakeCmd(f, kTcp, stranger, ln);
    c.len = len;
    add("tuple size " + std::to_string(len), c, none);
  }
  Cmd c = MakeCmd(f, kTcp, stranger, ln);
  c.flags = 1;
  add("flags 1", c, none);
  const struct {
    uint64_t netns;
    bool found;
  } netns[] = {{0xfffffffeull, true},         {0x80000000ull, true},
               {0xffffffff80000000ull, true}, {0x100000000ull, false},
               {0x17fffffffull, false},       {0x7fffffffull, false}};
  for (const auto& n : netns) {
    c = MakeCmd(f, kTcp, stranger, ln);
    c.netns = n.netns;
    char name[64];
    std::snprintf(name, sizeof(name), "netns 0x%llx",
                  static_cast<unsigned long long>(n.netns));
    add(name, c, n.found ? listen : none);
  }
  return v;
}

}  // namespace bpfemu::examples::sk_lookup

#endif  // BPFEMU_TESTS_EXAMPLES_SK_LOOKUP_CASES_H_
