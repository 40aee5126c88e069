// SPDX-License-Identifier: Apache-2.0
#include "consumer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include "events.skel.h"

struct sink {
  event_cb cb;
  void *arg;
};

static int on_record(void *ctx, void *data, size_t size) {
  struct sink *s = ctx;
  if (size < sizeof(struct event)) return -EINVAL;
  s->cb(data, s->arg);
  return 0;
}

int run_and_consume(__u32 min_nr, const __u32 *nrs, int n, event_cb cb,
                    void *arg, __u64 *count_of_first) {
  struct events_bpf *skel = events_bpf__open();
  if (!skel) return -errno;
  skel->rodata->min_nr = min_nr;
  int err = events_bpf__load(skel);
  if (err) goto out;
  struct sink s = {cb, arg};
  struct ring_buffer *rb =
      ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &s, NULL);
  if (!rb) {
    err = -errno;
    goto out;
  }
  for (int i = 0; i < n && !err; i++) {
    __u64 args[2] = {0, nrs[i]};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args,
                .ctx_size_in = sizeof(args));
    err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.handle), &opts);
    if (!err && opts.retval != 0) err = -ENOSPC;
  }
  if (!err) {
    int got = ring_buffer__poll(rb, 100);
    if (got < 0) err = got;
  }
  if (!err && n > 0 && count_of_first) {
    err = bpf_map__lookup_elem(skel->maps.counts, &nrs[0], sizeof(nrs[0]),
                               count_of_first, sizeof(*count_of_first), 0);
  }
  ring_buffer__free(rb);
out:
  events_bpf__destroy(skel);
  return err;
}
