// SPDX-License-Identifier: Apache-2.0
// The userspace side of events.bpf.c, through its libbpf skeleton: loads the
// object with `min_nr`, runs the program once per syscall number in `nrs`
// (BPF_PROG_TEST_RUN), then drains the ring buffer into `cb`.
#ifndef CONSUMER_H_
#define CONSUMER_H_

#include <linux/types.h>

#include "events.h"

typedef void (*event_cb)(const struct event *e, void *arg);

// Returns 0 or a negative errno. *count_of_first gets the counts map's value
// for nrs[0] after the runs.
int run_and_consume(__u32 min_nr, const __u32 *nrs, int n, event_cb cb,
                    void *arg, __u64 *count_of_first);

#endif  // CONSUMER_H_
