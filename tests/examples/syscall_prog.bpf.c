// SPDX-License-Identifier: GPL-2.0
// Example: a SYSCALL program (issue 24) that creates and fills maps from
// inside BPF, as a light skeleton's loader does. `make_maps` (run with
// BPF_PROG_TEST_RUN and a struct syscall_ctx as ctx_in) creates an array
// and a hash map with bpf_sys_bpf(BPF_MAP_CREATE), fills them with
// BPF_MAP_UPDATE_ELEM, deletes from the hash, freezes and closes a third
// map with bpf_sys_close, loads BTF, tries each bpf command with an empty
// attr, finds kernel BTF ids with bpf_btf_find_by_name_kind and looks up a
// kernel symbol, and copies the caller's memory with bpf_copy_from_user;
// every return value goes to ctx->ret[] and the created
// maps' fds to the context, so userspace reads the maps after the run.
// `format` writes strings with bpf_snprintf into the `strs` map (the
// return values into ctx->ret[]).
#include <linux/bpf.h>
#include <linux/btf.h>

#include <bpf/bpf_helpers.h>

#include "syscall_prog_cases.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_STRS);
  __type(key, __u32);
  __type(value, struct str_out);
} strs SEC(".maps");

// A page and a bit of attr, for the size rules (bigger than the stack).
struct big_attr {
  __u8 b[BIG_ATTR];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct big_attr);
} big SEC(".maps");

// A BTF blob of one type (int, 4 bytes, signed) and one with a bad magic.
struct tiny_btf {
  struct btf_header hdr;
  __u32 type[4];
  char strs[5];
};
const volatile struct tiny_btf good_btf = {
    .hdr = {.magic = 0xeB9F,
            .version = 1,
            .hdr_len = sizeof(struct btf_header),
            .type_off = 0,
            .type_len = 16,
            .str_off = 16,
            .str_len = 5},
    .type = {1, BTF_KIND_INT << 24, 4, (BTF_INT_SIGNED << 24) | 32},
    .strs = "\0int",
};

static __always_inline long map_create(__u32 type, __u32 key, __u32 value,
                                       __u32 max, __u32 flags) {
  union bpf_attr a;
  __builtin_memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = key;
  a.value_size = value;
  a.max_entries = max;
  a.map_flags = flags;
  return bpf_sys_bpf(BPF_MAP_CREATE, &a, MAP_CREATE_ATTR);
}

static __always_inline long elem(int cmd, int fd, __u32 *key, __u64 *value,
                                 __u64 flags) {
  union bpf_attr a;
  __builtin_memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = (__u64)(unsigned long)key;
  a.value = (__u64)(unsigned long)value;
  a.flags = flags;
  return bpf_sys_bpf(cmd, &a, ELEM_ATTR);
}

SEC("syscall")
int make_maps(struct syscall_ctx *ctx) {
  __u32 k;
  __u64 v;
  long r;

  // Two maps, filled.
  r = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
  ctx->ret[R_CREATE_ARRAY] = r;
  ctx->array_fd = r;
  r = map_create(BPF_MAP_TYPE_HASH, 4, 8, 8, 0);
  ctx->ret[R_CREATE_HASH] = r;
  ctx->hash_fd = r;
#pragma unroll
  for (int i = 0; i < 5; i++) {
    __u32 ak = i;
    v = (i + 1) * 100;
    ctx->ret[R_ARRAY_UPDATE + i] =
        elem(BPF_MAP_UPDATE_ELEM, ctx->array_fd, &ak, &v, BPF_ANY);
  }
#pragma unroll
  for (int i = 0; i < 3; i++) {
    __u32 hk = (i + 1) * 10;
    v = hk * 7;
    ctx->ret[R_HASH_UPDATE + i] =
        elem(BPF_MAP_UPDATE_ELEM, ctx->hash_fd, &hk, &v, BPF_NOEXIST);
  }
  k = 10;
  v = 1;
  ctx->ret[R_HASH_NOEXIST] =
      elem(BPF_MAP_UPDATE_ELEM, ctx->hash_fd, &k, &v, BPF_NOEXIST);
  k = 99;
  ctx->ret[R_HASH_EXIST] =
      elem(BPF_MAP_UPDATE_ELEM, ctx->hash_fd, &k, &v, BPF_EXIST);
  k = 20;
  ctx->ret[R_HASH_DELETE] = elem(BPF_MAP_DELETE_ELEM, ctx->hash_fd, &k, 0, 0);
  ctx->ret[R_HASH_DELETE_AGAIN] =
      elem(BPF_MAP_DELETE_ELEM, ctx->hash_fd, &k, 0, 0);
  k = 1;
  ctx->ret[R_ARRAY_DELETE] = elem(BPF_MAP_DELETE_ELEM, ctx->array_fd, &k, 0, 0);
  ctx->ret[R_LOOKUP] = elem(BPF_MAP_LOOKUP_ELEM, ctx->array_fd, &k, &v, 0);
  k = 30;
  v = 3;
  ctx->ret[R_BAD_FLAGS] =
      elem(BPF_MAP_UPDATE_ELEM, ctx->hash_fd, &k, &v, BPF_F_LOCK);
  ctx->ret[R_BAD_FD] = elem(BPF_MAP_UPDATE_ELEM, 1 << 20, &k, &v, BPF_ANY);
  ctx->ret[R_CREATE_BAD] = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0);
  ctx->ret[R_CREATE_FLAGS] = map_create(BPF_MAP_TYPE_HASH, 4, 8, 4, 1 << 30);

  // A third map: frozen, then closed.
  r = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
  ctx->ret[R_CREATE_THIRD] = r;
  ctx->closed_fd = r;
  {
    union bpf_attr a;
    __builtin_memset(&a, 0, sizeof(a));
    a.map_fd = ctx->closed_fd;
    ctx->ret[R_FREEZE] = bpf_sys_bpf(BPF_MAP_FREEZE, &a, 4);
    ctx->ret[R_FREEZE_AGAIN] = bpf_sys_bpf(BPF_MAP_FREEZE, &a, 4);
  }
  k = 0;
  v = 5;
  ctx->ret[R_FROZEN_UPDATE] =
      elem(BPF_MAP_UPDATE_ELEM, ctx->closed_fd, &k, &v, BPF_ANY);
  ctx->ret[R_CLOSE] = bpf_sys_close(ctx->closed_fd);
  ctx->ret[R_CLOSE_AGAIN] = bpf_sys_close(ctx->closed_fd);
  ctx->ret[R_CLOSED_UPDATE] =
      elem(BPF_MAP_UPDATE_ELEM, ctx->closed_fd, &k, &v, BPF_ANY);
  ctx->ret[R_CLOSE_BAD] = bpf_sys_close(-1);

  // The attr size rules, on a buffer bigger than a page.
  {
    __u32 zero = 0;
    struct big_attr *b = bpf_map_lookup_elem(&big, &zero);
    if (!b) return 1;
    union bpf_attr *a = (union bpf_attr *)b->b;
    a->map_type = BPF_MAP_TYPE_ARRAY;
    a->key_size = 4;
    a->value_size = 4;
    a->max_entries = 1;
    ctx->ret[R_SIZE_PAGE_PLUS] =
        bpf_sys_bpf(BPF_MAP_CREATE, b, BIG_ATTR);  // > PAGE_SIZE
    b->b[200] = 1;
    ctx->ret[R_SIZE_TAIL] = bpf_sys_bpf(BPF_MAP_CREATE, b, 256);
    b->b[200] = 0;
    b->b[100] = 1;  // beyond map_create's last field
    ctx->ret[R_SIZE_CHECK_ATTR] = bpf_sys_bpf(BPF_MAP_CREATE, b, 256);
    b->b[100] = 0;
    r = bpf_sys_bpf(BPF_MAP_CREATE, b, 256);  // zeros past the union
    ctx->ret[R_SIZE_ZERO_TAIL] = r;
    if (r >= 0) bpf_sys_close(r);
    r = bpf_sys_bpf(BPF_MAP_CREATE, b, 4096);
    ctx->ret[R_SIZE_PAGE] = r;
    if (r >= 0) bpf_sys_close(r);
    ctx->ret[R_SIZE_SHORT] = bpf_sys_bpf(BPF_MAP_CREATE, b, 12);  // no max
  }

  // BPF_BTF_LOAD of a blob in the program's memory.
  {
    union bpf_attr a;
    __builtin_memset(&a, 0, sizeof(a));
    a.btf = (__u64)(unsigned long)&good_btf;
    a.btf_size = __builtin_offsetof(struct tiny_btf, strs) + 5;
    r = bpf_sys_bpf(BPF_BTF_LOAD, &a, BTF_LOAD_ATTR);
    ctx->ret[R_BTF_LOAD] = r;
    ctx->btf_fd = r;
    a.btf_size = sizeof(struct btf_header) - 4;
    ctx->ret[R_BTF_LOAD_SHORT] = bpf_sys_bpf(BPF_BTF_LOAD, &a, BTF_LOAD_ATTR);
    if (ctx->btf_fd >= 0) ctx->ret[R_BTF_CLOSE] = bpf_sys_close(ctx->btf_fd);
  }

  // BPF_PROG_LOAD from a program: r0 = 0; exit.
  {
    struct bpf_insn insns[2] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr a;
    __builtin_memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insn_cnt = 2;
    a.insns = (__u64)(unsigned long)insns;
    a.license = (__u64)(unsigned long)"GPL";
    r = bpf_sys_bpf(BPF_PROG_LOAD, &a, PROG_LOAD_ATTR);
    ctx->ret[R_PROG_LOAD] = r;
    if (r >= 0) bpf_sys_close(r);
  }

  // Every command with an empty attr.
#pragma unroll
  for (int i = 0; i < NR_CMDS; i++) {
    __u64 empty[2] = {0, 0};
    r = bpf_sys_bpf(i, empty, sizeof(empty));
    ctx->cmd_ret[i] = r;
    if (r >= 0) bpf_sys_close(r);
  }

  // Kernel BTF ids.
  {
    char task[] = "task_struct";
    char task_junk[] = "task_struct\0junk";
    char u32[] = "u32";
    char none[] = "no_such_type_in_bpfemu";
    char func[] = "bpf_sys_bpf";
    char one[1] = "";
    char open[4] = {'u', '3', '2', 'x'};
    ctx->ret[R_BTF_STRUCT] =
        bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_STRUCT, 0);
    ctx->ret[R_BTF_UNION] =
        bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_UNION, 0);
    ctx->ret[R_BTF_TYPEDEF] =
        bpf_btf_find_by_name_kind(u32, sizeof(u32), BTF_KIND_TYPEDEF, 0);
    ctx->ret[R_BTF_FUNC] =
        bpf_btf_find_by_name_kind(func, sizeof(func), BTF_KIND_FUNC, 0);
    ctx->ret[R_BTF_MISSING] =
        bpf_btf_find_by_name_kind(none, sizeof(none), BTF_KIND_STRUCT, 0);
    ctx->ret[R_BTF_JUNK] = bpf_btf_find_by_name_kind(
        task_junk, sizeof(task_junk), BTF_KIND_STRUCT, 0);
    ctx->ret[R_BTF_KIND_WIDE] = bpf_btf_find_by_name_kind(
        task, sizeof(task), 0x100 | BTF_KIND_STRUCT, 0);
    ctx->ret[R_BTF_FLAGS] =
        bpf_btf_find_by_name_kind(task, sizeof(task), BTF_KIND_STRUCT, 1);
    ctx->ret[R_BTF_EMPTY] =
        bpf_btf_find_by_name_kind(one, sizeof(one), BTF_KIND_STRUCT, 0);
    ctx->ret[R_BTF_UNTERMINATED] =
        bpf_btf_find_by_name_kind(open, sizeof(open), BTF_KIND_TYPEDEF, 0);
  }

  // A kernel symbol's address.
  {
    char sym[] = "bpf_prog_test_run_syscall";
    char missing[] = "no_such_symbol_in_bpfemu";
    char one[1] = "";
    __u64 res = 7;
    ctx->ret[R_KSYM] = bpf_kallsyms_lookup_name(sym, sizeof(sym), 0, &res);
    ctx->ksym = res;
    res = 7;
    ctx->ret[R_KSYM_FLAGS] =
        bpf_kallsyms_lookup_name(sym, sizeof(sym), 1, &res);
    ctx->ksym_bad = res;
    ctx->ret[R_KSYM_EMPTY] =
        bpf_kallsyms_lookup_name(one, sizeof(one), 0, &res);
    ctx->ret[R_KSYM_MISSING] =
        bpf_kallsyms_lookup_name(missing, sizeof(missing), 0, &res);
  }

  // The caller's memory (bpf_copy_from_user: a sleepable program's).
  {
    __u8 buf[16];
    __u8 bad[8];
    __builtin_memset(bad, 0x5a, sizeof(bad));
    ctx->ret[R_COPY] =
        bpf_copy_from_user(buf, sizeof(buf), (const void *)ctx->user_src);
    __builtin_memcpy(ctx->copied, buf, sizeof(buf));
    ctx->ret[R_COPY_BAD] =
        bpf_copy_from_user(bad, sizeof(bad), (const void *)1);
    __builtin_memcpy(ctx->copied_bad, bad, sizeof(bad));
    ctx->ret[R_COPY_EMPTY] =
        bpf_copy_from_user(buf, 0, (const void *)ctx->user_src);
  }
  return 0;
}

// bpf_snprintf into strs[i] (size `size`), its return in ret[R_FMT + i].
#define FMT(i, size, fmt, ...)                                 \
  do {                                                         \
    __u32 key = (i);                                           \
    struct str_out *o = bpf_map_lookup_elem(&strs, &key);      \
    __u64 args[] = {__VA_ARGS__};                              \
    if (o) {                                                   \
      ctx->ret[R_FMT + (i)] =                                  \
          bpf_snprintf(o->s, (size), fmt, args, sizeof(args)); \
    }                                                          \
  } while (0)

SEC("syscall")
int format(struct syscall_ctx *ctx) {
  char word[] = "word";
  char longer[] = "a longer string";
  __u8 ip4[4] = {192, 168, 1, 42};
  __u8 ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0,    0,    0,
                  0,    0,    0,    0,    0, 0x12, 0x03, 0x4f};
  unsigned long p = 0x1234;

  FMT(0, STR_LEN, "%d %i %u|%d", -1, -2, -3, 0x100000005ULL);
  FMT(1, STR_LEN, "%ld %lld %lu %llx %lX", -5000000000LL, 1LL << 40, -1LL,
      0xdeadbeefcafeULL, 0xabcdef12345ULL);
  FMT(2, STR_LEN, "%x %X %08x|%-6d|%+d|% d|%5u|%05d", 255, 255, 0xbeef, 42, 7,
      9, 3, -42);
  FMT(3, STR_LEN, "%c%c%c|%5c|%-3c|", 'a', 'b', 0x163, 'x', 'y');
  FMT(4, STR_LEN, "%s and %10s|%-10s|%s.", (unsigned long)word,
      (unsigned long)word, (unsigned long)word, (unsigned long)longer);
  FMT(5, STR_LEN, "%px %pK %20px", p, p, p);
  FMT(6, STR_LEN, "%pI4 %pi4 %18pI4|", (unsigned long)ip4, (unsigned long)ip4,
      (unsigned long)ip4);
  FMT(7, STR_LEN, "%pI6 %pi6", (unsigned long)ip6, (unsigned long)ip6);
  FMT(8, STR_LEN, "%ps %pS %pB", p, p, p);
  FMT(9, STR_LEN, "%p|%p", p, 0);
  FMT(10, 8, "hello world %d", 12345);
  FMT(11, STR_LEN, "[%s] [%pks] [%pus]", 0, (unsigned long)word, 0);
  FMT(12, STR_LEN, "100%% %%d %d%%", 5);
  FMT(13, STR_LEN, "caf\xc3\xa9 %s\t\n", (unsigned long)word);
  FMT(14, 1, "abc", 0);
  {
    __u32 key = 15;
    struct str_out *o = bpf_map_lookup_elem(&strs, &key);
    if (o) ctx->ret[R_FMT + 15] = bpf_snprintf(o->s, STR_LEN, "no args", 0, 0);
  }
  FMT(16, STR_LEN, "%d", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
  FMT(17, STR_LEN, "%d %d %d %d %d %d %d %d %d %d %d %d", 1, 2, 3, 4, 5, 6, 7,
      8, 9, 10, 11, 12);
  FMT(18, STR_LEN, "%pI4", 0);
  FMT(19, STR_LEN, "%s|%c|", (unsigned long)"", 0);
  {
    __u32 key = 20;
    struct str_out *o = bpf_map_lookup_elem(&strs, &key);
    if (o) ctx->ret[R_FMT + 20] = bpf_snprintf(0, 0, "%s!", (__u64 *)&p, 8);
  }
  FMT(21, 2, "%d", 12345);
  FMT(22, STR_LEN, "%-+5d|%+-5d|%0-5d|%-05x", 3, 4, 5, 6);
  FMT(23, STR_LEN, "%3s|%-3s|%s.", (unsigned long)longer, (unsigned long)word,
      (unsigned long)word);
  return 0;
}

char _license[] SEC("license") = "GPL";
