// SPDX-License-Identifier: Apache-2.0
// The native face of the css iterators (kfuncB47: kernel/bpf/cgroup_iter.c
// bpf_iter_css_*, kernel/bpf/task_iter.c bpf_iter_css_task_*): a natively
// built program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work is emu/css_iter_kfuncs.h's.

#include "emu/css_iter_kfuncs.h"

extern "C" {

struct bpf_iter_css;
struct bpf_iter_css_task;
struct cgroup_subsys_state;
struct task_struct;

int bpf_iter_css_new(struct bpf_iter_css* it, struct cgroup_subsys_state* start,
                     unsigned int flags) {
  return bpfemu::IterCssNew(it, start, flags);
}

struct cgroup_subsys_state* bpf_iter_css_next(struct bpf_iter_css* it) {
  return static_cast<struct cgroup_subsys_state*>(bpfemu::IterCssNext(it));
}

void bpf_iter_css_destroy(struct bpf_iter_css* it) { (void)it; }

int bpf_iter_css_task_new(struct bpf_iter_css_task* it,
                          struct cgroup_subsys_state* css, unsigned int flags) {
  return bpfemu::IterCssTaskNew(it, css, flags);
}

struct task_struct* bpf_iter_css_task_next(struct bpf_iter_css_task* it) {
  return static_cast<struct task_struct*>(
      const_cast<void*>(bpfemu::IterCssTaskNext(it)));
}

void bpf_iter_css_task_destroy(struct bpf_iter_css_task* it) {
  bpfemu::IterCssTaskDestroy(it);
}

}  // extern "C"
