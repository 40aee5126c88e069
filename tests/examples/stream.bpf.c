// SPDX-License-Identifier: GPL-2.0
// Example: BPF program streams (kernel/bpf/stream.c, 6.17; the kfunc's
// 6.18 name bpf_stream_vprintk_impl) from tc programs: prints to stdout
// and stderr that userspace reads with bpf(BPF_PROG_STREAM_READ_BY_FD);
// the kfunc's answers for a wrong stream id, argument sizes and formats,
// texts at and past the 1024-byte element limit; and a stream filled to
// its capacity. Each writes the kfunc's answers to `out`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str,
                                   const void *args, __u32 len__sz,
                                   void *aux__prog) __ksym;

struct answers {
  __s64 r[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct answers);
} out SEC(".maps");

static __always_inline struct answers *answers(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&out, &zero);
}

#define X10 "xxxxxxxxxx"
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000 X100 X100 X100 X100 X100 X100 X100 X100 X100 X100

SEC("tc")
int stream_print(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  static const char hello[] = "hello %d %s\n";
  static const char err[] = "err %u\n";
  static const char plain[] = "plain\n";
  char s[4] = "abc";
  __u64 args[2] = {42, (__u64)(long)s};
  __u64 len[1] = {skb->len};
  a->r[0] = bpf_stream_vprintk_impl(1, hello, args, sizeof(args), 0);
  a->r[1] = bpf_stream_vprintk_impl(2, err, len, sizeof(len), 0);
  a->r[2] = bpf_stream_vprintk_impl(1, plain, args, 0, 0);
  return 0;
}

SEC("tc")
int stream_errors(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  static const char one[] = "%d\n";
  static const char two[] = "%d %d\n";
  static const char bad[] = "%q\n";
  __u64 args[13] = {7};
  a->r[0] = bpf_stream_vprintk_impl(0, one, args, 8, 0);
  a->r[1] = bpf_stream_vprintk_impl(3, one, args, 8, 0);
  a->r[2] = bpf_stream_vprintk_impl(1, one, args, 4, 0);
  a->r[3] = bpf_stream_vprintk_impl(1, one, args, sizeof(args), 0);
  a->r[4] = bpf_stream_vprintk_impl(1, two, args, 8, 0);
  a->r[5] = bpf_stream_vprintk_impl(1, bad, args, 8, 0);
  a->r[6] = bpf_stream_vprintk_impl(-1, one, args, 8, 0);
  return 0;
}

// 1000, 1023, 1024 and 1100 bytes of text, to stderr.
SEC("tc")
int stream_long(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  static const char t1000[] = X1000;
  static const char t1023[] = X1000 "xxxxxxxxxxxxxxxxxxxxxxx";
  static const char t1024[] = X1000 "xxxxxxxxxxxxxxxxxxxxxxxx";
  static const char t1100[] = X1000 X100;
  __u64 args[1] = {0};
  a->r[0] = bpf_stream_vprintk_impl(2, t1000, args, 0, 0);
  a->r[1] = bpf_stream_vprintk_impl(2, t1023, args, 0, 0);
  a->r[2] = bpf_stream_vprintk_impl(2, t1024, args, 0, 0);
  a->r[3] = bpf_stream_vprintk_impl(2, t1100, args, 0, 0);
  return 0;
}

struct fill_ctx {
  __s64 prints;
  __s64 err;
};

static long fill_one(__u32 i, void *data) {
  struct fill_ctx *c = data;
  static const char t100[] = X100;
  __u64 args[1] = {0};
  int r = bpf_stream_vprintk_impl(1, t100, args, 0, 0);
  if (r) {
    c->err = r;
    return 1;
  }
  c->prints++;
  return 0;
}

// 100-byte prints to stdout until the stream refuses one.
SEC("tc")
int stream_fill(struct __sk_buff *skb) {
  struct answers *a = answers();
  if (!a) return 2;
  struct fill_ctx c = {0, 0};
  bpf_loop(1 << 20, fill_one, &c, 0);
  a->r[0] = c.prints;
  a->r[1] = c.err;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
