// SPDX-License-Identifier: GPL-2.0
// A per-socket counter in SK_STORAGE, from a tc program: the packet's socket
// (skb->sk) gets its element on first use (BPF_SK_STORAGE_GET_F_CREATE),
// counts the packet and the bytes it saw, and the program returns what it
// found. Under BPF_PROG_TEST_RUN the socket is the run's own (sk_alloc in
// net/bpf/test_run.c), freed after the run with its storage, so every run
// starts from an empty element; the return value tells the steps apart.
#include <linux/bpf.h>
#include <linux/errno.h>

#include <bpf/bpf_helpers.h>

struct sk_count {
  __u32 packets;
  __u32 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct sk_count);
} sk_counts SEC(".maps");

SEC("tc")
int count_sk(struct __sk_buff *skb) {
  struct bpf_sock *sk = skb->sk;
  if (!sk) return 1;
  // Not there yet: without the flag, nothing is made.
  if (bpf_sk_storage_get(&sk_counts, sk, 0, 0)) return 2;
  struct sk_count init = {.packets = 0, .bytes = 100};
  struct sk_count *c =
      bpf_sk_storage_get(&sk_counts, sk, &init, BPF_SK_STORAGE_GET_F_CREATE);
  if (!c) return 3;
  c->packets++;
  c->bytes += skb->len;
  // The same element again.
  struct sk_count *again = bpf_sk_storage_get(&sk_counts, sk, 0, 0);
  if (again != c) return 4;
  // An unknown flag finds nothing.
  if (bpf_sk_storage_get(&sk_counts, sk, 0, 2)) return 5;
  const __u32 bytes = c->bytes;
  if (bpf_sk_storage_delete(&sk_counts, sk) != 0) return 6;
  if (bpf_sk_storage_delete(&sk_counts, sk) != -ENOENT) return 7;
  return bytes;
}

// Counts without deleting: the run's socket is new each run, so the count
// it returns is always 1.
SEC("tc")
int count_only(struct __sk_buff *skb) {
  struct bpf_sock *sk = skb->sk;
  if (!sk) return 0;
  struct sk_count *c =
      bpf_sk_storage_get(&sk_counts, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
  if (!c) return 0;
  return ++c->packets;
}

char LICENSE[] SEC("license") = "GPL";
