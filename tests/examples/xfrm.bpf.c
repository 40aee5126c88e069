// SPDX-License-Identifier: GPL-2.0
// Example (kfy48, issue 24): the XDP IPsec state kfuncs
// (net/xfrm/xfrm_state_bpf.c bpf_xdp_get_xfrm_state,
// bpf_xdp_xfrm_state_release). `lookup` reads one case from `cases`: the
// options (netns id, mark, destination address, SPI, protocol, family) and
// the size passed as opts__sz; the options sit in a 64-byte stack buffer
// whose error field starts as 12345, so that a call that writes no error
// shows. out[0] is whether a state came back (then released), out[1] the
// error field after the call, out[2] the SPI the state holds (read from
// it at the offset the case gives: the kernel BTF's).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// Opaque here; complete structs, as libbpf 1.1 does not match a forward
// declaration with the kernel's struct in a kfunc's prototype.
struct xfrm_state {
  int opaque;
} __attribute__((preserve_access_index));
struct bpf_xfrm_state_opts {
  int opaque;
} __attribute__((preserve_access_index));

extern struct xfrm_state *bpf_xdp_get_xfrm_state(
    struct xdp_md *ctx, struct bpf_xfrm_state_opts *opts,
    __u32 opts__sz) __ksym;
extern void bpf_xdp_xfrm_state_release(struct xfrm_state *x) __ksym;

struct xcase {
  __u32 size;
  __s32 netns_id;
  __u32 mark;
  __u32 daddr[4];
  __u32 spi;
  __u32 proto;
  __u32 family;
  __u32 spi_off;  // offsetof(struct xfrm_state, id.spi)
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct xcase);
} cases SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64[3]);
} out SEC(".maps");

// A pointer as a number (see kmem_iter.bpf.c).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} scratch SEC(".maps");

SEC("xdp")
int lookup(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct xcase *c = bpf_map_lookup_elem(&cases, &zero);
  __s64 *res = bpf_map_lookup_elem(&out, &zero);
  __u64 *sc = bpf_map_lookup_elem(&scratch, &zero);
  if (!c || !res || !sc) return XDP_ABORTED;
  // struct bpf_xfrm_state_opts's layout, in a larger buffer.
  __u8 buf[64] = {};
  const __s32 sentinel = 12345;
  const __u16 family = (__u16)c->family;
  const __u8 proto = (__u8)c->proto;
  __builtin_memcpy(buf + 0, &sentinel, 4);
  __builtin_memcpy(buf + 4, &c->netns_id, 4);
  __builtin_memcpy(buf + 8, &c->mark, 4);
  __builtin_memcpy(buf + 12, c->daddr, 16);
  __builtin_memcpy(buf + 28, &c->spi, 4);
  __builtin_memcpy(buf + 32, &proto, 1);
  __builtin_memcpy(buf + 34, &family, 2);
  __u32 size = c->size;
  if (size < 1) size = 1;
  if (size > sizeof(buf)) size = sizeof(buf);
  struct xfrm_state *x =
      bpf_xdp_get_xfrm_state(ctx, (struct bpf_xfrm_state_opts *)buf, size);
  __s32 err;
  __builtin_memcpy(&err, buf, 4);
  res[0] = x != 0;
  res[1] = err;
  res[2] = 0;
  if (x) {
    *(volatile __u64 *)sc = (__u64)x;
    const __u64 base = *(volatile __u64 *)sc;
    __u32 spi = 0;
    bpf_probe_read_kernel(&spi, sizeof(spi),
                          (const void *)(base + (c->spi_off & 0xfff)));
    res[2] = spi;
    bpf_xdp_xfrm_state_release(x);
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
