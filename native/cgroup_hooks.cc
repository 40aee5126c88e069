// SPDX-License-Identifier: Apache-2.0
// The cgroup hooks' run context and the sysctl hook (native/cgroup_hooks.h),
// mirroring kernel/bpf/cgroup.c: bpf_prog_run_array_cg, bpf_get_retval,
// bpf_set_retval, __cgroup_bpf_run_filter_sysctl, sysctl_cpy_dir,
// bpf_sysctl_get_name, copy_sysctl_value and the sysctl value helpers;
// lib/string.c sized_strscpy for the names' copies.
#include "native/cgroup_hooks.h"

#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/errno.h"
#include "emu/version.h"
#include "native/sockopt_lists.h"

namespace bpfemu::native {
namespace {

constexpr size_t kPageSize = 4096;

thread_local CgRunCtx* cg_run = nullptr;

// struct bpf_sysctl_kern: what the helpers see of the access being run.
struct SysctlFrame {
  const SysctlAccess* access = nullptr;
  const void* ctx = nullptr;  // the struct bpf_sysctl the programs get
  // cur_val: a page holding what the handler printed (cur_len 0: none).
  char cur_val[kPageSize];
  size_t cur_len = 0;
  // new_val: a page, present for a write with bytes (has_new).
  bool has_new = false;
  char new_val[kPageSize];
  size_t new_len = 0;
  bool new_updated = false;
};

thread_local SysctlFrame* sysctl_run = nullptr;

// sized_strscpy() as x86-64 builds it (CONFIG_DCACHE_WORD_ACCESS): while at
// least a word of room is left it copies whole words, and the word holding
// the terminating NUL is stored with the bytes after the NUL zeroed; the
// rest byte by byte. -E2BIG when `src` does not fit (the copy then ends in
// a NUL at dest[count - 1]).
long Strscpy(char* dest, const char* src, size_t count) {
  const size_t src_len = std::strlen(src);
  if (count == 0) return -E2BIG;
  size_t res = 0;
  while (count >= sizeof(uint64_t)) {
    if (res + sizeof(uint64_t) > src_len) {  // the NUL is in this word
      const size_t in_word = src_len - res;
      std::memcpy(dest + res, src + res, in_word);
      std::memset(dest + res + in_word, 0, sizeof(uint64_t) - in_word);
      return static_cast<long>(src_len);
    }
    std::memcpy(dest + res, src + res, sizeof(uint64_t));
    res += sizeof(uint64_t);
    count -= sizeof(uint64_t);
  }
  while (count != 0) {
    const char c = res < src_len ? src[res] : '\0';
    dest[res] = c;
    if (c == '\0') return static_cast<long>(res);
    ++res;
    --count;
  }
  if (res != 0) dest[res - 1] = '\0';
  return -E2BIG;
}

// sysctl_cpy_dir(): the directories of the sysctl from the top, each
// followed by '/', the root's empty name without one.
long CopyDirs(const std::vector<std::string>& dirs, char** bufp, size_t* lenp) {
  long total = 0;
  // The root directory's procname is "".
  long ret = Strscpy(*bufp, "", *lenp);
  if (ret < 0) return ret;
  for (const std::string& d : dirs) {
    ret = Strscpy(*bufp, d.c_str(), *lenp);
    if (ret < 0) return ret;
    *bufp += ret;
    *lenp -= static_cast<size_t>(ret);
    ret += total;
    if (ret == 0) {  // no leading slash
      total = 0;
      continue;
    }
    const long slash = Strscpy(*bufp, "/", *lenp);
    if (slash < 0) return slash;
    *bufp += slash;
    *lenp -= static_cast<size_t>(slash);
    total = ret + slash;
  }
  return total;
}

// copy_sysctl_value().
long CopySysctlValue(char* dst, size_t dst_len, const char* src,
                     size_t src_len) {
  if (dst == nullptr) return -EINVAL;
  if (dst_len == 0) return -E2BIG;
  if (src == nullptr || src_len == 0) {
    std::memset(dst, 0, dst_len);
    return -EINVAL;
  }
  std::memcpy(dst, src, dst_len < src_len ? dst_len : src_len);
  if (dst_len > src_len) {
    std::memset(dst + src_len, 0, dst_len - src_len);
    return static_cast<long>(src_len);
  }
  dst[dst_len - 1] = '\0';
  return -E2BIG;
}

}  // namespace

int RunCgroupArray(size_t n, int retval,
                   absl::FunctionRef<uint32_t(size_t i)> run,
                   std::vector<uint32_t>* verdicts, uint32_t* ret_flags) {
  CgRunCtx ctx{retval};
  CgRunCtx* const outer = cg_run;
  cg_run = &ctx;
  for (size_t i = 0; i < n; ++i) {
    uint32_t r = run(i);
    if (verdicts != nullptr) verdicts->push_back(r);
    if (ret_flags != nullptr) {
      *ret_flags |= r >> 1;
      r &= 1;
    }
    // IS_ERR_VALUE(): -MAX_ERRNO (-4095) .. -1.
    const bool is_err = ctx.retval < 0 && ctx.retval >= -4095;
    if (r == 0 && !is_err) ctx.retval = -EPERM;
  }
  cg_run = outer;
  return ctx.retval;
}

int GetRetval() { return cg_run != nullptr ? cg_run->retval : 0; }

int SetRetval(int retval) {
  if (cg_run != nullptr) cg_run->retval = retval;
  return 0;
}

SysctlOutcome RunSysctlHook(
    size_t n, const SysctlAccess& access,
    absl::FunctionRef<uint32_t(size_t i, void* ctx)> run) {
  auto frame = std::make_unique<SysctlFrame>();
  frame->access = &access;
  if (access.current.has_value()) {
    frame->cur_len =
        access.current->size() < kPageSize ? access.current->size() : kPageSize;
    std::memcpy(frame->cur_val, access.current->data(), frame->cur_len);
  }
  if (access.write && !access.new_value.empty()) {
    frame->has_new = true;
    frame->new_len = access.new_value.size() < kPageSize
                         ? access.new_value.size()
                         : kPageSize;
    std::memcpy(frame->new_val, access.new_value.data(), frame->new_len);
  }
  struct bpf_sysctl ctx = {};
  frame->ctx = &ctx;
  SysctlOutcome out;
  out.pos = access.pos;
  SysctlFrame* const outer = sysctl_run;
  sysctl_run = frame.get();
  out.ret = RunCgroupArray(
      n, 0,
      [&](size_t i) {
        // The context's fields are bpf_sysctl_kern's write and the low 32
        // bits of *ppos (file_pos reads and writes go through the pointer).
        ctx.write = access.write ? 1 : 0;
        ctx.file_pos = static_cast<uint32_t>(out.pos);
        const uint32_t r = run(i, &ctx);
        out.pos = static_cast<int64_t>(
            (static_cast<uint64_t>(out.pos) & ~uint64_t{0xffffffff}) |
            ctx.file_pos);
        return r;
      },
      &out.verdicts);
  sysctl_run = outer;
  if (out.ret == 0 && frame->new_updated) {
    out.new_updated = true;
    out.new_value.assign(frame->new_val, frame->new_len);
  } else {
    out.new_value = access.new_value;
  }
  return out;
}

long SysctlGetName(const void* /*ctx*/, char* buf, size_t len, uint64_t flags) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (buf == nullptr) return -EINVAL;
  const std::string& name = f->access->name;
  const size_t slash = name.rfind('/');
  const std::string base =
      slash == std::string::npos ? name : name.substr(slash + 1);
  long dirs_len = 0;
  if ((flags & BPF_F_SYSCTL_BASE_NAME) == 0) {
    std::vector<std::string> dirs;
    size_t at = 0;
    while (slash != std::string::npos && at <= slash) {
      const size_t next = name.find('/', at);
      dirs.push_back(name.substr(at, next - at));
      at = next + 1;
    }
    dirs_len = CopyDirs(dirs, &buf, &len);
    if (dirs_len < 0) return dirs_len;
  }
  const long ret = Strscpy(buf, base.c_str(), len);
  return ret < 0 ? ret : dirs_len + ret;
}

long SysctlGetCurrentValue(const void* /*ctx*/, char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  return CopySysctlValue(buf, len, f->cur_len != 0 ? f->cur_val : nullptr,
                         f->cur_len);
}

long SysctlGetNewValue(const void* /*ctx*/, char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (!f->access->write) {
    if (buf != nullptr && len != 0) std::memset(buf, 0, len);
    return -EINVAL;
  }
  return CopySysctlValue(buf, len, f->has_new ? f->new_val : nullptr,
                         f->new_len);
}

long SysctlSetNewValue(const void* /*ctx*/, const char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (!f->access->write || !f->has_new || f->new_len == 0 || buf == nullptr ||
      len == 0) {
    return -EINVAL;
  }
  if (len > kPageSize - 1) return -E2BIG;
  std::memcpy(f->new_val, buf, len);
  f->new_val[len] = '\0';
  f->new_len = len;
  f->new_updated = true;
  return 0;
}

namespace {

// The sock_addr hook being run (struct bpf_sock_addr_kern).
struct SockAddrFrame {
  int fd = -1;
  const void* ctx = nullptr;
};
thread_local SockAddrFrame* sockaddr_run = nullptr;

constexpr int kSinLen6Rfc2133 = 24;  // SIN6_LEN_RFC2133
// The bpf_setsockopt-only TCP options (include/uapi/linux/bpf.h).
constexpr int kTcpBpfIw = 1001;
constexpr int kTcpBpfSndcwndClamp = 1002;
constexpr int kTcpBpfDelackMax = 1003;
constexpr int kTcpBpfRtoMin = 1004;
constexpr int kTcpBpfSockOpsCbFlags = 1008;

int SockInt(int fd, int opt) {
  int v = 0;
  socklen_t len = sizeof(v);
  return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 ? v : -1;
}

bool IsInet4Hook(uint32_t t) {
  return t == BPF_CGROUP_INET4_BIND || t == BPF_CGROUP_INET4_CONNECT ||
         t == BPF_CGROUP_UDP4_SENDMSG || t == BPF_CGROUP_UDP4_RECVMSG ||
         t == BPF_CGROUP_INET4_GETPEERNAME || t == BPF_CGROUP_INET4_GETSOCKNAME;
}
bool IsInet6Hook(uint32_t t) {
  return t == BPF_CGROUP_INET6_BIND || t == BPF_CGROUP_INET6_CONNECT ||
         t == BPF_CGROUP_UDP6_SENDMSG || t == BPF_CGROUP_UDP6_RECVMSG ||
         t == BPF_CGROUP_INET6_GETPEERNAME || t == BPF_CGROUP_INET6_GETSOCKNAME;
}

// __inet_bind / __inet6_bind with BIND_FROM_BPF: a bind(2) of the socket,
// with IP_BIND_ADDRESS_NO_PORT for the call when the port is 0
// (BIND_FORCE_ADDRESS_NO_PORT: no port is taken until the connect).
long BindFromBpf(int fd, const void* addr, int len, bool no_port) {
  int old = 0;
  socklen_t old_len = sizeof(old);
  if (no_port) {
    getsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &old, &old_len);
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  }
  const int r = bind(fd, static_cast<const struct sockaddr*>(addr),
                     static_cast<socklen_t>(len));
  const int err = r == 0 ? 0 : errno;
  if (no_port) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &old, sizeof(old));
  }
  return -err;
}

long SysSetsockopt(int fd, int level, int optname, const char* optval,
                   int optlen) {
  return setsockopt(fd, level, optname, optval,
                    static_cast<socklen_t>(optlen)) == 0
             ? 0
             : -errno;
}
long SysGetsockopt(int fd, int level, int optname, char* optval, int* optlen) {
  socklen_t len = static_cast<socklen_t>(*optlen);
  if (getsockopt(fd, level, optname, optval, &len) != 0) return -errno;
  *optlen = static_cast<int>(len);
  return 0;
}

// net.ipv4.tcp_rto_min_us of the calling thread's netns (6.15), or
// TCP_RTO_MIN's 200 ms where there is none.
uint32_t RtoMinUs() {
  uint32_t us = 200000;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/tcp_rto_min_us", "r")) {
    unsigned v = 0;
    if (std::fscanf(f, "%u", &v) == 1) us = v;
    std::fclose(f);
  }
  return us;
}

// bpf_sol_tcp_setsockopt(): the bpf-only TCP options' checks. What a valid
// one changes (the initial window, the window clamp, the delayed-ACK and
// RTO bounds, the sock_ops callback flags) lives in the kernel's tcp_sock,
// which no system call reaches: bpfemu does not model it and answers
// -EOPNOTSUPP, an errno the kernel never gives here.
long TcpBpfSetsockopt(int optname, const char* optval) {
  int val;
  std::memcpy(&val, optval, sizeof(val));
  constexpr uint64_t kDelackMax = 250 / 5, kRtoMin = 250 / 5, kTimeoutMin = 2;
  switch (optname) {
    case kTcpBpfIw:  // before any data, data_segs_out <= syn_data
    case kTcpBpfSndcwndClamp:
      if (val <= 0) return -EINVAL;
      return -EOPNOTSUPP;
    case kTcpBpfDelackMax:
    case kTcpBpfRtoMin: {
      const uint64_t t = UsecsToJiffies(static_cast<uint32_t>(val));
      if (t > (optname == kTcpBpfDelackMax ? kDelackMax : kRtoMin) ||
          t < kTimeoutMin) {
        return -EINVAL;
      }
      return -EOPNOTSUPP;
    }
    case kTcpBpfSockOpsCbFlags:
      if ((val & ~0x7f) != 0) return -EINVAL;  // BPF_SOCK_OPS_ALL_CB_FLAGS
      return -EOPNOTSUPP;
    default:
      return -EINVAL;
  }
}

// sol_socket_sockopt / sol_tcp_sockopt / sol_ip_sockopt /
// sol_ipv6_sockopt: the checks, then the socket's own option call.
long BpfSockopt(int fd, int level, int optname, char* optval, int* optlen,
                bool getopt) {
  const int family = SockInt(fd, SO_DOMAIN);
  if (level == SOL_SOCKET) {
    if (SolSocketIntOption(optname)) {
      if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
    } else if (optname != SO_BINDTODEVICE || getopt) {
      return -EINVAL;
    }
  } else if (level == SOL_TCP) {
    if (SockInt(fd, SO_PROTOCOL) != IPPROTO_TCP) return -EINVAL;
    if (SolTcpIntOption(optname)) {
      if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
    } else {
      switch (optname) {
        case TCP_CONGESTION:
          // sol_tcp_sockopt_congestion().
          if (*optlen < 2) return -EINVAL;
          if (getopt) {
            optval[--*optlen] = '\0';
            return SysGetsockopt(fd, SOL_TCP, optname, optval, optlen);
          }
          if (*optlen >= 3 && std::strncmp("cdg", optval, *optlen) == 0) {
            return -kENOTSUPP;
          }
          return SysSetsockopt(fd, SOL_TCP, optname, optval, *optlen);
        case TCP_SAVED_SYN:
          if (*optlen < 1) return -EINVAL;
          // A socket of a sock_addr hook is no passive child: no saved SYN.
          if (getopt) return -EINVAL;
          break;
        case kTcpBpfDelackMax:
        case kTcpBpfRtoMin:
          // Read back since 6.15 (6.18 answers it; 6.12 refuses it): the
          // socket's bounds in microseconds, which only bpf_setsockopt
          // changes (not modelled): the defaults, TCP_DELACK_MAX and the
          // netns's net.ipv4.tcp_rto_min_us as tcp_init_sock takes them.
          if (!getopt || TargetKernel() <= KernelVersion::k6_12) {
            if (getopt) return -EINVAL;
            if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
            return TcpBpfSetsockopt(optname, optval);
          }
          if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
          {
            uint64_t jiffies = 250 / 5;  // TCP_DELACK_MAX, TCP_RTO_MIN
            if (optname == kTcpBpfRtoMin) {
              jiffies = UsecsToJiffies(RtoMinUs());
            }
            const int usecs = static_cast<int>(jiffies * (1000000 / 250));
            std::memcpy(optval, &usecs, sizeof(usecs));
          }
          return 0;
        case kTcpBpfSockOpsCbFlags:
          if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
          if (getopt) {
            // tp->bpf_sock_ops_cb_flags: only a sock_ops program sets them.
            std::memset(optval, 0, sizeof(int));
            return 0;
          }
          return TcpBpfSetsockopt(optname, optval);
        default:
          if (getopt) return -EINVAL;
          if (*optlen != static_cast<int>(sizeof(int))) return -EINVAL;
          return TcpBpfSetsockopt(optname, optval);
      }
    }
  } else if (level == SOL_IP) {
    // sk_allows_sol_ip_sockopt(): AF_INET, or AF_INET6 neither raw nor
    // v6-only.
    bool allowed = family == AF_INET;
    if (family == AF_INET6) {
      int v6only = 0;
      socklen_t l = sizeof(v6only);
      getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l);
      allowed = SockInt(fd, SO_TYPE) != SOCK_RAW && v6only == 0;
    }
    if (!allowed) return -EINVAL;
    if (optname != IP_TOS || *optlen != static_cast<int>(sizeof(int))) {
      return -EINVAL;
    }
  } else if (level == SOL_IPV6) {
    if (family != AF_INET6) return -EINVAL;
    if ((optname != IPV6_TCLASS && optname != IPV6_AUTOFLOWLABEL) ||
        *optlen != static_cast<int>(sizeof(int))) {
      return -EINVAL;
    }
  } else {
    return -EINVAL;
  }
  return getopt ? SysGetsockopt(fd, level, optname, optval, optlen)
                : SysSetsockopt(fd, level, optname, optval, *optlen);
}

}  // namespace

long BpfSetsockoptOnFd(int fd, int level, int optname, char* optval,
                       int optlen) {
  return BpfSockopt(fd, level, optname, optval, &optlen, false);
}

long BpfGetsockoptOnFd(int fd, int level, int optname, char* optval,
                       int optlen) {
  const int saved = optlen;
  long err = BpfSockopt(fd, level, optname, optval, &optlen, true);
  if (err != 0) optlen = 0;
  if (optlen < saved) std::memset(optval + optlen, 0, saved - optlen);
  return err;
}

SockAddrOutcome RunSockAddrHook(
    size_t n, const SockAddrAccess& access,
    absl::FunctionRef<uint32_t(size_t i, void* ctx)> run) {
  SockAddrOutcome out;
  out.addr = access.addr;
  out.len = access.len;
  const int family = SockInt(access.fd, SO_DOMAIN);
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX) {
    return out;
  }
  struct bpf_sock_addr ctx = {};
  SockAddrFrame frame{access.fd, &ctx};
  SockAddrFrame* const outer = sockaddr_run;
  sockaddr_run = &frame;
  auto* bytes = reinterpret_cast<uint8_t*>(&out.addr);
  const bool v4 = IsInet4Hook(access.attach_type);
  const bool v6 = IsInet6Hook(access.attach_type);
  const bool bind_hook = access.attach_type == BPF_CGROUP_INET4_BIND ||
                         access.attach_type == BPF_CGROUP_INET6_BIND;
  out.ret = RunCgroupArray(
      n, 0,
      [&](size_t i) {
        // The fields read through to the address (sock_addr_convert_ctx_
        // access): sa_family, sin_port / sin6_port, sin_addr / sin6_addr.
        ctx = {};
        uint16_t u16 = 0;
        std::memcpy(&u16, bytes, 2);
        ctx.user_family = u16;
        if (v4 || v6) {
          std::memcpy(&u16, bytes + 2, 2);
          ctx.user_port = u16;
        }
        if (v4) std::memcpy(&ctx.user_ip4, bytes + 4, 4);
        if (v6) std::memcpy(ctx.user_ip6, bytes + 8, 16);
        ctx.family = static_cast<uint32_t>(family);
        ctx.type = static_cast<uint32_t>(SockInt(access.fd, SO_TYPE));
        ctx.protocol = static_cast<uint32_t>(SockInt(access.fd, SO_PROTOCOL));
        const uint32_t r = run(i, &ctx);
        if (v4 || v6) {
          u16 = static_cast<uint16_t>(ctx.user_port);
          std::memcpy(bytes + 2, &u16, 2);
        }
        if (v4) std::memcpy(bytes + 4, &ctx.user_ip4, 4);
        if (v6) std::memcpy(bytes + 8, ctx.user_ip6, 16);
        return r;
      },
      &out.verdicts, bind_hook ? &out.ret_flags : nullptr);
  sockaddr_run = outer;
  return out;
}

bool SockAddrHookRunning() { return sockaddr_run != nullptr; }

long SockAddrBind(const void* /*ctx*/, const void* addr, int len) {
  SockAddrFrame* f = sockaddr_run;
  if (f == nullptr) return -EINVAL;
  if (len < static_cast<int>(offsetof(struct sockaddr, sa_data))) {
    return -EINVAL;
  }
  sa_family_t family;
  std::memcpy(&family, addr, sizeof(family));
  if (family == AF_INET) {
    if (len < static_cast<int>(sizeof(struct sockaddr_in))) return -EINVAL;
    struct sockaddr_in in;
    std::memcpy(&in, addr, sizeof(in));
    return BindFromBpf(f->fd, addr, len, in.sin_port == 0);
  }
  if (family == AF_INET6) {
    if (len < kSinLen6Rfc2133) return -EINVAL;
    uint16_t port;
    std::memcpy(&port, static_cast<const uint8_t*>(addr) + 2, 2);
    return BindFromBpf(f->fd, addr, len, port == 0);
  }
  return -EAFNOSUPPORT;
}

long SockAddrSetsockopt(const void* /*ctx*/, int level, int optname,
                        void* optval, int optlen) {
  SockAddrFrame* f = sockaddr_run;
  if (f == nullptr) return -EINVAL;
  return BpfSetsockoptOnFd(f->fd, level, optname, static_cast<char*>(optval),
                           optlen);
}

long SockAddrGetsockopt(const void* /*ctx*/, int level, int optname,
                        void* optval, int optlen) {
  SockAddrFrame* f = sockaddr_run;
  if (f == nullptr) {
    if (optlen > 0) std::memset(optval, 0, optlen);
    return -EINVAL;
  }
  return BpfGetsockoptOnFd(f->fd, level, optname, static_cast<char*>(optval),
                           optlen);
}

}  // namespace bpfemu::native

extern "C" {

long bpfemu_sysctl_get_name(void* ctx, char* buf, unsigned long buf_len,
                            __u64 flags) {
  return bpfemu::native::SysctlGetName(ctx, buf, buf_len, flags);
}
long bpfemu_sysctl_get_current_value(void* ctx, char* buf,
                                     unsigned long buf_len) {
  return bpfemu::native::SysctlGetCurrentValue(ctx, buf, buf_len);
}
long bpfemu_sysctl_get_new_value(void* ctx, char* buf, unsigned long buf_len) {
  return bpfemu::native::SysctlGetNewValue(ctx, buf, buf_len);
}
long bpfemu_sysctl_set_new_value(void* ctx, const char* buf,
                                 unsigned long buf_len) {
  return bpfemu::native::SysctlSetNewValue(ctx, buf, buf_len);
}
int bpfemu_get_retval(void) { return bpfemu::native::GetRetval(); }
int bpfemu_set_retval(int retval) { return bpfemu::native::SetRetval(retval); }
long bpfemu_bind(void* ctx, void* addr, int addr_len) {
  return bpfemu::native::SockAddrBind(ctx, addr, addr_len);
}
// bpf_setsockopt / bpf_getsockopt: a sock_addr program's on the socket of
// the hook being run; otherwise a sock_ops callback's (native/sock_ops.h).
long bpfemu_setsockopt(void* ctx, int level, int optname, void* optval,
                       int optlen) {
  if (bpfemu::native::SockAddrHookRunning()) {
    return bpfemu::native::SockAddrSetsockopt(ctx, level, optname, optval,
                                              optlen);
  }
  return bpfemu_sock_ops_setsockopt(ctx, level, optname, optval, optlen);
}
long bpfemu_getsockopt(void* ctx, int level, int optname, void* optval,
                       int optlen) {
  if (bpfemu::native::SockAddrHookRunning()) {
    return bpfemu::native::SockAddrGetsockopt(ctx, level, optname, optval,
                                              optlen);
  }
  return bpfemu_sock_ops_getsockopt(ctx, level, optname, optval, optlen);
}

}  // extern "C"
