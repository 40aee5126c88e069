// SPDX-License-Identifier: GPL-2.0
// The kernel types an iterator program's context points at, as
// map_iter.bpf.c and map_elem_iter.bpf.c read them: local definitions with
// preserve_access_index, relocated against the kernel's BTF (CO-RE).
#ifndef BPFEMU_TESTS_EXAMPLES_ITER_TYPES_H_
#define BPFEMU_TESTS_EXAMPLES_ITER_TYPES_H_

#include <linux/bpf.h>

#define PAI __attribute__((preserve_access_index))

struct seq_file;
struct bpf_iter_meta {
  struct seq_file *seq;
  __u64 session_id;
  __u64 seq_num;
} PAI;
// The members of struct bpf_map the programs read.
struct bpf_map {
  enum bpf_map_type map_type;
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
  __u32 map_flags;
  __u32 id;
  char name[16];
} PAI;

#endif  // BPFEMU_TESTS_EXAMPLES_ITER_TYPES_H_
