// SPDX-License-Identifier: Apache-2.0
// A program using the libbpf skeleton that `bpftool gen skeleton` made for
// globals.bpf.o, unaware of bpfemu: it configures .rodata before load, runs
// the program through bpf_prog_test_run_opts and reads the globals through
// the skeleton's views. Built with -lbpf (kernel, root) and with libbpfemu
// (bytecode interpreter, no privileges), it prints the same text.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "tests/skeleton/globals.skel.h"

static void run(struct globals_bpf *skel, __u64 arg) {
  __u64 ctx[2] = {0, arg};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx,
              .ctx_size_in = sizeof(ctx));
  int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.count), &opts);
  printf("run arg %-3llu -> err %d retval %u\n", (unsigned long long)arg, err,
         opts.retval);
}

int main(void) {
  /* The task's comm and CPU are inputs of the program's helpers. */
  prctl(PR_SET_NAME, "skel");
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof(one), &one);

  struct globals_bpf *skel = globals_bpf__open();
  if (!skel) {
    printf("open failed: errno %d\n", errno);
    return 1;
  }
  printf("before load: scale %u calls %llu\n", skel->rodata->scale,
         (unsigned long long)skel->data->calls);
  printf("map names: %s %s %s %s\n", bpf_map__name(skel->maps.by_arg),
         bpf_map__name(skel->maps.rodata), bpf_map__name(skel->maps.bss),
         bpf_map__name(skel->maps.data));
  skel->rodata->scale = 5;
  skel->data->calls = 100;
  printf("load -> %d\n", globals_bpf__load(skel));
  const __u64 args[] = {1, 2, 3, 6, 6, 40, 95, 7};
  for (unsigned i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
    run(skel, args[i]);
  }
  printf("after runs: total %llu calls %llu comm \"%s\"\n",
         (unsigned long long)skel->bss->total,
         (unsigned long long)skel->data->calls, skel->bss->last_comm);
  /* Userspace writes through the view; the program sees them. */
  skel->bss->total = 1000;
  skel->data->calls = 0;
  run(skel, 2);
  printf("after reset: total %llu calls %llu\n",
         (unsigned long long)skel->bss->total,
         (unsigned long long)skel->data->calls);
  int fd = bpf_map__fd(skel->maps.by_arg);
  for (__u32 k = 0; k < 100; k++) {
    __u64 v;
    if (bpf_map_lookup_elem(fd, &k, &v) == 0) {
      printf("by_arg[%u] = %llu\n", k, (unsigned long long)v);
    }
  }
  __u32 zero = 0;
  __u32 rodata_value = 0;
  int err =
      bpf_map_lookup_elem(bpf_map__fd(skel->maps.rodata), &zero, &rodata_value);
  printf("rodata map lookup -> %d, scale %u\n", err, rodata_value);
  globals_bpf__destroy(skel);
  return 0;
}
