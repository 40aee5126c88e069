/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/examples/syscall_prog.bpf.c's context and the numbering of its
 * recorded returns, shared by the program (C) and the tests (C++).
 */
#ifndef BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_CASES_H_

#include <linux/types.h>

#define NR_RETS 96
#define NR_CMDS 40
#define NR_STRS 24
#define STR_LEN 96
#define BIG_ATTR 4104
/* The attr sizes the program passes: what its fields need. */
#define MAP_CREATE_ATTR 72
#define ELEM_ATTR 32
#define BTF_LOAD_ATTR 40
#define PROG_LOAD_ATTR 128

/* ctx->ret[] of make_maps. */
enum {
  R_CREATE_ARRAY,
  R_CREATE_HASH,
  R_ARRAY_UPDATE,                     /* 5 entries: keys 0..4 */
  R_HASH_UPDATE = R_ARRAY_UPDATE + 5, /* 3 entries: keys 10, 20, 30 */
  R_HASH_NOEXIST = R_HASH_UPDATE + 3,
  R_HASH_EXIST,
  R_HASH_DELETE,
  R_HASH_DELETE_AGAIN,
  R_ARRAY_DELETE,
  R_LOOKUP,
  R_BAD_FLAGS,
  R_BAD_FD,
  R_CREATE_BAD,
  R_CREATE_FLAGS,
  R_CREATE_THIRD,
  R_FREEZE,
  R_FREEZE_AGAIN,
  R_FROZEN_UPDATE,
  R_CLOSE,
  R_CLOSE_AGAIN,
  R_CLOSED_UPDATE,
  R_CLOSE_BAD,
  R_SIZE_PAGE_PLUS,
  R_SIZE_TAIL,
  R_SIZE_CHECK_ATTR,
  R_SIZE_ZERO_TAIL,
  R_SIZE_PAGE,
  R_SIZE_SHORT,
  R_BTF_LOAD,
  R_BTF_LOAD_SHORT,
  R_BTF_CLOSE,
  R_PROG_LOAD,
  R_BTF_STRUCT,
  R_BTF_UNION,
  R_BTF_TYPEDEF,
  R_BTF_FUNC,
  R_BTF_MISSING,
  R_BTF_JUNK,
  R_BTF_KIND_WIDE,
  R_BTF_FLAGS,
  R_BTF_EMPTY,
  R_BTF_UNTERMINATED,
  R_KSYM,
  R_KSYM_FLAGS,
  R_KSYM_EMPTY,
  R_KSYM_MISSING,
  R_FMT, /* format's bpf_snprintf returns, NR_STRS of them */
  /* make_maps: bpf_copy_from_user of 16 bytes at ctx->user_src, of 8 bytes
     at address 1 (-EFAULT, the buffer zeroed), of 0 bytes. */
  R_COPY = R_FMT + NR_STRS,
  R_COPY_BAD,
  R_COPY_EMPTY,
  R_END,
};

struct syscall_ctx {
  __s64 ret[NR_RETS];
  __s64 cmd_ret[NR_CMDS]; /* bpf_sys_bpf(cmd, 16 zero bytes) */
  __s32 array_fd, hash_fd, closed_fd, btf_fd;
  __u64 ksym; /* bpf_kallsyms_lookup_name's *res */
  __u64 ksym_bad;
  __u64 user_src; /* set by the caller: 16 bytes of its memory */
  __u8 copied[16], copied_bad[8];
};

struct str_out {
  char s[STR_LEN];
};

#endif /* BPFEMU_TESTS_EXAMPLES_SYSCALL_PROG_CASES_H_ */
