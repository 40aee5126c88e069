// SPDX-License-Identifier: Apache-2.0
// The connects tests/examples/sock_addr_hook.bpf.c is compared on, and their
// bpfemu side: the two cgroup/connect4 programs run by RunSockAddrHook
// (loader/cgroup_hooks.h) on a TCP socket of this process about to connect
// to 127.0.0.1:<listener A>, then the connect to the address they leave; the
// socket is then looked at the same way a kernel run's is
// (sock_addr_hook_compare_test.cc makes the socket in a process of the
// cgroup the programs are attached to).
#ifndef BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_SCENARIO_H_
#define BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_SCENARIO_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emu/syscall.h"
#include "loader/cgroup_hooks.h"
#include "loader/object.h"
#include "tests/examples/sock_addr_hook_cases.h"

namespace bpfemu::examples::sock_addr_hook {

// Listener A (127.0.0.1, where every connect goes), listener B (any
// address, where a rewrite sends it) and a free port for explicit binds.
struct Ports {
  uint16_t a, b, free;
};

struct Case {
  std::string name;
  sock_addr_cfg cfg[2];
  bool local_port = false;  // the case fixes the local port: print it
};

inline sock_addr_cfg Allow() {
  sock_addr_cfg c = {};
  c.verdict = 1;
  return c;
}
inline sock_addr_cfg Retval(int32_t retval, uint32_t verdict) {
  sock_addr_cfg c = {};
  c.action = SOCK_ADDR_SET_RETVAL;
  c.retval = retval;
  c.verdict = verdict;
  return c;
}
inline sock_addr_cfg Bind(uint16_t family, const char* ip, uint16_t port,
                          uint32_t len) {
  sock_addr_cfg c = Allow();
  c.action = SOCK_ADDR_BIND;
  c.bind_len = len;
  struct sockaddr_in in = {};
  in.sin_family = family;
  in.sin_port = htons(port);
  inet_pton(AF_INET, ip, &in.sin_addr);
  std::memcpy(c.bind_addr, &in, sizeof(in));
  return c;
}
inline sock_addr_cfg Rewrite(const char* ip, uint16_t port) {
  sock_addr_cfg c = Allow();
  c.action = SOCK_ADDR_REWRITE;
  inet_pton(AF_INET, ip, &c.new_ip4);
  c.new_port = htons(port);
  return c;
}
inline sock_addr_opt IntOpt(int level, int optname, int val, uint32_t len = 4) {
  sock_addr_opt o = {};
  o.level = level;
  o.optname = optname;
  o.len = len;
  std::memcpy(o.val, &val, sizeof(val));
  return o;
}
inline sock_addr_opt StrOpt(int level, int optname, const char* s,
                            uint32_t len) {
  sock_addr_opt o = {};
  o.level = level;
  o.optname = optname;
  o.len = len;
  std::memcpy(o.val, s, std::strlen(s));
  return o;
}
inline sock_addr_cfg Opts(std::vector<sock_addr_opt> opts) {
  sock_addr_cfg c = Allow();
  c.nopts = static_cast<uint32_t>(opts.size());
  for (size_t i = 0; i < opts.size() && i < 4; ++i) c.opt[i] = opts[i];
  return c;
}

inline std::vector<Case> Cases(const Ports& p) {
  constexpr int kSoTxrehash = 74, kTcpSavedSyn = 28, kTcpBpfIw = 1001;
  return {
      {"allowed", {Allow(), Allow()}},
      {"denied", {sock_addr_cfg{}, Allow()}},
      {"denied with ECONNREFUSED", {Retval(-ECONNREFUSED, 0), Allow()}},
      {"allowed, yet EACCES", {Retval(-EACCES, 1), Allow()}},
      {"denied, then cleared by the second", {sock_addr_cfg{}, Retval(0, 1)}},
      {"rewritten to B", {Rewrite("127.0.0.1", p.b), Allow()}},
      {"rewritten to 127.0.0.2:B", {Rewrite("127.0.0.2", p.b), Allow()}},
      {"rewritten twice",
       {Rewrite("127.0.0.2", p.b), Rewrite("127.0.0.3", p.b)}},
      {"bound to 127.0.0.1:0", {Bind(AF_INET, "127.0.0.1", 0, 16), Allow()}},
      {"bound to 127.0.0.3:0", {Bind(AF_INET, "127.0.0.3", 0, 16), Allow()}},
      {"bound to a free port",
       {Bind(AF_INET, "127.0.0.1", p.free, 16), Allow()},
       true},
      {"bound to a listener's port",
       {Bind(AF_INET, "127.0.0.1", p.a, 16), Allow()}},
      {"bound to 127.0.0.4, both programs",
       {Bind(AF_INET, "127.0.0.4", 0, 16), Bind(AF_INET, "127.0.0.5", 0, 16)}},
      {"bound to a foreign address",
       {Bind(AF_INET, "10.255.255.1", 0, 16), Allow()}},
      {"bind of 8 bytes", {Bind(AF_INET, "127.0.0.1", 0, 8), Allow()}},
      {"bind of 1 byte", {Bind(AF_INET, "127.0.0.1", 0, 1), Allow()}},
      {"bind of 28 bytes", {Bind(AF_INET, "127.0.0.1", 0, 28), Allow()}},
      {"bind of AF_UNIX", {Bind(AF_UNIX, "127.0.0.1", 0, 16), Allow()}},
      {"bind of AF_UNSPEC", {Bind(AF_UNSPEC, "0.0.0.0", 0, 16), Allow()}},
      {"socket options",
       {Opts({IntOpt(SOL_SOCKET, SO_MARK, 7),
              IntOpt(SOL_SOCKET, SO_PRIORITY, 5),
              IntOpt(SOL_SOCKET, SO_KEEPALIVE, 1),
              IntOpt(SOL_SOCKET, SO_SNDBUF, 10000)}),
        Allow()}},
      {"more socket options",
       {Opts({IntOpt(SOL_SOCKET, SO_REUSEADDR, 1),
              IntOpt(SOL_SOCKET, SO_RCVBUF, 9000),
              IntOpt(SOL_SOCKET, SO_RCVLOWAT, 3),
              IntOpt(SOL_SOCKET, kSoTxrehash, 1)}),
        Allow()}},
      {"device options",
       {Opts({StrOpt(SOL_SOCKET, SO_BINDTODEVICE, "lo", 3),
              IntOpt(SOL_SOCKET, SO_BINDTOIFINDEX, 1),
              IntOpt(SOL_SOCKET, SO_MAX_PACING_RATE, 100000),
              IntOpt(SOL_SOCKET, SO_REUSEPORT, 1)}),
        Allow()}},
      {"TCP options",
       {Opts({IntOpt(SOL_TCP, TCP_NODELAY, 1),
              IntOpt(SOL_TCP, TCP_KEEPIDLE, 77),
              IntOpt(SOL_TCP, TCP_MAXSEG, 1000),
              IntOpt(SOL_TCP, TCP_USER_TIMEOUT, 5000)}),
        Allow()}},
      {"more TCP options",
       {Opts({IntOpt(SOL_TCP, TCP_KEEPINTVL, 11),
              IntOpt(SOL_TCP, TCP_KEEPCNT, 4), IntOpt(SOL_TCP, TCP_SYNCNT, 3),
              IntOpt(SOL_TCP, TCP_NOTSENT_LOWAT, 4096)}),
        Allow()}},
      {"congestion control",
       {Opts({StrOpt(SOL_TCP, TCP_CONGESTION, "reno", 4),
              StrOpt(SOL_TCP, TCP_CONGESTION, "cubic", 16),
              StrOpt(SOL_TCP, TCP_CONGESTION, "cdg", 3),
              StrOpt(SOL_TCP, TCP_CONGESTION, "x", 1)}),
        Allow()}},
      {"IP options",
       {Opts({IntOpt(SOL_IP, IP_TOS, 0x10), IntOpt(SOL_IPV6, IPV6_TCLASS, 1),
              IntOpt(SOL_IP, IP_TTL, 9), IntOpt(SOL_TCP, TCP_SAVE_SYN, 1)}),
        Allow()}},
      {"refused options",
       {Opts({IntOpt(SOL_SOCKET, SO_MARK, 7, 2),
              IntOpt(SOL_SOCKET, SO_DEBUG, 1), IntOpt(12345, 1, 1),
              IntOpt(SOL_TCP, kTcpSavedSyn, 1)}),
        Allow()}},
      {"options of a denied connect",
       {Opts({IntOpt(SOL_SOCKET, SO_MARK, 9),
              IntOpt(SOL_TCP, TCP_WINDOW_CLAMP, 20000),
              IntOpt(SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1),
              IntOpt(SOL_TCP, TCP_NODELAY, 1, 8)}),
        Retval(-EACCES, 0)}},
      {"bpf-only TCP options, invalid",
       {Opts({IntOpt(SOL_TCP, kTcpBpfIw, 0), IntOpt(SOL_TCP, 1003, 1),
              IntOpt(SOL_TCP, 1004, 1000000000), IntOpt(SOL_TCP, 1008, 0x80)}),
        Allow()}},
  };
}

inline std::string Hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&s, absl::Hex(p[i], absl::kZeroPad2));
  }
  return s;
}

inline std::string Ip(uint32_t be) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &be, buf, sizeof(buf));
  return buf;
}

// Everything a program recorded.
inline std::string Dump(const sock_addr_seen& s) {
  std::string out = absl::StrCat(
      "hits ", s.hits, " user ", s.user_family, " ", Ip(s.user_ip4), ":",
      ntohs(static_cast<uint16_t>(s.user_port)), " (", s.user_port, ") sock ",
      s.family, "/", s.type, "/", s.protocol, " retval ", s.retval_before, "->",
      s.retval_after, " after ", Ip(s.ip4_after), ":",
      ntohs(static_cast<uint16_t>(s.port_after)), " bind ", s.bind_ret);
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&out, "\n opt ", i, " set ", s.set_ret[i], " get ",
                    s.get_ret[i], " ", Hex(s.got[i], sizeof(s.got[i])));
  }
  return out;
}

// What userspace sees of the socket after the connect: its result, the
// local address (the port only when the case fixed it), the peer, and the
// options the programs may have set.
inline std::string Observe(int fd, int ret, int err, bool local_port) {
  std::string out = ret == 0 ? "connected" : absl::StrCat("errno ", err);
  struct sockaddr_in a = {};
  socklen_t len = sizeof(a);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    absl::StrAppend(&out, " local ", Ip(a.sin_addr.s_addr));
    if (local_port) absl::StrAppend(&out, ":", ntohs(a.sin_port));
  }
  len = sizeof(a);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    absl::StrAppend(&out, " peer ", Ip(a.sin_addr.s_addr), ":",
                    ntohs(a.sin_port));
  } else {
    absl::StrAppend(&out, " no peer");
  }
  struct Opt {
    int level, name;
    const char* label;
  };
  for (const Opt& o :
       {Opt{SOL_SOCKET, SO_MARK, "mark"}, Opt{SOL_SOCKET, SO_PRIORITY, "prio"},
        Opt{SOL_SOCKET, SO_KEEPALIVE, "keepalive"},
        Opt{SOL_SOCKET, SO_SNDBUF, "sndbuf"},
        Opt{SOL_SOCKET, SO_RCVBUF, "rcvbuf"},
        Opt{SOL_SOCKET, SO_REUSEADDR, "reuseaddr"},
        Opt{SOL_SOCKET, SO_BINDTOIFINDEX, "ifindex"},
        Opt{SOL_TCP, TCP_NODELAY, "nodelay"},
        Opt{SOL_TCP, TCP_KEEPIDLE, "keepidle"},
        Opt{SOL_TCP, TCP_USER_TIMEOUT, "user_timeout"},
        Opt{SOL_IP, IP_TOS, "tos"}}) {
    int v = 0;
    len = sizeof(v);
    getsockopt(fd, o.level, o.name, &v, &len);
    absl::StrAppend(&out, " ", o.label, " ", v);
  }
  char cc[16] = {};
  len = sizeof(cc);
  getsockopt(fd, SOL_TCP, TCP_CONGESTION, cc, &len);
  absl::StrAppend(&out, " cc ", cc);
  return out;
}

// Closes with a reset (SO_LINGER 0): no TIME_WAIT keeps a bound port.
inline void CloseReset(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

inline struct sockaddr_in Loopback(uint16_t port) {
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

struct EmuRun {
  native::SockAddrOutcome outcome;
  sock_addr_seen seen[2];
  std::string observed;
};

// The connect on bpfemu: the hook, then connect(2) unless it refused.
inline int EmuConnect(const native::Object& obj, const Case& c, const Ports& p,
                      EmuRun* out) {
  const int cfg = obj.MapFd("cfg"), seen = obj.MapFd("seen");
  for (uint32_t k = 0; k < 2; ++k) {
    const sock_addr_seen blank = {};
    if (MapUpdateElem(cfg, &k, &c.cfg[k], BPF_ANY) != 0) return -1;
    if (MapUpdateElem(seen, &k, &blank, BPF_ANY) != 0) return -1;
  }
  const native::Program* progs[2] = {obj.FindProgram("connect_first"),
                                     obj.FindProgram("connect_second")};
  if (progs[0] == nullptr || progs[1] == nullptr) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  native::SockAddrAccess access;
  access.fd = fd;
  access.attach_type = BPF_CGROUP_INET4_CONNECT;
  const struct sockaddr_in dest = Loopback(p.a);
  std::memcpy(&access.addr, &dest, sizeof(dest));
  access.len = sizeof(dest);
  out->outcome = native::RunSockAddrHook(progs, access);
  int ret = out->outcome.ret, err = -out->outcome.ret;
  if (ret == 0) {
    ret = connect(fd, reinterpret_cast<const sockaddr*>(&out->outcome.addr),
                  out->outcome.len);
    err = ret == 0 ? 0 : errno;
  }
  out->observed = Observe(fd, ret, err, c.local_port);
  CloseReset(fd);
  for (uint32_t k = 0; k < 2; ++k) {
    if (MapLookupElem(seen, &k, &out->seen[k]) != 0) return -1;
  }
  return 0;
}

}  // namespace bpfemu::examples::sock_addr_hook

#endif  // BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_SCENARIO_H_
