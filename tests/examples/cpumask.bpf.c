// SPDX-License-Identifier: GPL-2.0
// Example: the cpumask kfuncs (kernel/bpf/cpumask.c), from a syscall
// program (the set is registered for TRACING, STRUCT_OPS and SYSCALL).
// `run_script` creates three masks (0, 1, 2), runs up to 32 steps of the
// `script` map on them, each one kfunc with a CPU number and mask indexes,
// records each step's answer in `answers`, and releases the masks. The
// kfuncs are `extern ... __ksym`: libbpf (or bpfemu's loader) resolves
// them against the kernel's BTF; the native build links bpfemu's
// definitions (native/cpumask_kfuncs.cc).
#include <linux/bpf.h>
#include <stdbool.h>

#include <bpf/bpf_helpers.h>

// Layouts as the kernel's BTF has them (NR_CPUS 256): only pointers to
// them pass through the program.
struct cpumask {
  unsigned long bits[4];
};
struct bpf_cpumask {
  struct cpumask cpumask;
  int usage;
};

extern struct bpf_cpumask *bpf_cpumask_create(void) __ksym;
extern struct bpf_cpumask *bpf_cpumask_acquire(struct bpf_cpumask *m) __ksym;
extern void bpf_cpumask_release(struct bpf_cpumask *m) __ksym;
extern __u32 bpf_cpumask_first(const struct cpumask *m) __ksym;
extern __u32 bpf_cpumask_first_zero(const struct cpumask *m) __ksym;
extern __u32 bpf_cpumask_first_and(const struct cpumask *a,
                                   const struct cpumask *b) __ksym;
extern void bpf_cpumask_set_cpu(__u32 cpu, struct bpf_cpumask *m) __ksym;
extern void bpf_cpumask_clear_cpu(__u32 cpu, struct bpf_cpumask *m) __ksym;
extern bool bpf_cpumask_test_cpu(__u32 cpu, const struct cpumask *m) __ksym;
extern bool bpf_cpumask_test_and_set_cpu(__u32 cpu,
                                         struct bpf_cpumask *m) __ksym;
extern bool bpf_cpumask_test_and_clear_cpu(__u32 cpu,
                                           struct bpf_cpumask *m) __ksym;
extern void bpf_cpumask_setall(struct bpf_cpumask *m) __ksym;
extern void bpf_cpumask_clear(struct bpf_cpumask *m) __ksym;
extern bool bpf_cpumask_and(struct bpf_cpumask *d, const struct cpumask *a,
                            const struct cpumask *b) __ksym;
extern void bpf_cpumask_or(struct bpf_cpumask *d, const struct cpumask *a,
                           const struct cpumask *b) __ksym;
extern void bpf_cpumask_xor(struct bpf_cpumask *d, const struct cpumask *a,
                            const struct cpumask *b) __ksym;
extern bool bpf_cpumask_equal(const struct cpumask *a,
                              const struct cpumask *b) __ksym;
extern bool bpf_cpumask_intersects(const struct cpumask *a,
                                   const struct cpumask *b) __ksym;
extern bool bpf_cpumask_subset(const struct cpumask *a,
                               const struct cpumask *b) __ksym;
extern bool bpf_cpumask_empty(const struct cpumask *m) __ksym;
extern bool bpf_cpumask_full(const struct cpumask *m) __ksym;
extern void bpf_cpumask_copy(struct bpf_cpumask *d,
                             const struct cpumask *s) __ksym;
extern __u32 bpf_cpumask_any_distribute(const struct cpumask *m) __ksym;
extern __u32 bpf_cpumask_any_and_distribute(const struct cpumask *a,
                                            const struct cpumask *b) __ksym;
extern __u32 bpf_cpumask_weight(const struct cpumask *m) __ksym;
extern int bpf_cpumask_populate(struct cpumask *m, void *src,
                                __u64 src__sz) __ksym;

struct bpf_iter_num {
  __u64 __opaque[1];
} __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

// bpf_for(i, start, end), as tests/examples/iter_num.bpf.c has it.
#define bpf_for(i, start, end)                                             \
  for (struct bpf_iter_num it__                                            \
       __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))),         \
       *init__                                                             \
       __attribute__((unused)) = (bpf_iter_num_new(&it__, (start), (end)), \
                                  (void)bpf_iter_num_destroy, (void *)0);  \
       ({                                                                  \
         int *cur__ = bpf_iter_num_next(&it__);                            \
         cur__ && ((i) = *cur__, (i) >= (start) && (i) < (end));           \
       });)

// A bool kfunc's answer, its low byte only: the kernel's x86-64 functions
// set only AL for a bool, and the JIT hands R0 on as RAX, so bits 8-63 are
// whatever the function left there (measured: 0xffffff01 for true), while
// clang takes the whole register as 0 or 1. A byte stored and loaded back
// keeps what the kfunc means.
#define BOOL(e)              \
  ({                         \
    volatile __u8 b__ = (e); \
    (__s64) b__;             \
  })

#define MAX_STEPS 32
#define CM(m) ((const struct cpumask *)(m))

enum cm_op {
  CM_SET_CPU,
  CM_CLEAR_CPU,
  CM_TEST_CPU,
  CM_TEST_AND_SET_CPU,
  CM_TEST_AND_CLEAR_CPU,
  CM_SETALL,
  CM_CLEAR,
  CM_AND,
  CM_OR,
  CM_XOR,
  CM_EQUAL,
  CM_INTERSECTS,
  CM_SUBSET,
  CM_EMPTY,
  CM_FULL,
  CM_COPY,
  CM_FIRST,
  CM_FIRST_ZERO,
  CM_FIRST_AND,
  CM_WEIGHT,
  CM_ANY_DISTRIBUTE,
  CM_ANY_AND_DISTRIBUTE,
  CM_ACQUIRE_RELEASE,
  CM_POPULATE,
};

struct step {
  __u32 op;
  __u32 cpu;            // the CPU; CM_POPULATE: the source size (4, 7, 8 or 16)
  __u8 d, s1, s2, pad;  // mask indexes
};

struct script {
  __u32 n;
  __u32 pad;
  __u64 src[2];  // CM_POPULATE's source
  struct step steps[MAX_STEPS];
};

struct answers {
  __s64 r[MAX_STEPS];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct script);
} script SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct answers);
} answers SEC(".maps");

#define PICK(idx) ((idx) == 0 ? a : (idx) == 1 ? b : c)

SEC("syscall")
int run_script(void *ctx) {
  __u32 zero = 0;
  struct script *s = bpf_map_lookup_elem(&script, &zero);
  struct answers *out = bpf_map_lookup_elem(&answers, &zero);
  if (!s || !out) return -1;
  struct bpf_cpumask *a = bpf_cpumask_create();
  if (!a) return -2;
  struct bpf_cpumask *b = bpf_cpumask_create();
  if (!b) {
    bpf_cpumask_release(a);
    return -2;
  }
  struct bpf_cpumask *c = bpf_cpumask_create();
  if (!c) {
    bpf_cpumask_release(a);
    bpf_cpumask_release(b);
    return -2;
  }
  int i;
  bpf_for(i, 0, MAX_STEPS) {
    if ((__u32)i >= s->n) break;
    struct step *st = &s->steps[i];
    struct bpf_cpumask *d = PICK(st->d), *x = PICK(st->s1), *y = PICK(st->s2);
    __u32 cpu = st->cpu;
    __s64 r = 0;
    switch (st->op) {
      case CM_SET_CPU:
        bpf_cpumask_set_cpu(cpu, d);
        break;
      case CM_CLEAR_CPU:
        bpf_cpumask_clear_cpu(cpu, d);
        break;
      case CM_TEST_CPU:
        r = BOOL(bpf_cpumask_test_cpu(cpu, CM(x)));
        break;
      case CM_TEST_AND_SET_CPU:
        r = BOOL(bpf_cpumask_test_and_set_cpu(cpu, d));
        break;
      case CM_TEST_AND_CLEAR_CPU:
        r = BOOL(bpf_cpumask_test_and_clear_cpu(cpu, d));
        break;
      case CM_SETALL:
        bpf_cpumask_setall(d);
        break;
      case CM_CLEAR:
        bpf_cpumask_clear(d);
        break;
      case CM_AND:
        r = BOOL(bpf_cpumask_and(d, CM(x), CM(y)));
        break;
      case CM_OR:
        bpf_cpumask_or(d, CM(x), CM(y));
        break;
      case CM_XOR:
        bpf_cpumask_xor(d, CM(x), CM(y));
        break;
      case CM_EQUAL:
        r = BOOL(bpf_cpumask_equal(CM(x), CM(y)));
        break;
      case CM_INTERSECTS:
        r = BOOL(bpf_cpumask_intersects(CM(x), CM(y)));
        break;
      case CM_SUBSET:
        r = BOOL(bpf_cpumask_subset(CM(x), CM(y)));
        break;
      case CM_EMPTY:
        r = BOOL(bpf_cpumask_empty(CM(x)));
        break;
      case CM_FULL:
        r = BOOL(bpf_cpumask_full(CM(x)));
        break;
      case CM_COPY:
        bpf_cpumask_copy(d, CM(x));
        break;
      case CM_FIRST:
        r = bpf_cpumask_first(CM(x));
        break;
      case CM_FIRST_ZERO:
        r = bpf_cpumask_first_zero(CM(x));
        break;
      case CM_FIRST_AND:
        r = bpf_cpumask_first_and(CM(x), CM(y));
        break;
      case CM_WEIGHT:
        r = bpf_cpumask_weight(CM(x));
        break;
      case CM_ANY_DISTRIBUTE:
        r = bpf_cpumask_any_distribute(CM(x));
        break;
      case CM_ANY_AND_DISTRIBUTE:
        r = bpf_cpumask_any_and_distribute(CM(x), CM(y));
        break;
      case CM_ACQUIRE_RELEASE: {
        struct bpf_cpumask *t = bpf_cpumask_acquire(x);
        r = t == x;
        bpf_cpumask_release(t);
        break;
      }
      case CM_POPULATE:
        if (cpu == 4)
          r = bpf_cpumask_populate((struct cpumask *)d, s->src, 4);
        else if (cpu == 7)
          r = bpf_cpumask_populate((struct cpumask *)d, s->src, 7);
        else if (cpu == 8)
          r = bpf_cpumask_populate((struct cpumask *)d, s->src, 8);
        else
          r = bpf_cpumask_populate((struct cpumask *)d, s->src, 16);
        break;
      default:
        r = -1000;
    }
    out->r[i] = r;
  }
  bpf_cpumask_release(a);
  bpf_cpumask_release(b);
  bpf_cpumask_release(c);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
