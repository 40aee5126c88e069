// SPDX-License-Identifier: Apache-2.0
// A libbpf-bootstrap style program, built with plain `cc ... -lbpf` against
// a skeleton from `bpftool gen skeleton`: libbpf_set_print, open, a
// .rodata setting before load, bpf_map__update_elem, a ring buffer
// consumer, test runs in place of an attached hook, and .bss counters read
// through the skeleton. Its output is the same on real libbpf with the
// kernel and on libbpfemu substituted for libbpf.so.1
// (tests/dropin/bootstrap_expected.txt).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "bootstrap.skel.h"

struct event {
  __u32 seq;
  __u32 arg;
  __u64 scaled;
};

static int warnings;

static int print_fn(enum libbpf_print_level level, const char *fmt,
                    va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  warnings++;
  return vfprintf(stderr, fmt, args);
}

static int handle_event(void *ctx, void *data, size_t size) {
  const struct event *e = data;
  (void)ctx;
  printf("event seq %u arg %u scaled %llu (%zu bytes)\n", e->seq, e->arg,
         (unsigned long long)e->scaled, size);
  return 0;
}

int main(void) {
  libbpf_set_print(print_fn);
  struct bootstrap_bpf *skel = bootstrap_bpf__open();
  if (!skel) {
    printf("open failed: errno %d\n", errno);
    return 1;
  }
  skel->rodata->min_arg = 3;
  int err = bootstrap_bpf__load(skel);
  printf("load -> %d\n", err);
  if (err) return 1;
  for (__u32 k = 0; k < 8; k++) {
    __u64 f = 10 + k;
    err = bpf_map__update_elem(skel->maps.factors, &k, sizeof(k), &f, sizeof(f),
                               BPF_NOEXIST);
    if (err) printf("update %u -> %d\n", k, err);
  }
  __u32 k = 0;
  __u64 f = 0;
  printf(
      "update with a short value -> %d\n",
      bpf_map__update_elem(skel->maps.factors, &k, sizeof(k), &f, 4, BPF_ANY));
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events),
                                            handle_event, NULL, NULL);
  if (!rb) {
    printf("ring_buffer__new failed: errno %d\n", errno);
    return 1;
  }
  for (__u64 arg = 0; arg < 10; arg++) {
    __u64 ctx[2] = {arg * 3, 0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx,
                .ctx_size_in = sizeof(ctx));
    err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.handle), &opts);
    printf("run arg %llu -> %d retval %u\n", (unsigned long long)(arg * 3), err,
           opts.retval);
  }
  printf("poll -> %d\n", ring_buffer__poll(rb, 100));
  printf("poll again -> %d\n", ring_buffer__poll(rb, 0));
  printf("bss: seen %llu seq %u; rodata min_arg %u\n",
         (unsigned long long)skel->bss->seen, skel->bss->seq,
         skel->rodata->min_arg);
  printf("warnings printed: %d\n", warnings);
  ring_buffer__free(rb);
  bootstrap_bpf__destroy(skel);
  return 0;
}
