// SPDX-License-Identifier: GPL-2.0
// Example (kfy48, issue 24): the slab-cache and dma-buf kfuncs of 6.18
// (kernel/bpf/kmem_cache_iter.c bpf_iter_kmem_cache_*, mm/slab_common.c
// bpf_get_kmem_cache, kernel/bpf/dmabuf_iter.c bpf_iter_dmabuf_*) from
// sleepable syscall programs. The kernel's selftests kmem_cache_iter.c and
// dmabuf_iter.c walk them the same way.
//
// `caches` walks the slab caches (at most args->max), counting them and the
// ones whose name is empty, and records the first name and, for the cache
// named "task_struct", its position, size and object_size; then one more
// next after the end. The fields are read with bpf_probe_read_kernel at the
// offsets the test takes from the kernel's BTF (args), so that the native
// build reads them where the kernel's layout has them. It also asks
// bpf_get_kmem_cache for the current task (its cache's name) and for a
// stack address and 0 (NULL).
// `dmabufs` walks the dma-bufs, counting them and summing their sizes,
// then calls next once more (after the end the kernel's walk starts over).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// Opaque here; complete structs, as libbpf 1.1 does not match a forward
// declaration with the kernel's struct in a kfunc's prototype.
struct kmem_cache {
  int opaque;
} __attribute__((preserve_access_index));
struct dma_buf {
  int opaque;
} __attribute__((preserve_access_index));
struct task_struct;

struct bpf_iter_kmem_cache {
  __u64 __opaque[1];
} __attribute__((aligned(8)));

struct bpf_iter_dmabuf {
  __u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_kmem_cache_new(struct bpf_iter_kmem_cache *it) __ksym;
extern struct kmem_cache *bpf_iter_kmem_cache_next(
    struct bpf_iter_kmem_cache *it) __ksym;
extern void bpf_iter_kmem_cache_destroy(struct bpf_iter_kmem_cache *it) __ksym;
extern struct kmem_cache *bpf_get_kmem_cache(__u64 addr) __ksym;
extern int bpf_iter_dmabuf_new(struct bpf_iter_dmabuf *it) __ksym;
extern struct dma_buf *bpf_iter_dmabuf_next(struct bpf_iter_dmabuf *it) __ksym;
extern void bpf_iter_dmabuf_destroy(struct bpf_iter_dmabuf *it) __ksym;

struct args {
  __u32 name_off, size_off, object_size_off;
  __u32 max;
  __u32 dmabuf_size_off;
};

struct out {
  __s64 new_ret;
  __u64 count;
  __u64 empty_names;
  __s64 task_index;
  __u64 task_size, task_object_size;
  __u64 after_end_null;
  __u64 task_cache_found;
  __u64 stack_cache_null, zero_cache_null;
  __u64 dmabuf_count, dmabuf_bytes;
  __u64 dmabuf_restart_nonnull;
  __s64 dmabuf_new_ret;
  char first_name[32];
  char task_cache_name[32];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct out);
} res SEC(".maps");

// A pointer as a number: stored and read back through the map, so that
// the verifier takes it as a scalar the probe reads may add offsets to.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} scratch SEC(".maps");

static __always_inline __u64 as_number(const void *p) {
  __u32 zero = 0;
  __u64 *s = bpf_map_lookup_elem(&scratch, &zero);
  if (!s) return 0;
  *(volatile __u64 *)s = (__u64)p;
  return *(volatile __u64 *)s;
}

static __always_inline __u64 read_u64(__u64 addr) {
  __u64 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), (const void *)addr);
  return v;
}

static __always_inline __u32 read_u32(__u64 addr) {
  __u32 v = 0;
  bpf_probe_read_kernel(&v, sizeof(v), (const void *)addr);
  return v;
}

// Whether `name` is "task_struct" (its NUL included).
static __always_inline int is_task_struct(const char *name) {
  const char want[12] = "task_struct";
  int same = 1;
#ifdef __clang__
#pragma unroll
#endif
  for (int i = 0; i < 12; i++) same &= name[i] == want[i];
  return same;
}

SEC("syscall")
int caches(struct args *a) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  const __u32 name_off = a->name_off, size_off = a->size_off,
              object_size_off = a->object_size_off, max = a->max;
  struct bpf_iter_kmem_cache it;
  struct kmem_cache *s;
  o->task_index = -1;
  o->new_ret = bpf_iter_kmem_cache_new(&it);
  while ((s = bpf_iter_kmem_cache_next(&it))) {
    const __u64 base = as_number(s);
    char name[32] = {};
    const __u64 name_p = read_u64(base + (name_off & 0xfff));
    bpf_probe_read_kernel_str(name, sizeof(name), (const void *)name_p);
    if (name[0] == 0) o->empty_names++;
    if (o->count == 0) __builtin_memcpy(o->first_name, name, sizeof(name));
    if (is_task_struct(name)) {
      o->task_index = o->count;
      o->task_size = read_u32(base + (size_off & 0xfff));
      o->task_object_size = read_u32(base + (object_size_off & 0xfff));
    }
    o->count++;
    if (o->count >= max) break;
  }
  if (o->count < max) o->after_end_null = bpf_iter_kmem_cache_next(&it) == 0;
  bpf_iter_kmem_cache_destroy(&it);

  struct task_struct *t = bpf_get_current_task_btf();
  struct kmem_cache *tc = bpf_get_kmem_cache(as_number(t));
  if (tc) {
    o->task_cache_found = 1;
    const __u64 name_p = read_u64(as_number(tc) + (name_off & 0xfff));
    bpf_probe_read_kernel_str(o->task_cache_name, sizeof(o->task_cache_name),
                              (const void *)name_p);
  }
  __u64 on_stack = 0;
  o->stack_cache_null = bpf_get_kmem_cache(as_number(&on_stack)) == 0;
  o->zero_cache_null = bpf_get_kmem_cache(0) == 0;
  return 0;
}

SEC("syscall")
int dmabufs(struct args *a) {
  __u32 zero = 0;
  struct out *o = bpf_map_lookup_elem(&res, &zero);
  if (!o) return 1;
  const __u32 size_off = a->dmabuf_size_off, max = a->max;
  struct bpf_iter_dmabuf it;
  struct dma_buf *d;
  o->dmabuf_new_ret = bpf_iter_dmabuf_new(&it);
  while ((d = bpf_iter_dmabuf_next(&it))) {
    o->dmabuf_bytes += read_u64(as_number(d) + (size_off & 0xfff));
    o->dmabuf_count++;
    if (o->dmabuf_count >= max) break;
  }
  if (o->dmabuf_count < max) {
    o->dmabuf_restart_nonnull = bpf_iter_dmabuf_next(&it) != 0;
  }
  bpf_iter_dmabuf_destroy(&it);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
