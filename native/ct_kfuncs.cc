// SPDX-License-Identifier: Apache-2.0
// The native face of net/netfilter/nf_conntrack_bpf.c's kfuncs
// (bpf_skb_ct_alloc / _lookup, bpf_xdp_ct_alloc / _lookup,
// bpf_ct_insert_entry, bpf_ct_release, bpf_ct_set_timeout,
// bpf_ct_change_timeout, bpf_ct_set_status, bpf_ct_change_status) and
// net/netfilter/nf_nat_bpf.c bpf_ct_set_nat_info: a natively built
// program's `extern ... __ksym` declarations (weak) resolve to these
// definitions. The entries are emu/ct_kfuncs.h's; the context argument
// names the namespace, and bpfemu has one, so it is not read.

#include <linux/types.h>

#include "emu/ct_kfuncs.h"

extern "C" {

struct nf_conn;
struct nf_conn___init;
struct bpf_sock_tuple;
struct bpf_ct_opts;
struct __sk_buff;
struct xdp_md;

struct nf_conn___init* bpf_skb_ct_alloc(struct __sk_buff* ctx,
                                        struct bpf_sock_tuple* tuple,
                                        __u32 tuple__sz,
                                        struct bpf_ct_opts* opts,
                                        __u32 opts__sz) {
  (void)ctx;
  return static_cast<struct nf_conn___init*>(
      bpfemu::ct::Alloc(tuple, tuple__sz, opts, opts__sz));
}

struct nf_conn* bpf_skb_ct_lookup(struct __sk_buff* ctx,
                                  struct bpf_sock_tuple* tuple, __u32 tuple__sz,
                                  struct bpf_ct_opts* opts, __u32 opts__sz) {
  (void)ctx;
  return static_cast<struct nf_conn*>(
      bpfemu::ct::Lookup(tuple, tuple__sz, opts, opts__sz));
}

struct nf_conn___init* bpf_xdp_ct_alloc(struct xdp_md* ctx,
                                        struct bpf_sock_tuple* tuple,
                                        __u32 tuple__sz,
                                        struct bpf_ct_opts* opts,
                                        __u32 opts__sz) {
  (void)ctx;
  return static_cast<struct nf_conn___init*>(
      bpfemu::ct::Alloc(tuple, tuple__sz, opts, opts__sz));
}

struct nf_conn* bpf_xdp_ct_lookup(struct xdp_md* ctx,
                                  struct bpf_sock_tuple* tuple, __u32 tuple__sz,
                                  struct bpf_ct_opts* opts, __u32 opts__sz) {
  (void)ctx;
  return static_cast<struct nf_conn*>(
      bpfemu::ct::Lookup(tuple, tuple__sz, opts, opts__sz));
}

struct nf_conn* bpf_ct_insert_entry(struct nf_conn___init* nfct_i) {
  return static_cast<struct nf_conn*>(bpfemu::ct::Insert(nfct_i));
}

// A pointer the program does not hold changes nothing (the verifier
// refuses such a program).
void bpf_ct_release(struct nf_conn* nfct) { (void)bpfemu::ct::Release(nfct); }

void bpf_ct_set_timeout(struct nf_conn___init* nfct, __u32 timeout) {
  bpfemu::ct::SetTimeout(nfct, timeout);
}

int bpf_ct_change_timeout(struct nf_conn* nfct, __u32 timeout) {
  return bpfemu::ct::ChangeTimeout(nfct, timeout);
}

int bpf_ct_set_status(const struct nf_conn___init* nfct, __u32 status) {
  return bpfemu::ct::SetStatus(const_cast<struct nf_conn___init*>(nfct),
                               status);
}

int bpf_ct_change_status(struct nf_conn* nfct, __u32 status) {
  return bpfemu::ct::ChangeStatus(nfct, status);
}

int bpf_ct_set_nat_info(struct nf_conn___init* nfct, void* addr, int port,
                        int manip) {
  return bpfemu::ct::SetNatInfo(nfct, addr, port, manip);
}

}  // extern "C"
