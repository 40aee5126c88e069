// SPDX-License-Identifier: GPL-2.0
// Example: the dynptr helpers (issue 24; kernel/bpf/helpers.c
// bpf_dynptr_from_mem / _read / _write / _data, kernel/bpf/ringbuf.c
// bpf_ringbuf_reserve_dynptr / _submit_dynptr / _discard_dynptr).
// `dynptr_tc` (tc) loads the packet's first 32 bytes into `out.buf`, makes
// a local dynptr over `out.buf` with `cmd.flags`, reads, writes and maps
// (bpf_dynptr_data) it at `cmd.off` / `cmd.len`, then reserves a ring
// buffer record of `cmd.rb_size` with `cmd.rb_flags` as a dynptr, writes
// and reads it, submits or discards it (`cmd.commit`) and records the
// ring's AVAIL_DATA; last an empty local dynptr, read at `cmd.off`. Every
// return value lands in `out.ret` (a null dynptr after a failure answers
// -EINVAL to each later call). `dynptr_kfuncs` (tc) makes a local dynptr
// over the packet's first 32 bytes and asks the kfuncs of
// kernel/bpf/helpers.c about it and about a clone adjusted to
// [cmd.off, cmd.off + cmd.len), its answers in `kres`.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

struct cmd {
  __u64 flags;
  __u64 rb_flags;
  __u32 off;
  __u32 len;
  __u32 rb_size;
  __u32 commit;
};

struct out {
  __s64 ret[13];
  __u8 buf[32];
  __u8 got[16];
  __u8 rb_got[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmd);
} cmd SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} out SEC(".maps");

struct kres {
  __s64 ret[9];
  __u8 is[4];  // the bool kfuncs' answers: only R0's low byte is defined
  __u8 got[4];
  __u8 buf[32];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct kres);
} kres SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 65536);
} rb SEC(".maps");

SEC("tc")
int dynptr_tc(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct out *o = bpf_map_lookup_elem(&out, &zero);
  if (!c || !o) return TC_ACT_SHOT;
  __u8 src[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x0f};
  struct bpf_dynptr d;
  o->ret[0] = bpf_skb_load_bytes(skb, 0, o->buf, sizeof(o->buf));
  o->ret[1] = bpf_dynptr_from_mem(o->buf, sizeof(o->buf), c->flags, &d);
  o->ret[2] = bpf_dynptr_read(o->got, c->len & 15, &d, c->off, 0);
  o->ret[3] = bpf_dynptr_write(&d, c->off, src, c->len & 15, 0);
  o->ret[4] = bpf_dynptr_write(&d, 0, src, 4, 1);  // flags: -EINVAL
  __u8 *p = bpf_dynptr_data(&d, c->off, 8);
  o->ret[5] = p ? 1 : 0;
  if (p) p[0] ^= 0xff;

  struct bpf_dynptr r;
  o->ret[6] = bpf_ringbuf_reserve_dynptr(&rb, c->rb_size, c->rb_flags, &r);
  o->ret[7] = bpf_dynptr_write(&r, 0, o->buf, 8, 0);
  o->ret[8] = bpf_dynptr_read(o->rb_got, 8, &r, 0, 0);
  o->ret[9] = bpf_dynptr_read(o->rb_got, 8, &r, c->rb_size, 0);
  if (c->commit)
    bpf_ringbuf_submit_dynptr(&r, 0);
  else
    bpf_ringbuf_discard_dynptr(&r, 0);
  o->ret[10] = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA);
  o->ret[11] = bpf_dynptr_from_mem(o->got, 0, c->flags, &d);
  o->ret[12] = bpf_dynptr_read(o->rb_got, 0, &d, c->off, 0);
  return TC_ACT_OK + (int)(o->ret[1] & 0xf);
}

extern int bpf_dynptr_adjust(const struct bpf_dynptr *p, __u32 start,
                             __u32 end) __ksym;
extern bool bpf_dynptr_is_null(const struct bpf_dynptr *p) __ksym;
extern bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;
extern int bpf_dynptr_clone(const struct bpf_dynptr *p,
                            struct bpf_dynptr *clone__uninit) __ksym;

SEC("tc")
int dynptr_kfuncs(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct cmd *c = bpf_map_lookup_elem(&cmd, &zero);
  struct kres *o = bpf_map_lookup_elem(&kres, &zero);
  if (!c || !o) return TC_ACT_SHOT;
  struct bpf_dynptr d, e;
  // The verifier takes only a map value as bpf_dynptr_from_mem's memory.
  bpf_skb_load_bytes(skb, 0, o->buf, sizeof(o->buf));
  o->ret[0] = bpf_dynptr_from_mem(o->buf, sizeof(o->buf), c->flags, &d);
  o->is[0] = bpf_dynptr_is_null(&d);
  o->is[1] = bpf_dynptr_is_rdonly(&d);
  o->ret[1] = bpf_dynptr_size(&d);
  o->ret[2] = bpf_dynptr_clone(&d, &e);
  o->ret[3] = bpf_dynptr_adjust(&e, c->off, c->off + c->len);
  o->ret[4] = bpf_dynptr_size(&e);
  o->ret[5] = bpf_dynptr_read(o->got, 4, &e, 0, 0);
  o->ret[6] = bpf_dynptr_size(&d);
  o->ret[7] = bpf_dynptr_adjust(&d, c->len, c->off);
  o->is[2] = bpf_dynptr_is_null(&e);
  o->ret[8] = bpf_dynptr_size(&d);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
