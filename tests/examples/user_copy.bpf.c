// SPDX-License-Identifier: GPL-2.0
// Example: the kfuncs that copy user or kernel memory (Linux 6.18,
// kernel/trace/bpf_trace.c bpf_probe_read_{user,kernel}{,_str}_dynptr,
// bpf_copy_from_user{,_str}_dynptr, bpf_copy_from_user_task{,_str}_dynptr;
// kernel/bpf/helpers.c bpf_copy_from_user_str, bpf_copy_from_user_task_str)
// from a sleepable syscall program. The context names the kfunc, the
// source (a user address the test passes, or the `srcs` map value: kernel
// memory), the dynptr (over the `res` buffer, cut to `dsize` bytes, or a
// null one), the offset, the size and the flags; the program writes the
// return value and leaves the buffer in `res`.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

// A stand-in: libbpf matches the kfuncs' task_struct by name and kind.
struct task_struct {
  int pid;
};

extern int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                      __u32 size,
                                      const void *unsafe_ptr__ign) __ksym;
extern int bpf_probe_read_kernel_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                        __u32 size,
                                        const void *unsafe_ptr__ign) __ksym;
extern int bpf_probe_read_user_str_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                          __u32 size,
                                          const void *unsafe_ptr__ign) __ksym;
extern int bpf_probe_read_kernel_str_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                            __u32 size,
                                            const void *unsafe_ptr__ign) __ksym;
extern int bpf_copy_from_user_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                     __u32 size,
                                     const void *unsafe_ptr__ign) __ksym;
extern int bpf_copy_from_user_str_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                         __u32 size,
                                         const void *unsafe_ptr__ign) __ksym;
extern int bpf_copy_from_user_task_dynptr(struct bpf_dynptr *dptr, __u32 off,
                                          __u32 size,
                                          const void *unsafe_ptr__ign,
                                          struct task_struct *tsk) __ksym;
extern int bpf_copy_from_user_task_str_dynptr(struct bpf_dynptr *dptr,
                                              __u32 off, __u32 size,
                                              const void *unsafe_ptr__ign,
                                              struct task_struct *tsk) __ksym;
extern int bpf_copy_from_user_str(void *dst, __u32 dst__sz,
                                  const void *unsafe_ptr__ign,
                                  __u64 flags) __ksym;
extern int bpf_copy_from_user_task_str(void *dst, __u32 dst__sz,
                                       const void *unsafe_ptr__ign,
                                       struct task_struct *tsk,
                                       __u64 flags) __ksym;

#define BUF_LEN 320

enum copy_op {
  OP_PROBE_USER,
  OP_PROBE_KERNEL,
  OP_PROBE_USER_STR,
  OP_PROBE_KERNEL_STR,
  OP_COPY_USER,
  OP_COPY_USER_STR,
  OP_COPY_TASK,
  OP_COPY_TASK_STR,
  OP_USER_STR,       // bpf_copy_from_user_str into the buffer
  OP_USER_TASK_STR,  // bpf_copy_from_user_task_str into the buffer
};

enum src_kind {
  SRC_USER,  // ctx->uptr
  SRC_MAP,   // the `srcs` map value
};

struct copy_args {
  __u64 uptr;
  __u64 flags;
  __u32 op;
  __u32 src;
  __u32 null_dynptr;
  __u32 dsize;  // the dynptr's size (at most BUF_LEN)
  __u32 off;
  __u32 size;
};

struct result {
  __s64 ret;
  __u8 buf[BUF_LEN];
};

struct source {
  char s[BUF_LEN];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct result);
} res SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct source);
} srcs SEC(".maps");

SEC("syscall")
int user_copy(struct copy_args *ctx) {
  __u32 zero = 0;
  struct result *r = bpf_map_lookup_elem(&res, &zero);
  struct source *ks = bpf_map_lookup_elem(&srcs, &zero);
  if (!r || !ks) return 2;
  const void *src =
      ctx->src == SRC_MAP ? (const void *)ks->s : (const void *)ctx->uptr;
  struct task_struct *task = bpf_get_current_task_btf();
  __u32 dsize = ctx->dsize;
  if (dsize > BUF_LEN) dsize = BUF_LEN;
  __u32 size = ctx->size, off = ctx->off;
  struct bpf_dynptr d;
  bpf_dynptr_from_mem(r->buf, dsize, ctx->null_dynptr ? 1 : 0, &d);
  long ret = -1000;
  switch (ctx->op) {
    case OP_PROBE_USER:
      ret = bpf_probe_read_user_dynptr(&d, off, size, src);
      break;
    case OP_PROBE_KERNEL:
      ret = bpf_probe_read_kernel_dynptr(&d, off, size, src);
      break;
    case OP_PROBE_USER_STR:
      ret = bpf_probe_read_user_str_dynptr(&d, off, size, src);
      break;
    case OP_PROBE_KERNEL_STR:
      ret = bpf_probe_read_kernel_str_dynptr(&d, off, size, src);
      break;
    case OP_COPY_USER:
      ret = bpf_copy_from_user_dynptr(&d, off, size, src);
      break;
    case OP_COPY_USER_STR:
      ret = bpf_copy_from_user_str_dynptr(&d, off, size, src);
      break;
    case OP_COPY_TASK:
      ret = bpf_copy_from_user_task_dynptr(&d, off, size, src, task);
      break;
    case OP_COPY_TASK_STR:
      ret = bpf_copy_from_user_task_str_dynptr(&d, off, size, src, task);
      break;
    case OP_USER_STR:
      ret = bpf_copy_from_user_str(r->buf, dsize, src, ctx->flags);
      break;
    case OP_USER_TASK_STR:
      ret = bpf_copy_from_user_task_str(r->buf, dsize, src, task, ctx->flags);
      break;
  }
  r->ret = ret;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
