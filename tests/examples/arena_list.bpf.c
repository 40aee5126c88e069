// SPDX-License-Identifier: GPL-2.0
// Example: a list in an ARENA, shared with userspace. list_add takes a
// zeroed page of the arena with the bpf_arena_alloc_pages kfunc and links
// 64 nodes from it onto the list whose head is in .bss; list_drain sums
// the list and frees its pages. Node links are arena pointers (`__arena`,
// address space 1): their value is the node's user address, so a process that
// mapped the arena walks the same list through its own mapping. clang (18 and
// later) casts them to the kernel's 32-bit arena offset (addr_space_cast)
// before each access. Built with clang-19 (loader/defs.bzl bpf_compiler).
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#ifndef __arena
#define __arena __attribute__((address_space(1)))
#endif

#define ARENA_MAP_TYPE 33 /* BPF_MAP_TYPE_ARENA: newer than 6.1's UAPI */
#define NODES_PER_PAGE 64

struct {
  __uint(type, ARENA_MAP_TYPE);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 16); /* pages */
} arena SEC(".maps");

struct node {
  struct node __arena *next;
  __u64 value;
};

struct node __arena *head;
__u64 added;
__u64 sum;

extern void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr,
                                           __u32 page_cnt, int node_id,
                                           __u64 flags) __ksym;
extern void bpf_arena_free_pages(void *map, void __arena *ptr,
                                 __u32 page_cnt) __ksym;

SEC("syscall")
int list_add(void *ctx) {
  struct node __arena *page = bpf_arena_alloc_pages(&arena, NULL, 1, -1, 0);
  if (!page) return 1;
  for (int i = 0; i < NODES_PER_PAGE; i++) {
    struct node __arena *n = page + i;
    n->value = i * 3 + 1;
    n->next = head;
    head = n;
    added++;
  }
  return 0;
}

// Walks the list, sums it, and frees each page once past its first node
// (the node at the page's start, linked last from that page). A program
// using addr_space_cast must name the arena (the verifier's "program that
// has an associated arena"): here through the free.
SEC("syscall")
int list_drain(void *ctx) {
  __u64 s = 0;
  struct node __arena *n = head;
  for (int i = 0; i < 1000 && n; i++) {
    struct node __arena *next = n->next;
    s += n->value;
    if (((unsigned long)n & 4095) == 0) bpf_arena_free_pages(&arena, n, 1);
    n = next;
  }
  head = NULL;
  sum = s;
  return 0;
}

char _license[] SEC("license") = "GPL";
