// SPDX-License-Identifier: GPL-2.0
// Example: an iterator over one map's elements (SEC("iter/bpf_map_elem");
// issues 22 and 24: kernel/bpf/map_iter.c, hashtab.c and arraymap.c's
// element walks), the map given at attach; 8-byte values. Each element's
// key and value are printed, then the value is raised by 100 in place (a
// per-CPU map's value is a copy, so its map keeps its values); the last
// call, with no element, prints the map's name and the last seq_num.
// Bytecode only (CO-RE reads), on bpfemu only: the 6.18 host refuses to
// load any bpf_map_elem iterator (EPERM; map_iter_compare_test
// HostKernel.MapElemIterators records it), so map_iter_test checks it
// against what the 6.12 source does.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "iter_types.h"

struct bpf_iter__bpf_map_elem {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
  void *key;
  void *value;
} PAI;

SEC("iter/bpf_map_elem")
int bump_elems(struct bpf_iter__bpf_map_elem *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  __u32 *key = ctx->key;
  __u64 *value = ctx->value;

  if (key == NULL || value == NULL) {
    BPF_SEQ_PRINTF(seq, "%s: end at seq_num %llu\n", ctx->map->name,
                   ctx->meta->seq_num);
    return 0;
  }
  BPF_SEQ_PRINTF(seq, "%u=%llu\n", *key, *value);
  *value += 100;
  return 0;
}

char _license[] SEC("license") = "GPL";
