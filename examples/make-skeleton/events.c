// SPDX-License-Identifier: Apache-2.0
// events NR...: runs events.bpf.c once per syscall number and prints the
// ring buffer's records, as a libbpf-bootstrap style tool would.
#include <stdio.h>
#include <stdlib.h>

#include "consumer.h"

static void print_event(const struct event *e, void *arg) {
  (void)arg;
  printf("event seq=%u nr=%u\n", e->seq, e->nr);
}

int main(int argc, char **argv) {
  __u32 nrs[64];
  int n = 0;
  for (int i = 1; i < argc && n < 64; i++) nrs[n++] = strtoul(argv[i], 0, 0);
  __u64 first = 0;
  int err = run_and_consume(0, nrs, n, print_event, NULL, &first);
  if (err) {
    fprintf(stderr, "events: %d\n", err);
    return 1;
  }
  return 0;
}
