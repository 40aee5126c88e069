/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfemu's native stand-in for libbpf's <bpf/bpf_helpers.h>: compiling an
 * unmodified BPF source with the host compiler against this header (the
 * //native:bpf_headers include path comes before /usr/include) gives a native
 * object whose maps and helpers are bpfemu's.
 *
 * The map-definition macros keep libbpf's encoding (an integer N becomes the
 * type `int (*)[N]`, a type T becomes `T *`), so loader/gen_native
 * recovers every attribute with sizeof. SEC() places nothing in a section
 * natively; the same source built with `clang -target bpf` tells which
 * variables are maps and which functions are programs.
 */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

#include "bpf_helper_defs.h"

#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#define SEC(name) __attribute__((used))

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#define __hidden __attribute__((visibility("hidden")))
#define __kconfig __attribute__((weak))
#define __ksym __attribute__((weak))
#define __arg_ctx
#define __arg_nonnull
#define __arg_nullable
#define __arg_trusted
#define __arg_arena
/* The arena's address space (clang's address_space(1) for -target bpf):
 * natively an arena pointer is a plain pointer into the process's own
 * mapping of the arena (native/arena_kfuncs.cc). */
#ifndef __arena
#define __arena
#endif
#define __bpf_fastcall

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef barrier
#define barrier() __asm__ __volatile__("" : : : "memory")
#endif
#ifndef barrier_var
#define barrier_var(var) __asm__ __volatile__("" : "+r"(var))
#endif
#define __bpf_unreachable() __builtin_unreachable()

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member) \
  ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Pinning values for the `pinning` map attribute, as libbpf defines them. */
enum libbpf_pin_type {
  LIBBPF_PIN_NONE,
  LIBBPF_PIN_BY_NAME,
};

enum libbpf_tristate {
  TRI_NO = 0,
  TRI_YES = 1,
  TRI_MODULE = 2,
};

#define bpf_ksym_exists(sym) (1)

/* bpf_printk(): the format and arguments reach the runtime, which formats
 * them as bpf_trace_printk() would and keeps the line for tests. */
#define bpf_printk(fmt, ...)                                    \
  ({                                                            \
    static const char ____bpfemu_fmt[] = fmt;                   \
    bpfemu_trace_printk(____bpfemu_fmt, sizeof(____bpfemu_fmt), \
                        ##__VA_ARGS__);                         \
  })

#endif /* __BPF_HELPERS__ */
