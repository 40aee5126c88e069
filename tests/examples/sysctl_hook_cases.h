// SPDX-License-Identifier: Apache-2.0
// The shared layout of tests/examples/sysctl_hook.bpf.c's maps: what each
// program is told to do (cfg) and what it saw (seen).
#ifndef BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_CASES_H_

#include <linux/types.h>

#define SYSCTL_SET_RETVAL 1 /* bpf_set_retval(retval) */
#define SYSCTL_SET_POS 2    /* ctx->file_pos = file_pos */
#define SYSCTL_SET_NEW 4    /* bpf_sysctl_set_new_value(new_value, new_len) */
#define SYSCTL_SET_BIG 8    /* bpf_sysctl_set_new_value of 4096 bytes */

struct sysctl_cfg {
  __u32 action;
  __s32 retval;
  __u32 verdict;
  __u32 file_pos;
  __u32 new_len;
  char new_value[16];
  __u32 pad;
};

struct sysctl_seen {
  __u32 hits;
  __u32 write;
  __u32 pos_before;
  __u32 pos_after;
  __s32 retval_before;
  __s32 retval_after;
  __s64 set_retval_ret;
  __s64 name_ret[5];
  char name_full[48];
  char name_base[24];
  char name_small[8];
  char name_tiny[8];
  char name_base_small[8];
  __s64 cur_ret[2];
  char cur[16];
  char cur_small[8];
  __s64 new_ret[3];
  char new_value[16];
  char new_small[8];
  char new_after[16];
  __s64 set_ret;
  __s64 set_big_ret;
};

#endif  // BPFEMU_TESTS_EXAMPLES_SYSCTL_HOOK_CASES_H_
