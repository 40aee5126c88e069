/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The part every step shares in the step loops of task_work.bpf.c and
 * wq.bpf.c: syscall programs that run up to 8 ops on elements of an ARRAY
 * or a HASH map whose values are the includer's `struct elem`, recording
 * each op's return.
 */
#ifndef BPFEMU_EXAMPLES_ELEM_STEPS_H_
#define BPFEMU_EXAMPLES_ELEM_STEPS_H_

#include <bpf/bpf_helpers.h>

/*
 * Inside the loop, for an op OP on the element at KEY of MAP: op 0 ends
 * the loop; op INSERT_OP inserts a zeroed element at KEY (BPF_NOEXIST),
 * records the update's return in RET and goes to the next step; any other
 * op sets E to the element, or records -1000 and goes to the next step
 * when there is none.
 */
#define ELEM_STEP(MAP, OP, INSERT_OP, KEY, RET, E)                      \
  if ((OP) == 0) break;                                                 \
  if ((OP) == (INSERT_OP)) {                                            \
    struct elem zero_elem = {};                                         \
    (RET) = bpf_map_update_elem(&MAP, &(KEY), &zero_elem, BPF_NOEXIST); \
    continue;                                                           \
  }                                                                     \
  (E) = bpf_map_lookup_elem(&MAP, &(KEY));                              \
  if (!(E)) {                                                           \
    (RET) = -1000;                                                      \
    continue;                                                           \
  }

#endif /* BPFEMU_EXAMPLES_ELEM_STEPS_H_ */
