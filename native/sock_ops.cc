// SPDX-License-Identifier: Apache-2.0
// File: sock_ops.cc
//
// The sock_ops callback model and its helpers (net/core/filter.c
// bpf_sock_ops_cb_flags_set, bpf_sock_ops_setsockopt /
// bpf_sock_ops_getsockopt with __bpf_setsockopt / __bpf_getsockopt and the
// sol_*_sockopt lists, bpf_sock_ops_get_syn, bpf_search_tcp_opt,
// bpf_sock_ops_load_hdr_opt / _store_hdr_opt / _reserve_hdr_opt;
// net/core/sock_map.c bpf_sock_map_update / bpf_sock_hash_update). See
// sock_ops.h.

#include "native/sock_ops.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bpfemu/native_abi.h"
#include "emu/errno.h"
#include "emu/map.h"
#include "native/bound_map.h"
#include "native/sockopt_lists.h"

namespace bpfemu::native {
namespace {

// include/uapi/linux/bpf.h: the callbacks and flags used here.
constexpr uint32_t kAllCbFlags = 0x7f;  // BPF_SOCK_OPS_ALL_CB_FLAGS
constexpr uint32_t kOpActiveEstablished = 4;
constexpr uint32_t kOpPassiveEstablished = 5;
constexpr uint32_t kOpListen = 11;
constexpr uint32_t kOpHdrOptLen = 14;
constexpr uint32_t kOpWriteHdrOpt = 15;
// include/uapi/linux/tcp.h: the BPF-only TCP options.
constexpr int kTcpBpfIw = 1001;
constexpr int kTcpBpfSndcwndClamp = 1002;
constexpr int kTcpBpfDelackMax = 1003;
constexpr int kTcpBpfRtoMin = 1004;
constexpr int kTcpBpfSyn = 1005;
constexpr int kTcpBpfSynIp = 1006;
constexpr int kTcpBpfSynMac = 1007;
constexpr int kTcpBpfSockOpsCbFlags = 1008;
// CONFIG_HZ of the modelled kernel (Debian's 6.18: 250): TCP_TIMEOUT_MIN
// is 2 jiffies, TCP_DELACK_MAX and TCP_RTO_MIN HZ/5.
constexpr uint64_t kHz = 250;
constexpr uint64_t kTimeoutMin = 2;
constexpr uint64_t kDelackMax = kHz / 5;
constexpr uint64_t kRtoMin = kHz / 5;
constexpr uint8_t kTcpOptEol = 0, kTcpOptNop = 1, kTcpOptExp = 254;
constexpr size_t kTcpHdrLen = 20;  // sizeof(struct tcphdr)

// The callback in progress on this thread.
struct Callback {
  struct bpf_sock_ops* md = nullptr;
  const SockOpsInput* in = nullptr;
  uint32_t cb_flags = 0;
  std::vector<uint8_t> header;  // with room for the options stored
  size_t header_end = 0;        // skb_data_end's offset
  uint32_t remaining = 0;
};
thread_local Callback* current = nullptr;

Callback& Cb(void* ctx, const char* helper) {
  if (current == nullptr || current->md != ctx) {
    std::fprintf(stderr,
                 "bpfemu: %s outside a SOCK_OPS callback (native/sock_ops.h "
                 "RunSockOps), or not on its context\n",
                 helper);
    std::abort();
  }
  return *current;
}

void Refresh(Callback& c) {
  c.md->bpf_sock_ops_cb_flags = c.cb_flags;
  if (c.in->header.empty()) return;
  c.md->skb_data = c.header.data();
  c.md->skb_data_end = c.header.data() + c.header_end;
}

int RealSet(const Callback& c, int level, int optname, const void* optval,
            int optlen) {
  return setsockopt(c.in->fd, level, optname, optval,
                    static_cast<socklen_t>(optlen)) == 0
             ? 0
             : -errno;
}

int RealGet(const Callback& c, int level, int optname, void* optval,
            int* optlen) {
  socklen_t len = static_cast<socklen_t>(*optlen);
  if (getsockopt(c.in->fd, level, optname, optval, &len) != 0) return -errno;
  *optlen = static_cast<int>(len);
  return 0;
}

// bpf_sol_tcp_setsockopt: the options only BPF sets.
int BpfTcpSet(Callback& c, int optname, const void* optval, int optlen) {
  if (optlen != sizeof(int)) return -EINVAL;
  int val;
  std::memcpy(&val, optval, sizeof(val));
  switch (optname) {
    case kTcpBpfIw:
      // No data segment has left a modelled socket yet.
      if (val <= 0) return -EINVAL;
      c.md->snd_cwnd = static_cast<uint32_t>(val);
      return 0;
    case kTcpBpfSndcwndClamp:
      if (val <= 0) return -EINVAL;
      c.md->snd_ssthresh = static_cast<uint32_t>(val);
      return 0;
    case kTcpBpfDelackMax: {
      const uint64_t t = UsecsToJiffies(static_cast<uint32_t>(val));
      return t > kDelackMax || t < kTimeoutMin ? -EINVAL : 0;
    }
    case kTcpBpfRtoMin: {
      const uint64_t t = UsecsToJiffies(static_cast<uint32_t>(val));
      return t > kRtoMin || t < kTimeoutMin ? -EINVAL : 0;
    }
    case kTcpBpfSockOpsCbFlags:
      if (static_cast<uint32_t>(val) & ~kAllCbFlags) return -EINVAL;
      c.cb_flags = static_cast<uint32_t>(val);
      return 0;
    default:
      return -EINVAL;
  }
}

int SetOpt(Callback& c, int level, int optname, const void* optval,
           int optlen) {
  if (!c.in->fullsock) return -EINVAL;
  switch (level) {
    case SOL_SOCKET:
      if (SolSocketIntOption(optname)) {
        if (optlen != sizeof(int)) return -EINVAL;
      } else if (optname != SO_BINDTODEVICE) {
        return -EINVAL;
      }
      return RealSet(c, level, optname, optval, optlen);
    case SOL_IP:
      if (c.in->family != AF_INET && c.in->family != AF_INET6) return -EINVAL;
      if (optname != IP_TOS || optlen != sizeof(int)) return -EINVAL;
      return RealSet(c, level, optname, optval, optlen);
    case SOL_IPV6:
      if (c.in->family != AF_INET6) return -EINVAL;
      if ((optname != IPV6_TCLASS && optname != IPV6_AUTOFLOWLABEL) ||
          optlen != sizeof(int)) {
        return -EINVAL;
      }
      return RealSet(c, level, optname, optval, optlen);
    case SOL_TCP:
      if (SolTcpIntOption(optname)) {
        if (optlen != sizeof(int)) return -EINVAL;
        return RealSet(c, level, optname, optval, optlen);
      }
      if (optname == TCP_CONGESTION) {
        if (optlen < 2) return -EINVAL;
        // "cdg" keeps a pointer in the congestion area: refused.
        if (optlen >= 3 && std::strncmp("cdg", static_cast<const char*>(optval),
                                        static_cast<size_t>(optlen)) == 0) {
          return -bpfemu::kENOTSUPP;
        }
        return RealSet(c, level, optname, optval, optlen);
      }
      if (optname == TCP_SAVED_SYN) {
        if (optlen < 1) return -EINVAL;
        return RealSet(c, level, optname, optval, optlen);
      }
      return BpfTcpSet(c, optname, optval, optlen);
    default:
      return -EINVAL;
  }
}

// __bpf_getsockopt without the final zeroing: 0 or -errno, *optlen the
// bytes written.
int GetOpt(Callback& c, int level, int optname, char* optval, int* optlen) {
  if (!c.in->fullsock) return -EINVAL;
  switch (level) {
    case SOL_SOCKET:
      if (!SolSocketIntOption(optname) || *optlen != sizeof(int)) {
        return -EINVAL;
      }
      return RealGet(c, level, optname, optval, optlen);
    case SOL_TCP:
      if (SolTcpIntOption(optname)) {
        if (*optlen != sizeof(int)) return -EINVAL;
        return RealGet(c, level, optname, optval, optlen);
      }
      if (optname == TCP_CONGESTION) {
        if (*optlen < 2) return -EINVAL;
        // The name comes back NUL-terminated within the buffer.
        optval[--*optlen] = '\0';
        return RealGet(c, level, optname, optval, optlen);
      }
      if (optname == TCP_SAVED_SYN) {
        // No SYN is saved on a modelled socket (TCP_SAVE_SYN's copy).
        return -EINVAL;
      }
      if (optname == kTcpBpfSockOpsCbFlags) {
        if (*optlen != sizeof(int)) return -EINVAL;
        std::memcpy(optval, &c.cb_flags, sizeof(int));
        return 0;
      }
      return -EINVAL;
    case SOL_IP:
      if (c.in->family != AF_INET && c.in->family != AF_INET6) return -EINVAL;
      if (optname != IP_TOS || *optlen != sizeof(int)) return -EINVAL;
      return RealGet(c, level, optname, optval, optlen);
    case SOL_IPV6:
      if (c.in->family != AF_INET6) return -EINVAL;
      if ((optname != IPV6_TCLASS && optname != IPV6_AUTOFLOWLABEL) ||
          *optlen != sizeof(int)) {
        return -EINVAL;
      }
      return RealGet(c, level, optname, optval, optlen);
    default:
      return -EINVAL;
  }
}

// bpf_sock_ops_get_syn: the SYN's headers from the callback's input.
int GetSyn(const Callback& c, int optname, const uint8_t** start) {
  const std::vector<uint8_t>* v = nullptr;
  if (optname == kTcpBpfSyn) v = &c.in->syn;
  if (optname == kTcpBpfSynIp) v = &c.in->syn_ip;
  // No MAC header is ever saved for a modelled SYN.
  if (v == nullptr || v->empty()) return -ENOENT;
  *start = v->data();
  return static_cast<int>(v->size());
}

// bpf_search_tcp_opt: the option of `kind` (and `magic`) in [op, end), or
// -ENOMSG / -EFAULT; *eol when an EOL ended the walk.
long SearchOpt(const uint8_t* op, const uint8_t* end, uint8_t kind,
               const uint8_t* magic, uint8_t magic_len, bool* eol,
               const uint8_t** found) {
  *eol = false;
  while (op < end) {
    const uint8_t k = op[0];
    if (k == kTcpOptEol) {
      *eol = true;
      return -ENOMSG;
    }
    if (k == kTcpOptNop) {
      ++op;
      continue;
    }
    if (end - op < 2 || end - op < op[1] || op[1] < 2) return -EFAULT;
    const uint8_t len = op[1];
    if (k == kind) {
      if (magic_len == 0) {
        *found = op;
        return 0;
      }
      if (magic_len > len - 2) return -ENOMSG;
      if (std::memcmp(op + 2, magic, magic_len) == 0) {
        *found = op;
        return 0;
      }
    }
    op += len;
  }
  return -ENOMSG;
}

}  // namespace

bool SockOpsRunOn(const void* ctx) {
  return current != nullptr && current->md == ctx;
}

SockOpsOutput RunSockOps(const SockOpsProgram& prog, const SockOpsInput& in) {
  Callback c;
  c.in = &in;
  c.cb_flags = in.cb_flags;
  c.remaining = in.remaining_opt_len;
  c.header = in.header;
  c.header_end = in.header.size();
  // Room behind the header for the options WRITE_HDR_OPT stores.
  c.header.resize(in.header.size() + in.remaining_opt_len + 64);
  struct bpf_sock_ops md = {};
  md.op = in.op;
  std::memcpy(md.args, in.args, sizeof(md.args));
  md.family = in.family;
  md.local_ip4 = in.local_ip4;
  md.remote_ip4 = in.remote_ip4;
  md.local_port = in.local_port;
  md.remote_port = in.remote_port;
  md.is_fullsock = in.fullsock ? 1 : 0;
  md.state = in.state;
  md.skb_len = in.skb_len;
  c.md = &md;
  Refresh(c);
  Callback* saved = current;
  current = &c;
  SockOpsOutput out;
  out.ret = prog(&md);
  current = saved;
  out.reply = md.reply;
  out.cb_flags = c.cb_flags;
  out.header.assign(c.header.begin(), c.header.begin() + c.header_end);
  out.remaining_opt_len = c.remaining;
  return out;
}

}  // namespace bpfemu::native

using bpfemu::native::Callback;

extern "C" {

long bpfemu_sock_ops_cb_flags_set(void* ctx, int argval) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_sock_ops_cb_flags_set");
  if (!c.in->fullsock) return -EINVAL;
  c.cb_flags = static_cast<uint32_t>(argval) & bpfemu::native::kAllCbFlags;
  bpfemu::native::Refresh(c);
  return argval & ~static_cast<int>(bpfemu::native::kAllCbFlags);
}

long bpfemu_sock_ops_setsockopt(void* ctx, int level, int optname, void* optval,
                                int optlen) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_setsockopt");
  // The timestamping callbacks after WRITE_HDR_OPT hold no socket lock.
  if (c.in->op > bpfemu::native::kOpWriteHdrOpt) return -EOPNOTSUPP;
  // TCP_NODELAY would push the segment these two callbacks are building.
  if ((c.in->op == bpfemu::native::kOpHdrOptLen ||
       c.in->op == bpfemu::native::kOpWriteHdrOpt) &&
      level == SOL_TCP && optname == TCP_NODELAY) {
    return -EOPNOTSUPP;
  }
  if (optlen < 0) return -EINVAL;
  const long ret = bpfemu::native::SetOpt(c, level, optname, optval, optlen);
  bpfemu::native::Refresh(c);
  return ret;
}

long bpfemu_sock_ops_getsockopt(void* ctx, int level, int optname, void* optval,
                                int optlen) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_getsockopt");
  if (c.in->op > bpfemu::native::kOpWriteHdrOpt) return -EOPNOTSUPP;
  if (optlen < 0) return -EINVAL;
  char* out = static_cast<char*>(optval);
  if (level == SOL_TCP && optname >= bpfemu::native::kTcpBpfSyn &&
      optname <= bpfemu::native::kTcpBpfSynMac) {
    const uint8_t* start = nullptr;
    long ret = bpfemu::native::GetSyn(c, optname, &start);
    int copy = 0;
    if (ret > 0) {
      copy = static_cast<int>(ret);
      if (optlen < copy) {
        copy = optlen;
        ret = -ENOSPC;
      }
      std::memcpy(out, start, static_cast<size_t>(copy));
    }
    std::memset(out + copy, 0, static_cast<size_t>(optlen - copy));
    return ret;
  }
  int len = optlen;
  const int err = bpfemu::native::GetOpt(c, level, optname, out, &len);
  if (err != 0) len = 0;
  if (len < optlen)
    std::memset(out + len, 0, static_cast<size_t>(optlen - len));
  return err;
}

long bpfemu_sock_ops_map_update(void* ctx, void* map, const void* key,
                                __u64 flags) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_sock_map_update");
  // sock_map_op_okay: the established and listen callbacks only.
  const uint32_t op = c.in->op;
  if (op != bpfemu::native::kOpActiveEstablished &&
      op != bpfemu::native::kOpPassiveEstablished &&
      op != bpfemu::native::kOpListen) {
    return -EOPNOTSUPP;
  }
  bpfemu::native::internal::BoundMap* b =
      map != nullptr ? bpfemu::native::internal::BoundOf(map) : nullptr;
  if (b == nullptr) {
    std::fprintf(stderr,
                 "bpfemu: bpf_sock_map_update on a map of an object "
                 "that is not loaded\n");
    std::abort();
  }
  const uint64_t fd = static_cast<uint64_t>(static_cast<int64_t>(c.in->fd));
  uint8_t value[8];
  std::memcpy(value, &fd, sizeof(value));
  return b->map->UpdateElemSys(key, value, flags, -1);
}

long bpfemu_load_hdr_opt(void* ctx, void* search_res, __u32 len, __u64 flags) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_load_hdr_opt");
  const bool load_syn = (flags & BPF_LOAD_HDR_OPT_TCP_SYN) != 0;
  if (len < 2 || (flags & ~uint64_t{BPF_LOAD_HDR_OPT_TCP_SYN})) return -EINVAL;
  uint8_t* res = static_cast<uint8_t*>(search_res);
  const uint8_t kind = res[0], search_len = res[1];
  if (search_len > len || kind == bpfemu::native::kTcpOptNop ||
      kind == bpfemu::native::kTcpOptEol) {
    return -EINVAL;
  }
  const uint8_t* magic = nullptr;
  uint8_t magic_len = 0;
  if (kind == bpfemu::native::kTcpOptExp || kind == 253) {
    if (search_len != 4 && search_len != 6) return -EINVAL;
    magic = res + 2;
    magic_len = search_len - 2;
  } else if (search_len != 0) {
    return -EINVAL;
  }
  const uint8_t *op, *end;
  if (load_syn) {
    const int n = bpfemu::native::GetSyn(c, bpfemu::native::kTcpBpfSyn, &op);
    if (n < 0) return n;
    end = op + n;
    op += bpfemu::native::kTcpHdrLen;
  } else {
    if (c.in->header.empty() || c.in->op == bpfemu::native::kOpHdrOptLen) {
      return -EPERM;
    }
    op = c.header.data() + bpfemu::native::kTcpHdrLen;
    end = c.header.data() + c.header_end;
  }
  // The magic is copied first: the search result may overlap it.
  uint8_t m[4] = {};
  if (magic_len != 0) std::memcpy(m, magic, magic_len);
  bool eol;
  const uint8_t* found = nullptr;
  const long err =
      bpfemu::native::SearchOpt(op, end, kind, m, magic_len, &eol, &found);
  if (err != 0) return err;
  uint32_t copy = found[1];
  long ret = copy;
  if (copy > len) {
    ret = -ENOSPC;
    copy = len;
  }
  std::memmove(res, found, copy);
  return ret;
}

long bpfemu_store_hdr_opt(void* ctx, const void* from, __u32 len, __u64 flags) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_store_hdr_opt");
  if (c.in->op != bpfemu::native::kOpWriteHdrOpt) return -EPERM;
  if (len < 2 || flags != 0) return -EINVAL;
  const uint8_t* opt = static_cast<const uint8_t*>(from);
  const uint8_t kind = opt[0], kind_len = opt[1];
  if (kind_len > len || kind == bpfemu::native::kTcpOptNop ||
      kind == bpfemu::native::kTcpOptEol) {
    return -EINVAL;
  }
  if (kind_len > c.remaining) return -ENOSPC;
  const uint8_t* magic = nullptr;
  uint8_t magic_len = 0;
  if (kind == bpfemu::native::kTcpOptExp || kind == 253) {
    if (kind_len < 4) return -EINVAL;
    // Duplicates are found by the first two bytes of the magic.
    magic = opt + 2;
    magic_len = 2;
  }
  bool eol;
  const uint8_t* found = nullptr;
  const long err = bpfemu::native::SearchOpt(
      c.header.data() + bpfemu::native::kTcpHdrLen,
      c.header.data() + c.header_end, kind, magic, magic_len, &eol, &found);
  if (err == 0) return -EEXIST;
  if (err != -ENOMSG) return err;
  if (eol) return -ENOSPC;
  std::memcpy(c.header.data() + c.header_end, opt, kind_len);
  c.remaining -= kind_len;
  c.header_end += kind_len;
  bpfemu::native::Refresh(c);
  return 0;
}

long bpfemu_reserve_hdr_opt(void* ctx, __u32 len, __u64 flags) {
  Callback& c = bpfemu::native::Cb(ctx, "bpf_reserve_hdr_opt");
  if (c.in->op != bpfemu::native::kOpHdrOptLen) return -EPERM;
  if (flags != 0 || len < 2) return -EINVAL;
  if (len > c.remaining) return -ENOSPC;
  c.remaining -= len;
  return 0;
}

}  // extern "C"
