// SPDX-License-Identifier: GPL-2.0
// Example: the read-only string kfuncs of Linux 6.18 (kernel/bpf/helpers.c
// bpf_strcmp ... bpf_strnstr). `str_call` (tc) reads one case from
// `cases` (which kfunc, its character and length arguments, and where each
// string argument points: the case's own bytes, a stack copy of them, the
// 65600-byte `big` value, or a raw address) and writes the kfunc's return
// value to `out`. The kfuncs are `extern ... __ksym`: libbpf (or bpfemu's
// loader) resolves them against the kernel's BTF; the native build links
// bpfemu's definitions (native/string_kfuncs.cc).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

extern int bpf_strcmp(const char *s1, const char *s2) __ksym;
extern int bpf_strcasecmp(const char *s1, const char *s2) __ksym;
extern int bpf_strchr(const char *s, char c) __ksym;
extern int bpf_strchrnul(const char *s, char c) __ksym;
extern int bpf_strnchr(const char *s, __u64 count, char c) __ksym;
extern int bpf_strrchr(const char *s, int c) __ksym;
extern int bpf_strlen(const char *s) __ksym;
extern int bpf_strnlen(const char *s, __u64 count) __ksym;
extern int bpf_strspn(const char *s, const char *accept) __ksym;
extern int bpf_strcspn(const char *s, const char *reject) __ksym;
extern int bpf_strstr(const char *s1, const char *s2) __ksym;
extern int bpf_strnstr(const char *s1, const char *s2, __u64 len) __ksym;

#define STR_LEN 64
#define BIG_LEN 65600

enum str_op {
  OP_STRCMP,
  OP_STRCASECMP,
  OP_STRCHR,
  OP_STRCHRNUL,
  OP_STRNCHR,
  OP_STRRCHR,
  OP_STRLEN,
  OP_STRNLEN,
  OP_STRSPN,
  OP_STRCSPN,
  OP_STRSTR,
  OP_STRNSTR,
};

// Where a string argument points.
enum arg_kind {
  ARG_OWN,    // the case's s1 / s2 (a map value)
  ARG_STACK,  // a copy of them on the program's stack
  ARG_BIG,    // the `big` map value
  ARG_ADDR,   // the raw address addr1 / addr2
};

struct str_case {
  __u32 op;
  __s32 c;  // the character argument
  __u64 n;  // the count / len argument
  __u32 kind1, kind2;
  __u64 addr1, addr2;
  char s1[STR_LEN];
  char s2[STR_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct str_case);
} cases SEC(".maps");

struct big {
  char s[BIG_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct big);
} bigs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s32);
} out SEC(".maps");

SEC("tc")
int str_call(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct str_case *c = bpf_map_lookup_elem(&cases, &zero);
  struct big *big = bpf_map_lookup_elem(&bigs, &zero);
  __s32 *res = bpf_map_lookup_elem(&out, &zero);
  if (!c || !big || !res) return TC_ACT_SHOT;
  char st1[STR_LEN], st2[STR_LEN];
  __builtin_memcpy(st1, c->s1, STR_LEN);
  __builtin_memcpy(st2, c->s2, STR_LEN);
  const char *a = c->s1, *b = c->s2;
  switch (c->kind1) {
    case ARG_STACK:
      a = st1;
      break;
    case ARG_BIG:
      a = big->s;
      break;
    case ARG_ADDR:
      a = (const char *)c->addr1;
      break;
  }
  switch (c->kind2) {
    case ARG_STACK:
      b = st2;
      break;
    case ARG_BIG:
      b = big->s;
      break;
    case ARG_ADDR:
      b = (const char *)c->addr2;
      break;
  }
  int r = -1000;
  switch (c->op) {
    case OP_STRCMP:
      r = bpf_strcmp(a, b);
      break;
    case OP_STRCASECMP:
      r = bpf_strcasecmp(a, b);
      break;
    case OP_STRCHR:
      r = bpf_strchr(a, (char)c->c);
      break;
    case OP_STRCHRNUL:
      r = bpf_strchrnul(a, (char)c->c);
      break;
    case OP_STRNCHR:
      r = bpf_strnchr(a, c->n, (char)c->c);
      break;
    case OP_STRRCHR:
      r = bpf_strrchr(a, c->c);
      break;
    case OP_STRLEN:
      r = bpf_strlen(a);
      break;
    case OP_STRNLEN:
      r = bpf_strnlen(a, c->n);
      break;
    case OP_STRSPN:
      r = bpf_strspn(a, b);
      break;
    case OP_STRCSPN:
      r = bpf_strcspn(a, b);
      break;
    case OP_STRSTR:
      r = bpf_strstr(a, b);
      break;
    case OP_STRNSTR:
      r = bpf_strnstr(a, b, c->n);
      break;
  }
  *res = r;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
