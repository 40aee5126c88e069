// SPDX-License-Identifier: GPL-2.0
// Example: a BPF iterator over every map (SEC("iter/bpf_map"); issues 22
// and 24: kernel/bpf/map_iter.c). For each map whose id the test wrote
// into `args.ids`, it prints the map's slot there, name, type, sizes,
// flags and bpf_map_sum_elem_count() with bpf_seq_printf; after the last map
// (the call with a NULL map) it prints how many it matched with
// bpf_seq_printf, fills its own hash table `counted` and prints
// bpf_map_sum_elem_count(&counted) (a map pointer the program loaded), and
// ends with bpf_seq_write. A third shows a value with bpf_seq_printf_btf.
// Maps of other programs and
// processes are skipped, so the text is the same on any machine.
// Loaded by real libbpf on the kernel and by bpfemu's loader as bytecode
// (native_build = False: the struct reads are CO-RE relocated), read
// through bpf_iter_create's fd and compared (map_iter_compare_test.cc,
// map_iter_test.cc).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "iter_types.h"

struct bpf_iter__bpf_map {
  struct bpf_iter_meta *meta;
  struct bpf_map *map;
} PAI;

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

#define NR_IDS 6
// What the test sets (the only global: .bss offset 0, struct MapIterArgs
// in map_iter_cases.h) and what the programs count.
struct {
  __u32 ids[NR_IDS];
  __u32 matched;         // maps dump_maps printed
  __u32 chunks[NR_IDS];  // write_chunks: 256-byte chunks per map
  __s64 first_err;       // write_chunks: the first refused write
  __u32 btf_ids[2];      // show_btf: kernel BTF ids of two structs
  __s64 btf_rets[8];     // show_btf: what each bpf_seq_printf_btf returned
} args;

// A hash table the program fills itself, counted through its map pointer
// (a CONST_PTR_TO_MAP is a trusted struct bpf_map argument).
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} counted SEC(".maps");

SEC("iter/bpf_map")
int dump_maps(struct bpf_iter__bpf_map *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct bpf_map *map = ctx->map;
  static const char done[] = "done\n";

  if (map == NULL) {
    static const char fmt[] = "matched %u maps\n";
    __u64 data[1] = {args.matched};

    bpf_seq_printf(seq, fmt, sizeof(fmt), data, sizeof(data));
    for (__u32 k = 1; k <= 3; k++) bpf_map_update_elem(&counted, &k, &k, 0);
    BPF_SEQ_PRINTF(seq, "counted %lld\n",
                   bpf_map_sum_elem_count((const struct bpf_map *)&counted));
    bpf_seq_write(seq, done, sizeof(done) - 1);
    return 0;
  }
  for (int i = 0; i < NR_IDS; i++) {
    if (args.ids[i] == 0 || map->id != args.ids[i]) continue;
    args.matched++;
    BPF_SEQ_PRINTF(seq, "map[%d] %s type=%u key=%u value=%u max=%u", i,
                   map->name, map->map_type, map->key_size, map->value_size,
                   map->max_entries);
    BPF_SEQ_PRINTF(seq, " flags=%x elems=%lld\n", map->map_flags,
                   bpf_map_sum_elem_count(map));
    break;
  }
  return 0;
}

// The second program: each matched map writes `chunks` 256-byte chunks
// of its slot's letter with bpf_seq_write, through the iterator's 32 KiB
// buffer (a map that overflows a buffer holding earlier maps' text is
// shown again in a fresh one; one that overflows an empty buffer ends the
// output); the first refused write's return is kept in `first_err`.
SEC("iter/bpf_map")
int write_chunks(struct bpf_iter__bpf_map *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  struct bpf_map *map = ctx->map;
  char chunk[256];

  if (map == NULL) {
    BPF_SEQ_PRINTF(seq, "end\n");
    return 0;
  }
  for (int i = 0; i < NR_IDS; i++) {
    if (args.ids[i] == 0 || map->id != args.ids[i]) continue;
    __builtin_memset(chunk, 'a' + i, sizeof(chunk));
    for (int j = 0; j < 160; j++) {
      if (j >= args.chunks[i]) break;
      long r = bpf_seq_write(seq, chunk, sizeof(chunk));
      if (r != 0 && args.first_err == 0) args.first_err = r;
    }
    break;
  }
  return 0;
}

// The third program: after the last map, a value of the program's own
// shown by two kernel struct types with bpf_seq_printf_btf (every flag
// class; raw pointers so the text is the same anywhere), then its refusals:
// flags beyond BTF_F_ALL, a btf_ptr size other than 16, type id 0, an id
// past the kernel's types, a user-half address to show.
SEC("iter/bpf_map")
int show_btf(struct bpf_iter__bpf_map *ctx) {
  struct seq_file *seq = ctx->meta->seq;
  __u8 data[64];
  struct btf_ptr p = {};

  if (ctx->map != NULL) return 0;
  for (int i = 0; i < sizeof(data); i++) data[i] = (__u8)(i * 7 + 1);
  p.ptr = data;
  p.type_id = args.btf_ids[0];
  args.btf_rets[0] = bpf_seq_printf_btf(seq, &p, sizeof(p), 0);
  args.btf_rets[1] = bpf_seq_printf_btf(
      seq, &p, sizeof(p), BTF_F_COMPACT | BTF_F_NONAME | BTF_F_ZERO);
  p.type_id = args.btf_ids[1];
  args.btf_rets[2] =
      bpf_seq_printf_btf(seq, &p, sizeof(p), BTF_F_PTR_RAW | BTF_F_COMPACT);
  args.btf_rets[3] = bpf_seq_printf_btf(seq, &p, sizeof(p), 1 << 4);
  args.btf_rets[4] = bpf_seq_printf_btf(seq, &p, sizeof(p) - 1, 0);
  p.type_id = 0;
  args.btf_rets[5] = bpf_seq_printf_btf(seq, &p, sizeof(p), 0);
  p.type_id = 0x7ffffff;
  args.btf_rets[6] = bpf_seq_printf_btf(seq, &p, sizeof(p), 0);
  p.type_id = args.btf_ids[0];
  p.ptr = (void *)0x10000;
  args.btf_rets[7] = bpf_seq_printf_btf(seq, &p, sizeof(p), 0);
  BPF_SEQ_PRINTF(seq, "\nshown\n");
  return 0;
}

char _license[] SEC("license") = "GPL";
