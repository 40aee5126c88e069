// SPDX-License-Identifier: GPL-2.0
// Example: a BPF congestion control (struct tcp_congestion_ops, Reno's
// arithmetic through the tcp_cong kfuncs) whose cong_avoid also runs test
// cases on the socket it is handed: each call takes the next case of
// `cases`, sets the writable fields (snd_cwnd, snd_cwnd_cnt, snd_ssthresh,
// icsk_ack.pending: bpf_tcp_ca_btf_struct_access), records what the
// socket held (the read-only fields the kfuncs use), makes one call
// (tcp_slow_start, tcp_cong_avoid_ai, tcp_reno_cong_avoid,
// tcp_reno_ssthresh, tcp_reno_undo_cwnd, bpf_tcp_send_ack with the right
// or a stale rcv_nxt), records the result and the fields after it, and
// puts the socket's own values back. The kernel runs it on a loopback
// connection (setsockopt TCP_CONGESTION); bpfemu replays each case on an
// emulated socket holding what the kernel's held
// (tcp_ca_compare_test.cc). The fields are CO-RE relocated against the
// kernel's struct tcp_sock.
#include <linux/bpf.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NCASES 64
#ifdef __bpf__
#define CORE __attribute__((preserve_access_index))

struct sock {
  int unused;
} CORE;

struct inet_connection_sock {
  struct {
    __u8 pending;
    __u8 quick;
    __u8 pingpong;
    __u8 retry;
  } icsk_ack;
} CORE;

struct tcp_sock {
  struct inet_connection_sock inet_conn;
  __u32 snd_cwnd;
  __u32 snd_cwnd_cnt;
  __u32 snd_cwnd_clamp;
  __u32 snd_ssthresh;
  __u32 prior_cwnd;
  __u32 rcv_nxt;
  __u32 rcv_wup;
  __u32 max_packets_out;
  __u32 segs_out;
  __u8 is_cwnd_limited : 1;
} CORE;

#define CWND_LIMITED(tp) BPF_CORE_READ_BITFIELD(tp, is_cwnd_limited)
#else
// The native build: CO-RE reads are plain reads natively (docs/native.md),
// so the struct has the 6.18 x86-64 layout (the emulated socket's on the
// 6.18 host; tcp_ca_compare_test.cc checks it against the kernel BTF).
struct sock;

struct inet_connection_sock {
  char pad0[1256];
  struct {
    __u8 pending;
    __u8 quick;
    __u8 pingpong;
    __u8 retry;
  } icsk_ack;
};

struct tcp_sock {
  struct inet_connection_sock inet_conn;
  char pad1[1444 - 1260];
  __u32 snd_cwnd;  // 1444
  char pad2[1463 - 1448];
  __u8 repair : 1, tcp_usec_ts : 1, is_sack_reneg : 1,
      is_cwnd_limited : 1;  // 1463
  char pad3[1492 - 1464];
  __u32 snd_ssthresh;  // 1492
  char pad4[1536 - 1496];
  __u32 segs_out;  // 1536
  char pad5[1664 - 1540];
  __u32 rcv_nxt;  // 1664
  char pad6[1768 - 1668];
  __u32 rcv_wup;          // 1768
  __u32 max_packets_out;  // 1772
  char pad7[1932 - 1776];
  __u32 snd_cwnd_cnt;    // 1932
  __u32 snd_cwnd_clamp;  // 1936
  char pad8[1948 - 1940];
  __u32 prior_cwnd;  // 1948
};
_Static_assert(__builtin_offsetof(struct tcp_sock, prior_cwnd) == 1948,
               "6.18 layout");

#define CWND_LIMITED(tp) ((tp)->is_cwnd_limited)
#endif

struct tcp_congestion_ops {
  __u32 (*ssthresh)(struct sock *sk);
  void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
  __u32 (*undo_cwnd)(struct sock *sk);
  char name[16];
};

extern __u32 tcp_slow_start(struct tcp_sock *tp, __u32 acked) __ksym;
extern void tcp_cong_avoid_ai(struct tcp_sock *tp, __u32 w, __u32 acked) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

enum {
  OP_SLOW_START = 1,
  OP_CONG_AVOID_AI,
  OP_RENO_CONG_AVOID,
  OP_RENO_SSTHRESH,
  OP_RENO_UNDO_CWND,
  OP_SEND_ACK,  // a1: added to rcv_nxt (0: the socket's own)
};

struct ca_case {
  __u32 op, cwnd, cnt, ssthresh, pending, a1, a2, pad;
};

// What a case saw and left (the same layout on both sides).
struct ca_out {
  __u32 done;
  // Before the call: the fields the case did not set.
  __u32 clamp, prior_cwnd, rcv_nxt, rcv_wup, max_packets_out, segs_out;
  __u32 cwnd_limited, quick, retry;
  // The call's result and the fields after it.
  __s64 ret;
  __u32 cwnd, cnt, ssthresh, pending, quick_after, retry_after;
  __u32 segs_out_delta, rcv_wup_after;
};

struct ctl {
  __u32 next, n;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ctl);
} ctl SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NCASES);
  __type(key, __u32);
  __type(value, struct ca_case);
} cases SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NCASES);
  __type(key, __u32);
  __type(value, struct ca_out);
} outs SEC(".maps");

SEC("struct_ops")
__u32 BPF_PROG(ca_ssthresh, struct sock *sk) { return tcp_reno_ssthresh(sk); }

SEC("struct_ops")
__u32 BPF_PROG(ca_undo_cwnd, struct sock *sk) { return tcp_reno_undo_cwnd(sk); }

static __always_inline void run_case(struct tcp_sock *tp, struct sock *sk,
                                     struct ca_case *c, struct ca_out *o) {
  __u32 cwnd = tp->snd_cwnd, cnt = tp->snd_cwnd_cnt;
  __u32 ss = tp->snd_ssthresh;
  __u8 pending = tp->inet_conn.icsk_ack.pending;

  tp->snd_cwnd = c->cwnd;
  tp->snd_cwnd_cnt = c->cnt;
  tp->snd_ssthresh = c->ssthresh;
  tp->inet_conn.icsk_ack.pending = c->pending;
  o->clamp = tp->snd_cwnd_clamp;
  o->prior_cwnd = tp->prior_cwnd;
  o->rcv_nxt = tp->rcv_nxt;
  o->rcv_wup = tp->rcv_wup;
  o->max_packets_out = tp->max_packets_out;
  o->segs_out = tp->segs_out;
  o->cwnd_limited = CWND_LIMITED(tp);
  o->quick = tp->inet_conn.icsk_ack.quick;
  o->retry = tp->inet_conn.icsk_ack.retry;
  switch (c->op) {
    case OP_SLOW_START:
      o->ret = tcp_slow_start(tp, c->a1);
      break;
    case OP_CONG_AVOID_AI:
      tcp_cong_avoid_ai(tp, c->a1, c->a2);
      break;
    case OP_RENO_CONG_AVOID:
      tcp_reno_cong_avoid(sk, c->a1, c->a2);
      break;
    case OP_RENO_SSTHRESH:
      o->ret = tcp_reno_ssthresh(sk);
      break;
    case OP_RENO_UNDO_CWND:
      o->ret = tcp_reno_undo_cwnd(sk);
      break;
    case OP_SEND_ACK:
      o->ret = bpf_tcp_send_ack(tp, tp->rcv_nxt + c->a1);
      break;
  }
  o->cwnd = tp->snd_cwnd;
  o->cnt = tp->snd_cwnd_cnt;
  o->ssthresh = tp->snd_ssthresh;
  o->pending = tp->inet_conn.icsk_ack.pending;
  o->quick_after = tp->inet_conn.icsk_ack.quick;
  o->retry_after = tp->inet_conn.icsk_ack.retry;
  o->segs_out_delta = tp->segs_out - o->segs_out;
  o->rcv_wup_after = tp->rcv_wup;
  o->done = 1;
  tp->snd_cwnd = cwnd;
  tp->snd_cwnd_cnt = cnt;
  tp->snd_ssthresh = ss;
  tp->inet_conn.icsk_ack.pending = pending;
}

SEC("struct_ops")
void BPF_PROG(ca_cong_avoid, struct sock *sk, __u32 ack, __u32 acked) {
  struct tcp_sock *tp = (struct tcp_sock *)sk;
  __u32 zero = 0;
  struct ctl *ctl_v = bpf_map_lookup_elem(&ctl, &zero);
  if (ctl_v && ctl_v->next < ctl_v->n && ctl_v->next < NCASES) {
    __u32 i = ctl_v->next;
    struct ca_case *c = bpf_map_lookup_elem(&cases, &i);
    struct ca_out *o = bpf_map_lookup_elem(&outs, &i);
    ctl_v->next = i + 1;
    if (c && o) run_case(tp, sk, c, o);
    return;
  }
  tcp_reno_cong_avoid(sk, ack, acked);
}

// tcp_ca_link.bpf.o (-DTCP_CA_LINK): the same congestion control in
// .struct_ops.link, a BPF_F_LINK map that BPF_LINK_CREATE registers
// (libbpf 1.2 on; tests/dropin/struct_ops_test.cc).
#ifdef TCP_CA_LINK
SEC(".struct_ops.link")
#else
SEC(".struct_ops")
#endif
struct tcp_congestion_ops bpfemu_tcpca = {
    .ssthresh = (void *)ca_ssthresh,
    .cong_avoid = (void *)ca_cong_avoid,
    .undo_cwnd = (void *)ca_undo_cwnd,
    .name = "bpfemu_tcpca",
};

char LICENSE[] SEC("license") = "GPL";
