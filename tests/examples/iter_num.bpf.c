// SPDX-License-Identifier: GPL-2.0
// Example: the open-coded number iterator (issue 24's first kfuncs,
// kernel/bpf/bpf_iter.c bpf_iter_num_new / _next / _destroy). `sum_ranges`
// (tc) walks the `ranges` map with an iterator of its own and, for each
// range [start, end), sums and counts its values with bpf_for(), records
// what bpf_iter_num_new() answers (0, -EINVAL for start > end, -E2BIG past
// BPF_MAX_LOOPS), then bpf_repeat() counts to `repeat_n`. The kfuncs are
// `extern ... __ksym`: libbpf (or bpfemu's loader) resolves them against
// the kernel's BTF; the native build links bpfemu's definitions.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// include/uapi/linux/bpf.h (6.4+), absent from older uapi headers: the
// iterator's 8 opaque bytes on the program's stack.
struct bpf_iter_num {
  __u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

// bpf_for(i, start, end): i takes start .. end - 1. One iterator per loop,
// created in the for's init clause and destroyed when it goes out of scope
// (the cleanup attribute), so every path out of the loop destroys it as the
// verifier demands. Each step asks bpf_iter_num_next() for the next value
// and re-checks it against the bounds so the verifier knows i's range.
// (The kernel's selftests define the same macros in bpf_experimental.h.)
#define ITER_NUM_LOOP_VAR(name) \
  struct bpf_iter_num name      \
      __attribute__((aligned(8), cleanup(bpf_iter_num_destroy)))

#define bpf_for(i, start, end)                                                \
  for (ITER_NUM_LOOP_VAR(it__), *init__ __attribute__((unused)) =             \
                                    (bpf_iter_num_new(&it__, (start), (end)), \
                                     (void)bpf_iter_num_destroy, (void *)0);  \
       ({                                                                     \
         int *cur__ = bpf_iter_num_next(&it__);                               \
         cur__ && ((i) = *cur__, (i) >= (start) && (i) < (end));              \
       });)

// bpf_repeat(n): the body n times.
#define bpf_repeat(n)                                                        \
  for (ITER_NUM_LOOP_VAR(it__), *init__ __attribute__((unused)) =            \
                                    (bpf_iter_num_new(&it__, 0, (n)),        \
                                     (void)bpf_iter_num_destroy, (void *)0); \
       bpf_iter_num_next(&it__);)

#define NR_RANGES 8

struct range {
  __s32 start;
  __s32 end;
};

struct result {
  __s64 sum;
  __u32 count;
  __s32 new_ret;  // bpf_iter_num_new(start, end)
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_RANGES);
  __type(key, __u32);
  __type(value, struct range);
} ranges SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_RANGES);
  __type(key, __u32);
  __type(value, struct result);
} results SEC(".maps");

// [0]: how many times bpf_repeat() runs; [1]: how many times it ran.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} repeat SEC(".maps");

SEC("tc")
int sum_ranges(struct __sk_buff *skb) {
  int k;
  bpf_for(k, 0, NR_RANGES) {
    __u32 key = k;
    struct range *r = bpf_map_lookup_elem(&ranges, &key);
    struct result *res = bpf_map_lookup_elem(&results, &key);
    if (!r || !res) break;
    const int start = r->start, end = r->end;
    __s64 sum = 0;
    __u32 count = 0;
    int i;
    bpf_for(i, start, end) {
      sum += i;
      count++;
    }
    res->sum = sum;
    res->count = count;
    struct bpf_iter_num probe;
    res->new_ret = bpf_iter_num_new(&probe, start, end);
    bpf_iter_num_destroy(&probe);
  }
  __u32 zero = 0, one = 1;
  __u32 *n = bpf_map_lookup_elem(&repeat, &zero);
  __u32 *ran = bpf_map_lookup_elem(&repeat, &one);
  if (n && ran) {
    __u32 times = 0;
    bpf_repeat(*n) times++;
    *ran = times;
  }
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
