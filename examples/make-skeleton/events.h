// SPDX-License-Identifier: Apache-2.0
// The record events.bpf.c writes into its ring buffer.
#ifndef EVENTS_H_
#define EVENTS_H_

struct event {
  __u32 seq;
  __u32 nr;
};

#endif  // EVENTS_H_
