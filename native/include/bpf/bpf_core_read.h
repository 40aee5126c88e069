/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfemu's native stand-in for the commonly used parts of libbpf's
 * <bpf/bpf_core_read.h>. Natively there is no relocation to do: a CO-RE read
 * is a plain read, and every field and type exists. Unlike the kernel's
 * probe reads, a NULL pointer in a chain is dereferenced (the test crashes
 * instead of reading zeros).
 */
#ifndef __BPF_CORE_READ_H__
#define __BPF_CORE_READ_H__

#include <string.h>

#include "bpf_helper_defs.h"

#define bpf_core_read(dst, sz, src) \
  bpf_probe_read_kernel(dst, sz, (const void *)(src))
#define bpf_core_read_user(dst, sz, src) \
  bpf_probe_read_user(dst, sz, (const void *)(src))
#define bpf_core_read_str(dst, sz, src) \
  bpf_probe_read_kernel_str(dst, sz, (const void *)(src))
#define bpf_core_field_exists(field...) 1
#define bpf_core_field_size(field) sizeof(field)
#define bpf_core_type_exists(type) 1
#define bpf_core_type_size(type) sizeof(type)
#define bpf_core_enum_value_exists(enum_type, enum_value) 1
#define bpf_core_enum_value(enum_type, enum_value) (enum_value)

#define ___bpfemu_rd_nth(_, _1, _2, _3, _4, _5, _6, N, ...) N
#define ___bpfemu_rd_narg(...) \
  ___bpfemu_rd_nth(_, ##__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define ___bpfemu_rd_cat(a, b) a##b
#define ___bpfemu_rd_call(fn, n) ___bpfemu_rd_cat(fn, n)
#define ___bpfemu_rd1(s, a) ((s)->a)
#define ___bpfemu_rd2(s, a, b) ((s)->a->b)
#define ___bpfemu_rd3(s, a, b, c) ((s)->a->b->c)
#define ___bpfemu_rd4(s, a, b, c, d) ((s)->a->b->c->d)
#define ___bpfemu_rd5(s, a, b, c, d, e) ((s)->a->b->c->d->e)
#define ___bpfemu_rd6(s, a, b, c, d, e, f) ((s)->a->b->c->d->e->f)

/* BPF_CORE_READ(s, a, b) is s->a->b. */
#define BPF_CORE_READ(src, a, ...)                                      \
  ___bpfemu_rd_call(___bpfemu_rd, ___bpfemu_rd_narg(a, ##__VA_ARGS__))( \
      src, a, ##__VA_ARGS__)
#define BPF_CORE_READ_USER(src, a, ...) BPF_CORE_READ(src, a, ##__VA_ARGS__)
#define BPF_CORE_READ_INTO(dst, src, a, ...)       \
  ({                                               \
    *(dst) = BPF_CORE_READ(src, a, ##__VA_ARGS__); \
    0;                                             \
  })
#define BPF_CORE_READ_STR_INTO(dst, src, a, ...) \
  bpf_probe_read_kernel_str(dst, sizeof(*(dst)), \
                            BPF_CORE_READ(src, a, ##__VA_ARGS__))

#endif /* __BPF_CORE_READ_H__ */
