// SPDX-License-Identifier: Apache-2.0
// SEC() names to program types, as libbpf's section_defs table in
// tools/lib/bpf/libbpf.c maps them (the common sections only).
#include "loader/section_names.h"

#include <linux/bpf.h>

namespace bpfemu::native {

bool ProgTypeForSection(std::string_view sec, uint32_t* type,
                        uint32_t* attach) {
  struct Def {
    std::string_view prefix;
    uint32_t type, attach;
  };
  static constexpr Def kDefs[] = {
      {"socket", BPF_PROG_TYPE_SOCKET_FILTER, 0},
      {"kprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"kretprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"uprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"uretprobe", BPF_PROG_TYPE_KPROBE, 0},
      {"tc", BPF_PROG_TYPE_SCHED_CLS, 0},
      {"classifier", BPF_PROG_TYPE_SCHED_CLS, 0},
      {"action", BPF_PROG_TYPE_SCHED_ACT, 0},
      {"lwt_in", BPF_PROG_TYPE_LWT_IN, 0},
      {"lwt_out", BPF_PROG_TYPE_LWT_OUT, 0},
      {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT, 0},
      {"lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, 0},
      {"tracepoint", BPF_PROG_TYPE_TRACEPOINT, 0},
      {"tp", BPF_PROG_TYPE_TRACEPOINT, 0},
      {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
      {"raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
      {"tp_btf", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP},
      {"fentry", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY},
      {"fexit", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT},
      {"xdp", BPF_PROG_TYPE_XDP, BPF_XDP},
      {"xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP},
      {"perf_event", BPF_PROG_TYPE_PERF_EVENT, 0},
      {"lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2},
      {"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS},
      {"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS},
      {"cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL},
      {"cgroup/bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND},
      {"cgroup/bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND},
      {"cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
       BPF_CGROUP_INET4_CONNECT},
      {"cgroup/connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
       BPF_CGROUP_INET6_CONNECT},
      {"cgroup/sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
       BPF_CGROUP_UDP4_SENDMSG},
      {"cgroup/sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
       BPF_CGROUP_UDP6_SENDMSG},
      {"sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT},
      {"sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT,
       BPF_SK_REUSEPORT_SELECT_OR_MIGRATE},
      {"sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT},
      {"sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB,
       BPF_SK_SKB_STREAM_VERDICT},
      {"sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER},
      {"sk_skb", BPF_PROG_TYPE_SK_SKB, 0},
      {"sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS},
      {"lsm", BPF_PROG_TYPE_LSM, BPF_LSM_MAC},
      {"syscall", BPF_PROG_TYPE_SYSCALL, 0},
      {"iter", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER},
      {"fmod_ret", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN},
  };
  for (const Def& d : kDefs) {
    if (sec == d.prefix ||
        (sec.starts_with(d.prefix) && sec.size() > d.prefix.size() &&
         sec[d.prefix.size()] == '/')) {
      *type = d.type;
      *attach = d.attach;
      return true;
    }
  }
  return false;
}

}  // namespace bpfemu::native
