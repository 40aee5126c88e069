// SPDX-License-Identifier: Apache-2.0
// The test: events below min_nr are counted but not sent; the rest arrive in
// order with their sequence numbers.
#include <stdio.h>

#include "consumer.h"

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
      return 1;                                                             \
    }                                                                       \
  } while (0)

struct seen {
  int n;
  struct event ev[16];
};

static void collect(const struct event *e, void *arg) {
  struct seen *s = arg;
  if (s->n < 16) s->ev[s->n++] = *e;
}

int main(void) {
  const __u32 nrs[] = {59, 1, 59, 0, 231, 59};
  struct seen s = {0};
  __u64 count59 = 0;
  int err = run_and_consume(2, nrs, 6, collect, &s, &count59);
  CHECK(err == 0);
  CHECK(count59 == 3);
  CHECK(s.n == 4);  // 59, 59, 231, 59: 1 and 0 are below min_nr
  const __u32 want[] = {59, 59, 231, 59};
  for (int i = 0; i < 4; i++) {
    CHECK(s.ev[i].seq == (__u32)i);
    CHECK(s.ev[i].nr == want[i]);
  }
  printf("PASS test_events: %d events, count[59] = %llu\n", s.n,
         (unsigned long long)count59);
  return 0;
}
