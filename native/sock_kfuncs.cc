// SPDX-License-Identifier: Apache-2.0
// The native face of net/core/filter.c bpf_sk_assign_tcp_reqsk (kfy48): a
// natively built program's `extern ... __ksym` declaration (weak) resolves
// to this definition; the work is emu/sock_kfuncs.h's.

#include "emu/sock_kfuncs.h"

extern "C" {

struct __sk_buff;
struct sock;
struct bpf_tcp_req_attrs;

int bpf_sk_assign_tcp_reqsk(struct __sk_buff* s, struct sock* sk,
                            struct bpf_tcp_req_attrs* attrs, int attrs__sz) {
  (void)s;
  (void)sk;
  return bpfemu::sockk::SkAssignTcpReqsk(attrs, attrs__sz);
}

}  // extern "C"
