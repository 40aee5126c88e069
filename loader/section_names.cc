// SPDX-License-Identifier: Apache-2.0
// SEC() names to program types, as libbpf 1.1's section_defs table in
// tools/lib/bpf/libbpf.c maps them.
#include "loader/section_names.h"

#include <linux/bpf.h>

namespace bpfemu::native {
namespace {

constexpr SecDef kSecDefs[] = {
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, false},
    {"sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT,
     BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, true},
    {"sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT, true},
    {"kprobe+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"uprobe+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"uprobe.s+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"kretprobe+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"uretprobe+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"uretprobe.s+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"kprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, false},
    {"kretprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, false},
    {"ksyscall+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"kretsyscall+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"usdt+", BPF_PROG_TYPE_KPROBE, 0, false},
    {"tc", BPF_PROG_TYPE_SCHED_CLS, 0, false},
    {"classifier", BPF_PROG_TYPE_SCHED_CLS, 0, false},
    {"action", BPF_PROG_TYPE_SCHED_ACT, 0, false},
    {"tracepoint+", BPF_PROG_TYPE_TRACEPOINT, 0, false},
    {"tp+", BPF_PROG_TYPE_TRACEPOINT, 0, false},
    {"raw_tracepoint+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, false},
    {"raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, false},
    {"raw_tracepoint.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, false},
    {"raw_tp.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, false},
    {"tp_btf+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, false},
    {"fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, false},
    {"fmod_ret+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, false},
    {"fexit+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, false},
    {"fentry.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, false},
    {"fmod_ret.s+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, false},
    {"fexit.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, false},
    {"freplace+", BPF_PROG_TYPE_EXT, 0, false},
    {"lsm+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, false},
    {"lsm.s+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, false},
    {"lsm_cgroup+", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, false},
    {"iter+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, false},
    {"iter.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, false},
    {"syscall", BPF_PROG_TYPE_SYSCALL, 0, false},
    {"xdp.frags/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, false},
    {"xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, true},
    {"xdp.frags/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, false},
    {"xdp/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, true},
    {"xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, false},
    {"xdp", BPF_PROG_TYPE_XDP, BPF_XDP, true},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT, 0, false},
    {"lwt_in", BPF_PROG_TYPE_LWT_IN, 0, false},
    {"lwt_out", BPF_PROG_TYPE_LWT_OUT, 0, false},
    {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT, 0, false},
    {"lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, false},
    {"sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, true},
    {"sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER,
     true},
    {"sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT,
     true},
    {"sk_skb", BPF_PROG_TYPE_SK_SKB, 0, false},
    {"sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, true},
    {"lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2, true},
    {"flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, true},
    {"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS,
     true},
    {"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS,
     true},
    {"cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB, 0, false},
    {"cgroup/sock_create", BPF_PROG_TYPE_CGROUP_SOCK,
     BPF_CGROUP_INET_SOCK_CREATE, true},
    {"cgroup/sock_release", BPF_PROG_TYPE_CGROUP_SOCK,
     BPF_CGROUP_INET_SOCK_RELEASE, true},
    {"cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE,
     true},
    {"cgroup/post_bind4", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND,
     true},
    {"cgroup/post_bind6", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND,
     true},
    {"cgroup/bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND,
     true},
    {"cgroup/bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND,
     true},
    {"cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET4_CONNECT, true},
    {"cgroup/connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET6_CONNECT, true},
    {"cgroup/sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG,
     true},
    {"cgroup/sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG,
     true},
    {"cgroup/recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG,
     true},
    {"cgroup/recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG,
     true},
    {"cgroup/getpeername4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET4_GETPEERNAME, true},
    {"cgroup/getpeername6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET6_GETPEERNAME, true},
    {"cgroup/getsockname4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET4_GETSOCKNAME, true},
    {"cgroup/getsockname6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
     BPF_CGROUP_INET6_GETSOCKNAME, true},
    {"cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL, true},
    {"cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT,
     true},
    {"cgroup/setsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT,
     true},
    {"cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, true},
    {"struct_ops+", BPF_PROG_TYPE_STRUCT_OPS, 0, false},
    {"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, true},
};

}  // namespace

bool SecMatches(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return false;
  if (pattern.ends_with('/')) return name.starts_with(pattern);
  if (pattern.ends_with('+')) {
    pattern.remove_suffix(1);
    if (!name.starts_with(pattern)) return false;
    return name.size() == pattern.size() || name[pattern.size()] == '/';
  }
  return name == pattern;
}

const SecDef* FindSecDef(std::string_view name) {
  for (const SecDef& d : kSecDefs) {
    if (SecMatches(d.pattern, name)) return &d;
  }
  return nullptr;
}

bool ProgTypeForSection(std::string_view sec, uint32_t* type,
                        uint32_t* attach) {
  const SecDef* def = FindSecDef(sec);
  for (const SecDef& d : kSecDefs) {
    if (def != nullptr) break;
    std::string_view p = d.pattern;
    if (p.ends_with('+') || p.ends_with('/')) continue;
    if (sec.starts_with(p) && sec.size() > p.size() && sec[p.size()] == '/') {
      def = &d;
    }
  }
  if (def == nullptr) return false;
  *type = def->prog_type;
  *attach = def->attach_type;
  return true;
}

}  // namespace bpfemu::native
