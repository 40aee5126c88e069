// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/sock_helpers.bpf.c shared by
// sock_helpers_test (bpfemu, without root) and sock_helpers_compare_test
// (the kernel too): the sockets of sk_lookup_cases.h (a TCP listener, an
// established connection, a bound UDP socket, per family), a TCP socket in
// TIME_WAIT, and the test run's skb->sk. Each case says what the casts,
// bpf_tcp_sock and the CO-RE reads must answer, from the sockets' own
// getsockname / getpeername / TCP_INFO (the same tcp_info the kernel's
// sock_diag reports), and what bpf_sk_cgroup_id must, from the test's own
// cgroup.

#ifndef BPFEMU_TESTS_EXAMPLES_SOCK_HELPERS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SOCK_HELPERS_CASES_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tests/examples/sk_lookup_cases.h"

namespace bpfemu::examples::sock_helpers {

// tests/examples/sock_helpers.bpf.c's map values and constants.
enum Op : uint32_t { kTcp = 0, kUdp = 1, kSkcTcp = 2, kSkbSk = 3 };
enum CastBit : uint32_t {
  kCastTcp6 = 1 << 0,
  kCastTcp = 1 << 1,
  kCastTcpTw = 1 << 2,
  kCastTcpReq = 1 << 3,
  kCastUdp6 = 1 << 4,
  kCastUnix = 1 << 5,
  kCastMptcp = 1 << 6,
  kCastTcpOfTcp6 = 1 << 7,
};
struct Cmd {
  uint8_t tuple[64];
  uint32_t len;
  uint32_t op;
  uint64_t netns;
  uint64_t flags;
  int32_t level;
  uint32_t pad;
};
struct Out {
  uint32_t runs;
  uint32_t found;
  uint32_t casts;
  uint32_t has_tcp;
  uint32_t snd_cwnd, srtt_us8, rtt_min, snd_ssthresh, mss_cache, ecn_flags;
  uint32_t packets_out, retrans_out, total_retrans, segs_in, data_segs_in;
  uint32_t segs_out, data_segs_out, lost_out, sacked_out, dsack_dups;
  uint32_t delivered, delivered_ce, icsk_retransmits, pad;
  uint64_t bytes_received, bytes_acked;
  uint32_t core_family, core_state, core_num, core_dport;
  uint32_t core_rcv_saddr, core_daddr, core_type, core_protocol;
  uint32_t core_snd_cwnd, core_mss_cache, core_segs_out, core_retransmits;
  uint64_t core_bytes_received;
  uint64_t cgroup_id, ancestor_id;
};

// The program a case runs.
enum Prog { kTc, kXdp, kCgroupSkb };

struct Case {
  std::string name;
  Prog prog;
  Cmd cmd;
  Out want;  // runs is not compared; the core_* fields only with `core`
};

// Whether two answers agree: every field but runs, and the CO-RE reads
// only when `core` (the native build has no CO-RE, docs/native.md).
inline bool SameAnswer(const Out& a, const Out& b, bool core) {
  Out x = a, y = b;
  x.runs = y.runs = 0;
  if (!core) {
    std::memset(&x.core_family, 0,
                offsetof(Out, cgroup_id) - offsetof(Out, core_family));
    std::memset(&y.core_family, 0,
                offsetof(Out, cgroup_id) - offsetof(Out, core_family));
  }
  return std::memcmp(&x, &y, sizeof(x)) == 0;
}

inline std::string Describe(const Out& o) {
  char buf[640];
  std::snprintf(
      buf, sizeof(buf),
      "found=%u casts=%#x tcp=%u cwnd=%u srtt8=%u rtt_min=%u ssthresh=%u "
      "mss=%u ecn=%u pkts_out=%u retrans_out=%u total_retrans=%u segs_in=%u "
      "data_in=%u segs_out=%u data_out=%u lost=%u sacked=%u dsack=%u "
      "delivered=%u ce=%u retransmits=%u rcvd=%llu acked=%llu | core "
      "family=%u state=%u num=%u dport=%#x rcv_saddr=%#x daddr=%#x type=%u "
      "proto=%u cwnd=%u mss=%u segs_out=%u retransmits=%u rcvd=%llu | "
      "cgroup=%llu ancestor=%llu",
      o.found, o.casts, o.has_tcp, o.snd_cwnd, o.srtt_us8, o.rtt_min,
      o.snd_ssthresh, o.mss_cache, o.ecn_flags, o.packets_out, o.retrans_out,
      o.total_retrans, o.segs_in, o.data_segs_in, o.segs_out, o.data_segs_out,
      o.lost_out, o.sacked_out, o.dsack_dups, o.delivered, o.delivered_ce,
      o.icsk_retransmits, static_cast<unsigned long long>(o.bytes_received),
      static_cast<unsigned long long>(o.bytes_acked), o.core_family,
      o.core_state, o.core_num, o.core_dport, o.core_rcv_saddr, o.core_daddr,
      o.core_type, o.core_protocol, o.core_snd_cwnd, o.core_mss_cache,
      o.core_segs_out, o.core_retransmits,
      static_cast<unsigned long long>(o.core_bytes_received),
      static_cast<unsigned long long>(o.cgroup_id),
      static_cast<unsigned long long>(o.ancestor_id));
  return buf;
}

// A TCP connection whose client end is in TIME_WAIT (it closed first, then
// the server end did): `client` and `server` are its two ends' names.
class Timewait {
 public:
  explicit Timewait(int family) {
    sk_lookup::Sockets s(family);
    if (!s.ok) return;
    client = sk_lookup::NameOf(s.client, false);
    server = sk_lookup::NameOf(s.client, true);
    shutdown(s.client, SHUT_WR);
    close(s.client);
    s.client = -1;
    close(s.server);
    s.server = -1;
    // The FIN exchange on the loopback: wait until the end is TIME_WAIT.
    for (int i = 0; i < 100 && !ok; ++i) {
      usleep(10000);
      ok = InTimewait(family);
    }
  }
  bool ok = false;
  sk_lookup::End client, server;

 private:
  // Whether /proc/net/tcp{,6} lists the client end in state 06.
  bool InTimewait(int family) const {
    std::ifstream in(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6");
    char port[8];
    std::snprintf(port, sizeof(port), ":%04X ", ntohs(client.port));
    for (std::string line; std::getline(in, line);) {
      const size_t p = line.find(port);
      if (p != std::string::npos && p < 60 &&
          line.find(" 06 ") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

inline Cmd FromLookup(const sk_lookup::Cmd& l, Op op) {
  Cmd c = {};
  std::memcpy(c.tuple, l.tuple, sizeof(c.tuple));
  c.len = l.len;
  c.op = op;
  c.netns = l.netns;
  c.flags = l.flags;
  return c;
}

// The struct bpf_tcp_sock fields of TCP socket `fd` as its TCP_INFO gives
// them (net/ipv4/tcp.c tcp_get_info), and whether it is a listener.
inline void WantTcp(int fd, bool listener, Out* o) {
  tcp_info i = {};
  socklen_t l = sizeof(i);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &l) != 0) return;
  o->has_tcp = 1;
  o->snd_cwnd = i.tcpi_snd_cwnd;
  o->snd_ssthresh = i.tcpi_snd_ssthresh == 0 ? 0x7fffffff : i.tcpi_snd_ssthresh;
  if (listener) {
    // TCP_INFO of a listener reports snd_cwnd only; a listener that never
    // sent keeps tcp_init_sock's values.
    o->rtt_min = ~0u;
    o->snd_ssthresh = 0x7fffffff;
    o->mss_cache = 536;
  } else {
    o->srtt_us8 = i.tcpi_rtt;
    o->rtt_min = i.tcpi_min_rtt;
    o->mss_cache = i.tcpi_snd_mss;
    o->ecn_flags = (i.tcpi_options & TCPI_OPT_ECN) ? 1 : 0;
    o->packets_out = i.tcpi_unacked;
    o->retrans_out = i.tcpi_retrans;
    o->total_retrans = i.tcpi_total_retrans;
    o->segs_in = i.tcpi_segs_in;
    o->data_segs_in = i.tcpi_data_segs_in;
    o->segs_out = i.tcpi_segs_out;
    o->data_segs_out = i.tcpi_data_segs_out;
    o->lost_out = i.tcpi_lost;
    o->sacked_out = i.tcpi_sacked;
    o->dsack_dups = i.tcpi_dsack_dups;
    o->delivered = i.tcpi_delivered;
    o->delivered_ce = i.tcpi_delivered_ce;
    o->icsk_retransmits = i.tcpi_retransmits;
    o->bytes_received = i.tcpi_bytes_received;
    o->bytes_acked = i.tcpi_bytes_acked;
  }
  o->core_snd_cwnd = o->snd_cwnd;
  o->core_mss_cache = o->mss_cache;
  o->core_segs_out = o->segs_out;
  o->core_retransmits = o->icsk_retransmits;
  o->core_bytes_received = o->bytes_received;
}

// The sock_common fields the CO-RE reads give for a socket whose struct
// bpf_sock answer sk_lookup_cases.h computes.
inline void WantCommon(const sk_lookup::Out& b, bool full, Out* o) {
  o->core_family = b.family;
  o->core_state = b.state;
  o->core_num = b.src_port;
  o->core_dport = b.dst_port;
  o->core_rcv_saddr = b.src_ip4;
  o->core_daddr = b.dst_ip4;
  if (full) {
    o->core_type = b.type;
    o->core_protocol = b.protocol;
  }
}

// The casts a full TCP / UDP socket of `family` answers.
inline uint32_t TcpCasts(int family) {
  return family == AF_INET6 ? kCastTcp6 | kCastTcp | kCastTcpOfTcp6 : kCastTcp;
}

// The cgroup2 cgroup of this process: its path below the root and id (the
// directory's inode), as bpf_sk_cgroup_id reports a socket it made.
struct OwnCgroup {
  std::string path = "/";
  std::string mount = "/sys/fs/cgroup";
  uint64_t IdOf(const std::string& p) const {
    struct stat st;
    return stat((mount + p).c_str(), &st) == 0 ? st.st_ino : 0;
  }
  int Depth() const {
    int d = 0;
    for (char ch : path) d += ch == '/';
    return path == "/" ? 0 : d;
  }
  // The ancestor at `level` (cgroup_ancestor), 0 past the cgroup's depth.
  uint64_t Ancestor(int level) const {
    if (level < 0 || level > Depth()) return 0;
    size_t end = 0;
    for (int i = 0; i < level; ++i) {
      end = path.find('/', end + 1);
      if (end == std::string::npos) end = path.size();
    }
    return IdOf(level == 0 ? "/" : path.substr(0, end));
  }
};

inline OwnCgroup ReadOwnCgroup() {
  OwnCgroup c;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0 && line.size() > 3) c.path = line.substr(3);
  }
  return c;
}

// The cases over one family's sockets `s` and TIME_WAIT end `tw`.
inline std::vector<Case> Cases(const sk_lookup::Sockets& s, const Timewait& tw,
                               const OwnCgroup& cg) {
  using sk_lookup::End;
  using sk_lookup::NameOf;
  const int f = s.family_;
  const std::string fam = f == AF_INET ? "ipv4 " : "ipv6 ";
  std::vector<Case> v;
  const End ln = NameOf(s.listener, false), cl = NameOf(s.client, false),
            ud = NameOf(s.udp, false);
  End stranger = ln;
  stranger.port = htons(1);
  auto add = [&](const std::string& n, Prog p, const Cmd& c, const Out& w) {
    v.push_back({fam + n, p, c, w});
  };
  // A full TCP socket: found, its casts, tcp fields and CO-RE reads.
  auto tcp = [&](int fd, uint32_t state, bool accepted, bool skc) {
    Out o = {};
    o.found = 1;
    o.casts = TcpCasts(f);
    const bool listener = state == 10;
    WantTcp(fd, listener, &o);
    WantCommon(
        sk_lookup::Want(f, fd, SOCK_STREAM, IPPROTO_TCP, state, true, accepted),
        true, &o);
    (void)skc;
    return o;
  };
  using sk_lookup::MakeCmd;
  const struct {
    const char* name;
    sk_lookup::Op lop;
    Op op;
    End remote, local;
    int fd;
    uint32_t state;
    bool accepted;
  } tcps[] = {
      {"tcp listener", sk_lookup::kTcp, kTcp, stranger, ln, s.listener, 10,
       false},
      {"tcp established (server end)", sk_lookup::kTcp, kTcp, cl, ln, s.server,
       1, true},
      {"tcp established (client end)", sk_lookup::kTcp, kTcp, ln, cl, s.client,
       1, false},
      {"skc listener", sk_lookup::kSkcTcp, kSkcTcp, stranger, ln, s.listener,
       10, false},
      {"skc established", sk_lookup::kSkcTcp, kSkcTcp, cl, ln, s.server, 1,
       true},
  };
  for (const auto& t : tcps) {
    const Cmd c = FromLookup(MakeCmd(f, t.lop, t.remote, t.local), t.op);
    const Out full = tcp(t.fd, t.state, t.accepted, t.op == kSkcTcp);
    add(std::string(t.name) + " (tc)", kTc, c, full);
    Out x = {};  // XDP: the casts and their CO-RE reads, no bpf_tcp_sock
    x.found = 1;
    x.casts = full.casts;
    std::memcpy(&x.core_family, &full.core_family,
                offsetof(Out, cgroup_id) - offsetof(Out, core_family));
    add(std::string(t.name) + " (xdp)", kXdp, c, x);
  }
  // UDP: only bpf_skc_to_udp6_sock, of an IPv6 socket.
  Out u = {};
  u.found = 1;
  if (f == AF_INET6) {
    u.casts = kCastUdp6;
    WantCommon(sk_lookup::Want(f, s.udp, SOCK_DGRAM, IPPROTO_UDP, 7, true),
               true, &u);
  }
  const Cmd uc = FromLookup(MakeCmd(f, sk_lookup::kUdp, stranger, ud), kUdp);
  add("udp bound (tc)", kTc, uc, u);
  add("udp bound (xdp)", kXdp, uc, u);
  // TIME_WAIT: bpf_skc_lookup_tcp finds it (bpf_sk_lookup_tcp does not),
  // only bpf_skc_to_tcp_timewait_sock accepts it.
  if (tw.ok) {
    const Cmd tc = FromLookup(
        MakeCmd(f, sk_lookup::kSkcTcp, tw.server, tw.client), kSkcTcp);
    Out t = {};
    t.found = 1;
    t.casts = kCastTcpTw;
    t.core_family = static_cast<uint32_t>(f);
    t.core_state = 6;
    t.core_num = ntohs(tw.client.port);
    t.core_dport = tw.server.port;
    if (f == AF_INET) {
      t.core_rcv_saddr = tw.client.addr[0];
      t.core_daddr = tw.server.addr[0];
    } else {
      t.core_rcv_saddr = htonl(0x7f000006);  // LOOPBACK4_IPV6
    }
    add("skc timewait (tc)", kTc, tc, t);
    add("skc timewait (xdp)", kXdp, tc, t);
    Cmd full = tc;
    full.op = kTcp;
    add("tcp timewait (tc)", kTc, full, Out{});
  }
  // The test run's socket: no cast accepts it, bpf_tcp_sock neither.
  Cmd run = {};
  run.op = kSkbSk;
  Out r = {};
  r.found = 1;
  if (f == AF_INET) add("skb->sk (tc)", kTc, run, r);
  // bpf_sk_cgroup_id and bpf_sk_ancestor_cgroup_id of a looked-up socket
  // and of skb->sk, at every level of the test's cgroup and past it.
  for (int level = -1; level <= cg.Depth() + 1; ++level) {
    const std::string at = " level " + std::to_string(level);
    Out g = {};
    g.found = 1;
    g.cgroup_id = cg.IdOf(cg.path);
    g.ancestor_id = cg.Ancestor(level);
    Cmd c = FromLookup(MakeCmd(f, sk_lookup::kTcp, cl, ln), kTcp);
    c.level = level;
    add("cgroup of established" + at, kCgroupSkb, c, g);
    c = FromLookup(MakeCmd(f, sk_lookup::kUdp, stranger, ud), kUdp);
    c.level = level;
    add("cgroup of udp" + at, kCgroupSkb, c, g);
    if (f == AF_INET) {
      c = run;
      c.level = level;
      add("cgroup of skb->sk" + at, kCgroupSkb, c, g);
    }
  }
  // A timewait socket is not full: 0.
  if (tw.ok) {
    Cmd c = FromLookup(MakeCmd(f, sk_lookup::kSkcTcp, tw.server, tw.client),
                       kSkcTcp);
    c.level = 0;
    Out g = {};
    g.found = 1;
    add("cgroup of timewait", kCgroupSkb, c, g);
  }
  return v;
}

// bpf_tcp_gen_syncookie / bpf_tcp_check_syncookie (the syncookie_tc and
// syncookie_xdp programs).
enum Step : uint32_t { kGen = 1, kCheck = 2, kAnswer = 4 };
struct ScCmd {
  uint8_t tuple[64];
  uint32_t len;
  uint32_t op;
  uint64_t netns;
  uint32_t steps;
  uint32_t syn_iph_len;
  uint8_t syn_iph[40];
  uint8_t syn_th[64];
  uint32_t syn_th_len;
  uint32_t ack_iph_len;
  uint8_t ack_iph[40];
  uint8_t ack_th[64];
  uint32_t ack_th_len;
  uint32_t pad;
};
struct ScOut {
  uint32_t runs;
  uint32_t found;
  int64_t gen;  // error, or the MSS the cookie encodes
  int64_t check;
};
struct ScCase {
  std::string name;
  bool xdp;
  ScCmd cmd;
  ScOut want;  // runs is not compared
};

inline bool SameAnswer(const ScOut& a, const ScOut& b) {
  return a.found == b.found && a.gen == b.gen && a.check == b.check;
}
inline std::string Describe(const ScOut& o) {
  return "found=" + std::to_string(o.found) + " gen=" + std::to_string(o.gen) +
         " check=" + std::to_string(o.check);
}

// The headers of a segment from `remote` to `local`: the IP header
// (version `version`, 20 or 40 bytes) in iph, the TCP header with `flags`
// (byte 13), sequence number `seq` and, if `mss`, an MSS option, in th;
// returns the TCP header's length.
inline uint32_t Segment(int family, const sk_lookup::End& remote,
                        const sk_lookup::End& local, uint8_t flags,
                        uint32_t seq, uint16_t mss, uint8_t* iph, uint8_t* th) {
  if (family == AF_INET) {
    iph[0] = 0x45;
    iph[9] = IPPROTO_TCP;
    std::memcpy(iph + 12, remote.addr, 4);
    std::memcpy(iph + 16, local.addr, 4);
  } else {
    iph[0] = 0x60;
    iph[6] = IPPROTO_TCP;
    std::memcpy(iph + 8, remote.addr, 16);
    std::memcpy(iph + 24, local.addr, 16);
  }
  std::memcpy(th, &remote.port, 2);
  std::memcpy(th + 2, &local.port, 2);
  const uint32_t nseq = htonl(seq);
  std::memcpy(th + 4, &nseq, 4);
  const uint32_t len = mss ? 24 : 20;
  th[12] = static_cast<uint8_t>((len / 4) << 4);
  th[13] = flags;
  if (mss) {
    th[20] = 2;
    th[21] = 4;
    th[22] = static_cast<uint8_t>(mss >> 8);
    th[23] = static_cast<uint8_t>(mss);
  }
  return len;
}

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04, kFin = 0x01;

// The cases on one family's sockets `s`. `syncookies` is the netns's
// net.ipv4.tcp_syncookies (1, the default, or 2: cookies always); -errno
// from include/uapi/asm-generic/errno*.h.
inline std::vector<ScCase> SyncookieCases(const sk_lookup::Sockets& s,
                                          int syncookies) {
  using sk_lookup::End;
  using sk_lookup::NameOf;
  const int f = s.family_;
  const std::string fam = (f == AF_INET ? "ipv4 " : "ipv6 ") +
                          std::string(syncookies == 2 ? "syncookies=2 " : "");
  const End ln = NameOf(s.listener, false), cl = NameOf(s.client, false);
  End client = ln;
  client.port = htons(40000);
  std::vector<ScCase> v;
  const uint32_t iph_len = f == AF_INET ? 20 : 40;
  // A command on the listener (or, with `on`, another socket's tuple).
  auto cmd = [&](uint32_t steps, const End& remote, const End& local) {
    ScCmd c = {};
    const sk_lookup::Cmd l =
        sk_lookup::MakeCmd(f, sk_lookup::kTcp, remote, local);
    std::memcpy(c.tuple, l.tuple, sizeof(c.tuple));
    c.len = l.len;
    c.netns = l.netns;
    c.op = 0;
    c.steps = steps;
    c.syn_iph_len = c.ack_iph_len = iph_len;
    c.syn_th_len =
        Segment(f, client, ln, kSyn, 1000, 1460, c.syn_iph, c.syn_th);
    c.ack_th_len = Segment(f, client, ln, kAck, 1001, 0, c.ack_iph, c.ack_th);
    return c;
  };
  auto add = [&](const std::string& n, const ScCmd& c, int64_t gen,
                 int64_t check, bool xdp_too = true) {
    ScOut w = {};
    w.found = 1;
    w.gen = gen;
    w.check = check;
    v.push_back({fam + n + " (tc)", false, c, w});
    if (xdp_too) v.push_back({fam + n + " (xdp)", true, c, w});
  };
  const bool always = syncookies == 2;
  // MSS 1460 as the family's table holds it (net/ipv4/syncookies.c msstab,
  // net/ipv6/syncookies.c msstab: 1440 below 8940).
  const int64_t mss1460 = f == AF_INET ? 1460 : 1440;
  const int64_t kEinval = -22, kEnoent = -2, kEprotonosupport = -93;
  // Generation.
  ScCmd c = cmd(kGen, client, ln);
  add("gen SYN with MSS 1460", c, always ? mss1460 : kEnoent, 0);
  c = cmd(kGen, client, ln);
  c.syn_th_len = Segment(f, client, ln, kSyn, 7, 0, c.syn_iph, c.syn_th);
  add("gen SYN without MSS", c, always ? (f == AF_INET ? 536 : 1220) : kEnoent,
      0);
  c = cmd(kGen, client, ln);
  c.syn_th_len = 19;
  add("gen th_len 19", c, kEinval, 0);
  c = cmd(kGen, client, ln);
  c.syn_th_len = 20;  // doff says 24
  add("gen th_len not doff", c, kEinval, 0);
  c = cmd(kGen, ln, cl);  // the connection's client end
  add("gen on an established socket", c, kEinval, 0);
  for (const auto& fl :
       {std::pair<const char*, uint8_t>{"SYN|ACK", kSyn | kAck},
        {"ACK", kAck},
        {"SYN|FIN", kSyn | kFin},
        {"SYN|RST", kSyn | kRst}}) {
    c = cmd(kGen, client, ln);
    c.syn_th[13] = fl.second;
    add(std::string("gen flags ") + fl.first, c, kEinval, 0);
  }
  c = cmd(kGen, client, ln);
  c.syn_iph_len = 16;
  add("gen iph_len 16", c, kEinval, 0);
  c = cmd(kGen, client, ln);
  c.syn_iph[0] = 0x55;
  add("gen ip version 5", c, kEprotonosupport, 0);
  if (f == AF_INET) {
    c = cmd(kGen, client, ln);
    c.syn_iph[0] = 0x60;
    c.syn_iph_len = 40;
    add("gen ipv6 header on an ipv4 listener", c, kEinval, 0);
  } else {
    c = cmd(kGen, client, ln);
    c.syn_iph_len = 20;
    add("gen ipv6 header of 20 bytes", c, kEinval, 0);
  }
  // Checks without a cookie sent: no recent SYN queue overflow.
  c = cmd(kCheck, client, ln);
  add("check ACK, no overflow", c, 0, kEnoent);
  c = cmd(kCheck, client, ln);
  c.ack_th_len = 19;
  add("check th_len 19", c, 0, kEinval);
  c = cmd(kCheck, ln, cl);
  add("check on an established socket", c, 0, kEinval);
  for (const auto& fl :
       {std::pair<const char*, uint8_t>{"SYN|ACK", kSyn | kAck},
        {"none", 0},
        {"ACK|RST", kAck | kRst}}) {
    c = cmd(kCheck, client, ln);
    c.ack_th[13] = fl.second;
    add(std::string("check flags ") + fl.first, c, 0, kEnoent);
  }
  c = cmd(kCheck, client, ln);
  c.ack_iph_len = 16;
  add("check iph_len 16", c, 0, kEinval);
  // The test run's socket is no listener.
  ScCmd run = cmd(kGen | kCheck, client, ln);
  run.op = 3;
  if (f == AF_INET) {
    ScOut w = {};
    w.found = 1;
    w.gen = kEinval;
    w.check = kEinval;
    v.push_back({fam + "skb->sk (tc)", false, run, w});
  }
  if (!always) return v;
  // A cookie sent, then the ACK answering it checks; a wrong one does not;
  // after the overflow the IP version is looked at.
  c = cmd(kGen | kCheck | kAnswer, client, ln);
  add("gen, then check the answering ACK", c, mss1460, 0);
  c = cmd(kGen | kCheck, client, ln);
  add("gen, then check a wrong cookie", c, mss1460, kEnoent);
  c = cmd(kGen | kCheck, client, ln);
  c.ack_iph[0] = 0x55;
  add("gen, then check ip version 5", c, mss1460, kEprotonosupport);
  return v;
}

}  // namespace bpfemu::examples::sock_helpers

#endif  // BPFEMU_TESTS_EXAMPLES_SOCK_HELPERS_CASES_H_
