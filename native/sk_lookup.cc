// SPDX-License-Identifier: Apache-2.0
// The socket lookup helpers (net/core/filter.c bpf_sk_lookup_tcp,
// bpf_sk_lookup_udp, bpf_skc_lookup_tcp, bpf_sk_release, with
// __bpf_skc_lookup's argument rules and sk_lookup's choice of socket),
// answered from the real sockets of the calling process's network
// namespace: a NETLINK_SOCK_DIAG (inet_diag) dump of TCP or UDP sockets of
// the tuple's family, matched the way __inet_lookup / __udp4_lib_lookup
// match (an established socket before a listener; for UDP the most specific
// bound socket). The answer is a `struct bpf_sock` (include/uapi/linux/bpf.h)
// filled from the dump, which the program owns until bpf_sk_release.
// docs/semantics.md (Socket lookups) says what differs from the kernel.

#include "native/sk_lookup.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "native/helpers.h"

namespace bpfemu::native {
namespace {

// include/net/tcp_states.h
constexpr int kTcpSynRecv = 3, kTcpTimeWait = 6, kTcpListen = 10,
              kTcpNewSynRecv = 12;

// What the kernel's sk_state is for a dumped socket: inet_diag reports a
// timewait socket with its substate and timer 3 (inet_twsk_diag_fill), a
// request socket as SYN_RECV without an inode (inet_req_diag_fill), where
// the socket itself is TIME_WAIT / NEW_SYN_RECV.
int StateOf(const inet_diag_msg& m) {
  if (m.idiag_timer == 3 && m.idiag_inode == 0) return kTcpTimeWait;
  if (m.idiag_state == kTcpSynRecv && m.idiag_inode == 0) {
    return kTcpNewSynRecv;
  }
  return m.idiag_state;
}

// INET_DIAG_INFO (a TCP socket's tcp_info, shorter from older kernels) and
// INET_DIAG_CGROUP_ID (inet_diag_msg_attrs_fill) of one dumped socket.
SockExtra ExtraOf(const nlmsghdr* h) {
  SockExtra e;
  const auto* base = static_cast<const char*>(NLMSG_DATA(h));
  inet_diag_msg m;
  std::memcpy(&m, base, sizeof(m));
  if (m.idiag_state == kTcpListen) {
    e.ack_backlog = m.idiag_rqueue;
    e.max_ack_backlog = m.idiag_wqueue;
  }
  int left =
      static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(inet_diag_msg)));
  const auto* a = reinterpret_cast<const rtattr*>(
      base + NLMSG_ALIGN(sizeof(inet_diag_msg)));
  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    const size_t n = RTA_PAYLOAD(a);
    if (a->rta_type == INET_DIAG_INFO) {
      std::memcpy(&e.info, RTA_DATA(a), std::min(n, sizeof(e.info)));
      e.has_info = true;
    } else if (a->rta_type == INET_DIAG_CGROUP_ID && n >= 8) {
      std::memcpy(&e.cgroup_id, RTA_DATA(a), 8);
    } else if (a->rta_type == INET_DIAG_SKV6ONLY && n >= 1) {
      e.v6only = *static_cast<const uint8_t*>(RTA_DATA(a)) != 0;
    }
  }
  return e;
}

// Every socket of `family`/`proto` the kernel's inet_diag lists, or nullopt
// when the netlink socket cannot be used; `extra` gets each one's
// attributes (tcp_info, cgroup id), in the same order.
std::optional<std::vector<inet_diag_msg>> DumpSockets(
    int family, int proto, std::vector<SockExtra>* extra) {
  const int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return std::nullopt;
  struct {
    nlmsghdr nh;
    inet_diag_req_v2 req;
  } msg = {};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = static_cast<uint8_t>(family);
  msg.req.sdiag_protocol = static_cast<uint8_t>(proto);
  msg.req.idiag_states = ~0u;
  msg.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  std::vector<inet_diag_msg> out;
  if (send(nl, &msg, sizeof(msg), 0) != static_cast<ssize_t>(sizeof(msg))) {
    close(nl);
    return std::nullopt;
  }
  alignas(nlmsghdr) char buf[32768];
  bool done = false, ok = true;
  while (!done) {
    const ssize_t n = recv(nl, buf, sizeof(buf), 0);
    if (n <= 0) {
      ok = false;
      break;
    }
    int left = static_cast<int>(n);
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        done = true;
        ok = false;
        break;
      }
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      inet_diag_msg m;
      std::memcpy(&m, NLMSG_DATA(h), sizeof(m));
      out.push_back(m);
      extra->push_back(ExtraOf(h));
    }
  }
  close(nl);
  if (!ok) return std::nullopt;
  return out;
}

// The tuple as the lookup reads it: saddr/sport is the remote end (the
// packet's source), daddr/dport the local one.
struct Tuple {
  int family;
  uint32_t saddr[4], daddr[4];  // network order words (ipv4: [0])
  uint16_t sport, dport;        // network order
};

bool AddrIs(const uint32_t* diag, const uint32_t* want, int family) {
  return std::memcmp(diag, want, family == AF_INET ? 4 : 16) == 0;
}
bool AddrAny(const uint32_t* diag, int family) {
  static constexpr uint32_t kZero[4] = {};
  return AddrIs(diag, kZero, family);
}

// __inet_lookup: an established (or timewait / request) socket whose four
// ports and addresses are the tuple's, else a listener on the local
// address and port (an exact address before the wildcard, as
// inet_lhash2_lookup's compute_score ranks them).
const inet_diag_msg* PickTcp(const std::vector<inet_diag_msg>& all,
                             const Tuple& t) {
  const inet_diag_msg* listener = nullptr;
  int best = 0;
  for (const inet_diag_msg& m : all) {
    const inet_diag_sockid& id = m.id;
    if (id.idiag_sport != t.dport) continue;
    if (m.idiag_state == kTcpListen) {
      int score = 0;
      if (AddrIs(id.idiag_src, t.daddr, t.family)) {
        score = 2;
      } else if (AddrAny(id.idiag_src, t.family)) {
        score = 1;
      }
      if (score > best) {
        best = score;
        listener = &m;
      }
      continue;
    }
    if (id.idiag_dport == t.sport && AddrIs(id.idiag_src, t.daddr, t.family) &&
        AddrIs(id.idiag_dst, t.saddr, t.family)) {
      return &m;
    }
  }
  return listener;
}

// __udp4_lib_lookup / __udp6_lib_lookup's compute_score: the local port
// must match; a bound address, a connected peer (address and port) each
// must match the tuple and make the socket more specific.
const inet_diag_msg* PickUdp(const std::vector<inet_diag_msg>& all,
                             const Tuple& t) {
  const inet_diag_msg* found = nullptr;
  int best = -1;
  for (const inet_diag_msg& m : all) {
    const inet_diag_sockid& id = m.id;
    if (id.idiag_sport != t.dport) continue;
    int score = 0;
    if (!AddrAny(id.idiag_src, t.family)) {
      if (!AddrIs(id.idiag_src, t.daddr, t.family)) continue;
      score += 4;
    }
    if (!AddrAny(id.idiag_dst, t.family)) {
      if (!AddrIs(id.idiag_dst, t.saddr, t.family)) continue;
      score += 4;
    }
    if (id.idiag_dport != 0) {
      if (id.idiag_dport != t.sport) continue;
      score += 4;
    }
    if (score > best) {
      best = score;
      found = &m;
    }
  }
  return found;
}

// The sockets handed to programs and not yet released.
std::mutex g_mu;
std::unordered_set<const void*>* Live() {
  static auto* live = new std::unordered_set<const void*>();
  return live;
}
// Every address of such a socket a helper hands out (its struct bpf_sock,
// struct bpf_tcp_sock and kernel-typed view), to the socket.
std::unordered_map<const void*, const LookedUpSock*>* Aliases() {
  static auto* aliases =
      new std::unordered_map<const void*, const LookedUpSock*>();
  return aliases;
}

// The other family's address fields the kernel's struct sock holds, which
// bpf_sock_convert_ctx_access reads whatever the family (skc_rcv_saddr,
// skc_daddr, skc_v6_rcv_saddr, skc_v6_daddr), as the 6.18 kernel showed
// them: an IPv4 TCP socket past listen has its addresses v4-mapped in the
// IPv6 fields (sk_rcv_saddr_set / sk_daddr_set); an IPv6 socket bound to
// an IPv6 address has LOOPBACK4_IPV6 (127.0.0.6) as its IPv4 source, and
// an accepted one (tcp_v6_syn_recv_sock) as its IPv4 destination too.
void OtherFamily(struct bpf_sock& s, int proto, bool accepted) {
  const uint32_t loopback4_ipv6 = htonl(0x7f000006);
  if (s.family == AF_INET) {
    if (proto != IPPROTO_TCP || s.state == kTcpListen || s.state == 7) return;
    s.src_ip6[2] = s.dst_ip6[2] = htonl(0xffff);
    s.src_ip6[3] = s.src_ip4;
    s.dst_ip6[3] = s.dst_ip4;
    return;
  }
  static constexpr uint32_t kZero[4] = {};
  const bool mapped =
      s.src_ip6[0] == 0 && s.src_ip6[1] == 0 && s.src_ip6[2] == htonl(0xffff);
  if (mapped) {
    s.src_ip4 = s.src_ip6[3];
    if (s.dst_ip6[2] == htonl(0xffff)) s.dst_ip4 = s.dst_ip6[3];
    return;
  }
  if (std::memcmp(s.src_ip6, kZero, 16) != 0) s.src_ip4 = loopback4_ipv6;
  if (accepted) s.dst_ip4 = loopback4_ipv6;
}

struct bpf_sock* Hand(const inet_diag_msg& m, const SockExtra& extra,
                      int family, int proto, bool accepted) {
  auto* sk = new LookedUpSock();
  sk->extra = extra;
  struct bpf_sock& s = sk->sk;
  s.bound_dev_if = m.id.idiag_if;
  s.family = static_cast<uint32_t>(family);
  s.type = proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
  s.protocol = static_cast<uint32_t>(proto);
  // bpf_sock_convert_ctx_access: src_port is host order (inet_num),
  // dst_port the network order __be16 in the low half.
  s.src_port = ntohs(m.id.idiag_sport);
  s.dst_port = m.id.idiag_dport;
  if (family == AF_INET) {
    s.src_ip4 = m.id.idiag_src[0];
    s.dst_ip4 = m.id.idiag_dst[0];
  } else {
    std::memcpy(s.src_ip6, m.id.idiag_src, 16);
    std::memcpy(s.dst_ip6, m.id.idiag_dst, 16);
  }
  s.state = static_cast<uint32_t>(StateOf(m));
  s.rx_queue_mapping = -1;
  OtherFamily(s, proto, accepted);
  sk->cookie = static_cast<uint64_t>(m.id.idiag_cookie[0]) |
               static_cast<uint64_t>(m.id.idiag_cookie[1]) << 32;
  sk->full = s.state != kTcpTimeWait && s.state != kTcpNewSynRecv;
  FillSockModel(sk);
  std::lock_guard<std::mutex> lock(g_mu);
  Live()->insert(&sk->sk);
  Aliases()->emplace(&sk->sk, sk);
  Aliases()->emplace(&sk->tcp, sk);
  if (!sk->kview.empty()) Aliases()->emplace(sk->kview.data(), sk);
  return &sk->sk;
}

}  // namespace

struct bpf_sock* SkLookup(const void* tuple_p, uint32_t len, uint64_t netns,
                          uint64_t flags, int proto, bool skc) {
  Tuple t = {};
  if (len == sizeof(((struct bpf_sock_tuple*)nullptr)->ipv4)) {
    t.family = AF_INET;
  } else if (len == sizeof(((struct bpf_sock_tuple*)nullptr)->ipv6)) {
    t.family = AF_INET6;
  } else {
    return nullptr;
  }
  // __bpf_skc_lookup: flags must be 0; a negative s32 is the caller's
  // netns, an id up to S32_MAX another netns's (get_net_ns_by_id); bpfemu
  // knows no ids (docs/semantics.md), so those find nothing, as an unknown
  // id does.
  const bool current = static_cast<int32_t>(netns) < 0;
  if (flags != 0 || !current) return nullptr;
  const auto* tuple = static_cast<const struct bpf_sock_tuple*>(tuple_p);
  if (t.family == AF_INET) {
    t.saddr[0] = tuple->ipv4.saddr;
    t.daddr[0] = tuple->ipv4.daddr;
    t.sport = tuple->ipv4.sport;
    t.dport = tuple->ipv4.dport;
  } else {
    std::memcpy(t.saddr, tuple->ipv6.saddr, 16);
    std::memcpy(t.daddr, tuple->ipv6.daddr, 16);
    t.sport = tuple->ipv6.sport;
    t.dport = tuple->ipv6.dport;
  }
  std::vector<SockExtra> extra;
  const auto all = DumpSockets(t.family, proto, &extra);
  if (!all) return nullptr;
  auto extra_of = [&](const inet_diag_msg* x) -> const SockExtra& {
    return extra[static_cast<size_t>(x - all->data())];
  };
  const inet_diag_msg* m =
      proto == IPPROTO_TCP ? PickTcp(*all, t) : PickUdp(*all, t);
  if (m == nullptr) return nullptr;
  if (!skc && StateOf(*m) == kTcpTimeWait) return nullptr;
  if (!skc && StateOf(*m) == kTcpNewSynRecv) {
    // sk_to_full_sk: a request socket stands for its listener.
    Tuple l = t;
    l.sport = 0;
    std::vector<inet_diag_msg> listeners;
    std::vector<SockExtra> listener_extra;
    for (size_t i = 0; i < all->size(); ++i) {
      if ((*all)[i].idiag_state != kTcpListen) continue;
      listeners.push_back((*all)[i]);
      listener_extra.push_back(extra[i]);
    }
    m = PickTcp(listeners, l);
    if (m == nullptr) return nullptr;
    return Hand(*m, listener_extra[static_cast<size_t>(m - listeners.data())],
                t.family, proto, false);
  }
  // An established socket on a listener's port came from accept() (what
  // sock_diag does not say directly).
  bool accepted = false;
  if (m->idiag_state != kTcpListen && proto == IPPROTO_TCP) {
    for (const inet_diag_msg& x : *all) {
      accepted = accepted || (x.idiag_state == kTcpListen &&
                              x.id.idiag_sport == m->id.idiag_sport);
    }
  }
  return Hand(*m, extra_of(m), t.family, proto, accepted);
}

const LookedUpSock* SkOfAlias(const void* p) {
  std::lock_guard<std::mutex> lock(g_mu);
  const auto it = Aliases()->find(p);
  return it == Aliases()->end() ? nullptr : it->second;
}

const LookedUpSock* SkLookedUp(const void* sk) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (Live()->count(sk) == 0) return nullptr;
  return reinterpret_cast<const LookedUpSock*>(sk);
}

struct bpf_sock* SkFullsock(void* sk) {
  // The test run's skb->sk is a full socket (state TCP_CLOSE).
  if (IsRunSocket(sk)) return static_cast<struct bpf_sock*>(sk);
  const LookedUpSock* s = SkLookedUp(sk);
  return s != nullptr && s->full ? static_cast<struct bpf_sock*>(sk) : nullptr;
}

struct bpf_sock* SkListener(void* sk) {
  const LookedUpSock* s = SkLookedUp(sk);
  return s != nullptr && s->sk.state == kTcpListen &&
                 s->sk.protocol == IPPROTO_TCP
             ? static_cast<struct bpf_sock*>(sk)
             : nullptr;
}

long SkRelease(void* sk) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    // A pointer no lookup returned (or already released) is left alone:
    // the kernel's verifier refuses such a program at load.
    if (Live()->erase(sk) == 0) return 0;
    auto* s = reinterpret_cast<LookedUpSock*>(sk);
    Aliases()->erase(&s->sk);
    Aliases()->erase(&s->tcp);
    if (!s->kview.empty()) Aliases()->erase(s->kview.data());
  }
  delete reinterpret_cast<LookedUpSock*>(sk);
  return 0;
}

}  // namespace bpfemu::native

extern "C" {

struct bpf_sock* bpfemu_sk_lookup_tcp(void* ctx, void* tuple, __u32 len,
                                      __u64 netns, __u64 flags) {
  (void)ctx;
  return bpfemu::native::SkLookup(tuple, len, netns, flags, IPPROTO_TCP, false);
}
struct bpf_sock* bpfemu_sk_lookup_udp(void* ctx, void* tuple, __u32 len,
                                      __u64 netns, __u64 flags) {
  (void)ctx;
  return bpfemu::native::SkLookup(tuple, len, netns, flags, IPPROTO_UDP, false);
}
struct bpf_sock* bpfemu_skc_lookup_tcp(void* ctx, void* tuple, __u32 len,
                                       __u64 netns, __u64 flags) {
  (void)ctx;
  return bpfemu::native::SkLookup(tuple, len, netns, flags, IPPROTO_TCP, true);
}
long bpfemu_sk_release(void* sk) { return bpfemu::native::SkRelease(sk); }
struct bpf_sock* bpfemu_get_listener_sock(void* sk) {
  return bpfemu::native::SkListener(sk);
}
struct bpf_sock* bpfemu_sk_fullsock(void* sk) {
  return bpfemu::native::SkFullsock(sk);
}

}  // extern "C"
