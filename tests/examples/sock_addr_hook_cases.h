// SPDX-License-Identifier: Apache-2.0
// The shared layout of tests/examples/sock_addr_hook.bpf.c's maps: what each
// program is told to do (cfg) and what it saw (seen).
#ifndef BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_CASES_H_

#include <linux/types.h>

#define SOCK_ADDR_SET_RETVAL 1 /* bpf_set_retval(retval) */
#define SOCK_ADDR_BIND 2       /* bpf_bind(bind_addr, bind_len) */
#define SOCK_ADDR_REWRITE 4    /* user_ip4 = new_ip4, user_port = new_port */

struct sock_addr_opt {
  __s32 level;
  __s32 optname;
  __u32 len;
  __u8 val[16];
};

struct sock_addr_cfg {
  __u32 action;
  __s32 retval;
  __u32 verdict;
  __u32 bind_len;
  __u8 bind_addr[28];
  __u32 new_ip4;
  __u32 new_port;
  __u32 nopts;
  struct sock_addr_opt opt[4];
};

struct sock_addr_seen {
  __u32 hits;
  __u32 user_family;
  __u32 user_ip4;
  __u32 user_port;
  __u32 family;
  __u32 type;
  __u32 protocol;
  __s32 retval_before;
  __s32 retval_after;
  __u32 ip4_after;
  __u32 port_after;
  __u32 pad;
  __s64 bind_ret;
  __s64 set_ret[4];
  __s64 get_ret[4];
  __u8 got[4][16];
};

#endif  // BPFEMU_TESTS_EXAMPLES_SOCK_ADDR_HOOK_CASES_H_
