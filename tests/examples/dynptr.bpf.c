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

// The packet dynptrs (net/core/filter.c bpf_dynptr_from_skb /
// bpf_dynptr_from_xdp, kernel/bpf/helpers.c bpf_dynptr_slice /
// bpf_dynptr_slice_rdwr, and bpf_dynptr_read / _write / _data and the
// kfuncs above on them): `dynptr_skb` (tc, a writable skb dynptr),
// `dynptr_sock` (socket filter: the verifier makes its skb dynptr
// read-only), `dynptr_xdp` and `dynptr_xdp_frags` (xdp, xdp.frags: an
// XDP dynptr over the linear part and the fragments). Each makes a dynptr
// over the packet with `pcmd.flags`, reads it at `pcmd.off` / `pcmd.len`,
// takes 8-byte slices with and without a buffer there, writes through a
// 4-byte writable slice (only `dynptr_rdwr`), writes `pcmd.len` bytes
// with `pcmd.wflags`, and reads a clone adjusted to [start, end); every
// answer lands in `pres` and the packet comes back as data_out.
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags,
                               struct bpf_dynptr *ptr__uninit) __ksym;
extern int bpf_dynptr_from_xdp(struct xdp_md *xdp, __u64 flags,
                               struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset,
                              void *buffer__opt, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset,
                                   void *buffer__opt, __u32 buffer__szk) __ksym;

struct pcmd {
  __u64 flags;   // from_skb / from_xdp flags
  __u64 wflags;  // bpf_dynptr_write flags
  __u32 off;     // read, slice and write offset
  __u32 len;     // read and write length (& 15)
  __u32 start;   // the clone's bpf_dynptr_adjust
  __u32 end;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pcmd);
} pcmd SEC(".maps");

struct pres {
  __s64 ret[16];
  __u8 is[4];     // is_null, is_rdonly of the dynptr; is_null of the clone
  __u8 where[4];  // slices: 0 NULL, 1 the buffer, 2 the packet
  __u8 got[16];   // bpf_dynptr_read
  __u8 sl[8];     // the slice with a buffer
  __u8 sl2[8];    // the slice without one
  __u8 cl[4];     // the clone's first bytes
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pres);
} pres SEC(".maps");

static __always_inline __u8 where(const void *p, const void *buf) {
  return !p ? 0 : p == buf ? 1 : 2;
}

static __always_inline int pkt_dynptr(struct bpf_dynptr *d, struct pcmd *c,
                                      struct pres *o, bool rdwr) {
  __u8 src[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xf0, 0x0f};
  __u8 buf[8] = {};
  __u8 wbuf[4] = {};
  struct bpf_dynptr e;
  o->is[0] = bpf_dynptr_is_null(d);
  o->is[1] = bpf_dynptr_is_rdonly(d);
  o->ret[1] = bpf_dynptr_size(d);
  o->ret[2] = bpf_dynptr_read(o->got, c->len & 15, d, c->off, 0);
  o->ret[3] = bpf_dynptr_read(o->got, 4, d, 0, 1);  // flags: -EINVAL
  o->ret[4] = bpf_dynptr_data(d, 0, 8) != 0;        // skb, xdp: NULL
  __u8 *p = bpf_dynptr_slice(d, c->off, buf, sizeof(buf));
  o->where[0] = where(p, buf);
  if (p) __builtin_memcpy(o->sl, p, 8);
  p = bpf_dynptr_slice(d, c->off, NULL, 8);
  o->where[1] = where(p, buf);
  if (p) __builtin_memcpy(o->sl2, p, 8);
  if (rdwr) {
    p = bpf_dynptr_slice_rdwr(d, c->off, wbuf, sizeof(wbuf));
    o->where[2] = where(p, wbuf);
    if (p) {
      p[0] ^= 0xff;
      // A copy in the buffer reaches the packet through bpf_dynptr_write.
      if (p == wbuf) o->ret[5] = bpf_dynptr_write(d, c->off, wbuf, 4, 0);
    }
  }
  o->ret[6] = bpf_dynptr_write(d, c->off, src, c->len & 15, c->wflags);
  o->ret[7] = bpf_dynptr_write(d, 0, src, 0, 0);
  o->ret[8] = bpf_dynptr_clone(d, &e);
  o->ret[9] = bpf_dynptr_adjust(&e, c->start, c->end);
  o->ret[10] = bpf_dynptr_size(&e);
  o->ret[11] = bpf_dynptr_read(o->cl, 4, &e, 0, 0);
  p = bpf_dynptr_slice(&e, 0, buf, 4);
  o->where[3] = where(p, buf);
  o->ret[12] = p ? p[0] : -1;
  o->is[2] = bpf_dynptr_is_null(&e);
  o->ret[13] = bpf_dynptr_size(d);
  return (int)(o->ret[0] & 0xf);
}

// The programs' common part: the maps' values (else `shot`), the dynptr
// over the context and the calls on it.
// `shrink`: the packet loses its last 16 bytes after the dynptr is made,
// whose size then still counts them (bpf_skb_change_tail's answer in
// ret[14]).
static __always_inline int skb_prog(struct __sk_buff *skb, bool rdwr, int shot,
                                    bool shrink) {
  __u32 zero = 0;
  struct pcmd *c = bpf_map_lookup_elem(&pcmd, &zero);
  struct pres *o = bpf_map_lookup_elem(&pres, &zero);
  if (!c || !o) return shot;
  struct bpf_dynptr d;
  o->ret[0] = bpf_dynptr_from_skb(skb, c->flags, &d);
  if (shrink) o->ret[14] = bpf_skb_change_tail(skb, skb->len - 16, 0);
  return pkt_dynptr(&d, c, o, rdwr);
}

static __always_inline int xdp_prog(struct xdp_md *xdp, bool shrink) {
  __u32 zero = 0;
  struct pcmd *c = bpf_map_lookup_elem(&pcmd, &zero);
  struct pres *o = bpf_map_lookup_elem(&pres, &zero);
  if (!c || !o) return XDP_ABORTED;
  struct bpf_dynptr d;
  o->ret[0] = bpf_dynptr_from_xdp(xdp, c->flags, &d);
  if (shrink) o->ret[14] = bpf_xdp_adjust_tail(xdp, -16);
  return pkt_dynptr(&d, c, o, false);
}

SEC("tc")
int dynptr_skb(struct __sk_buff *skb) {
  return skb_prog(skb, false, TC_ACT_SHOT, false);
}

// `dynptr_skb` with the writable slice: the 6.18 host refuses any program
// that calls bpf_dynptr_slice_rdwr (EPERM, "bpf_dynptr_slice_rdwr() is
// not allowed"); dynptr_compare_test checks that refusal on both.
SEC("tc")
int dynptr_rdwr(struct __sk_buff *skb) {
  return skb_prog(skb, true, TC_ACT_SHOT, false);
}

SEC("socket")
int dynptr_sock(struct __sk_buff *skb) {
  return skb_prog(skb, false, 0, false);
}

SEC("xdp")
int dynptr_xdp(struct xdp_md *xdp) { return xdp_prog(xdp, false); }

SEC("xdp.frags")
int dynptr_xdp_frags(struct xdp_md *xdp) { return xdp_prog(xdp, false); }

// The dynptrs of a packet that shrank after they were made.
SEC("tc")
int dynptr_skb_shrunk(struct __sk_buff *skb) {
  return skb_prog(skb, false, TC_ACT_SHOT, true);
}

SEC("xdp.frags")
int dynptr_xdp_shrunk(struct xdp_md *xdp) { return xdp_prog(xdp, true); }

char LICENSE[] SEC("license") = "GPL";
