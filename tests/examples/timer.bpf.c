// SPDX-License-Identifier: GPL-2.0
// Example: BPF timers (kernel/bpf/helpers.c bpf_timer_init, _set_callback,
// _start, _cancel) in an array and a hash. `timers` (tc) runs in two
// phases, chosen by `phase[0]`, and records every helper's return in
// `rets`; the callbacks count their runs in the element's value (`count`,
// the key they got in `last_key`).
//   phase 0: the errnos before init, for bad clocks and flags, a second
//     init (-EBUSY), a start without callback; arr[0] and arr[1] fire once
//     (arr[1] after a cancel that dropped its callback and a new one),
//     arr[2] re-arms itself twice and cannot cancel itself (-EDEADLK),
//     arr[3] is started at an absolute time, then re-armed pinned; hash
//     key 1 fires, key 2 is deleted while armed and key 3 replaced while
//     armed (neither fires; the new element's timer is not initialized).
//   phase 1 (after they fired): a fired timer is inactive (cancel: 0) and
//     still initialized (init: -EBUSY); that cancel dropped its callback
//     all the same (start: -EINVAL); an array update frees the element's
//     timer; arr[3] is armed for 10 s and must not fire.
// The test waits (the kernel: real time; bpfemu: AdvanceTimers) between
// and after the phases.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

// Clock ids (include/uapi/linux/time.h) and bpf_timer_start flags
// (BPF_F_TIMER_ABS 6.7, BPF_F_TIMER_CPU_PIN 6.8; newer than Debian 12's
// uapi header).
#define CLK_REALTIME 0
#define CLK_MONOTONIC 1
#define CLK_PROCESS_CPUTIME 2
#define CLK_BOOTTIME 7
#define TIMER_ABS 1
#define TIMER_CPU_PIN 2

#define MS 1000000ULL

struct elem {
  __u64 count;
  struct bpf_timer t;
  __s64 self_cancel;
  __u64 last_key;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct elem);
} hash SEC(".maps");

#define NR_RETS 48

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NR_RETS);
  __type(key, __u32);
  __type(value, __s64);
} rets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} phase SEC(".maps");

static void rec(__u32 slot, long ret) {
  __s64 *p = bpf_map_lookup_elem(&rets, &slot);
  if (p) *p = ret;
}

static int count_cb(void *map, __u32 *key, struct elem *v) {
  v->count++;
  v->last_key = *key;
  return 0;
}

static int rearm_cb(void *map, __u32 *key, struct elem *v) {
  v->count++;
  v->last_key = *key;
  v->self_cancel = bpf_timer_cancel(&v->t);
  if (v->count < 3) bpf_timer_start(&v->t, 1 * MS, 0);
  return 0;
}

// A hash element with an armed timer that counts; false if it could not be
// made.
static int arm_hash(__u32 key, __u32 slot) {
  struct elem z = {};
  rec(slot, bpf_map_update_elem(&hash, &key, &z, BPF_ANY));
  struct elem *h = bpf_map_lookup_elem(&hash, &key);
  if (!h) return 0;
  rec(slot + 1, bpf_timer_init(&h->t, &hash, CLK_MONOTONIC));
  rec(slot + 2, bpf_timer_set_callback(&h->t, count_cb));
  rec(slot + 3, bpf_timer_start(&h->t, 1 * MS, 0));
  return 1;
}

SEC("tc")
int timers(struct __sk_buff *skb) {
  __u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3;
  __u32 *ph = bpf_map_lookup_elem(&phase, &k0);
  struct elem *a0 = bpf_map_lookup_elem(&arr, &k0);
  struct elem *a1 = bpf_map_lookup_elem(&arr, &k1);
  struct elem *a2 = bpf_map_lookup_elem(&arr, &k2);
  struct elem *a3 = bpf_map_lookup_elem(&arr, &k3);
  if (!ph || !a0 || !a1 || !a2 || !a3) return TC_ACT_SHOT;
  if (*ph == 0) {
    rec(0, bpf_timer_set_callback(&a0->t, count_cb));
    rec(1, bpf_timer_start(&a0->t, 1 * MS, 0));
    rec(2, bpf_timer_cancel(&a0->t));
    rec(3, bpf_timer_init(&a0->t, &arr, CLK_PROCESS_CPUTIME));
    rec(4, bpf_timer_init(&a0->t, &arr, 16 | CLK_MONOTONIC));
    rec(5, bpf_timer_init(&a0->t, &arr, CLK_MONOTONIC));
    rec(6, bpf_timer_init(&a0->t, &arr, CLK_MONOTONIC));
    rec(7, bpf_timer_start(&a0->t, 1 * MS, 0));
    rec(8, bpf_timer_set_callback(&a0->t, count_cb));
    rec(9, bpf_timer_start(&a0->t, 1 * MS, 4));
    rec(10, bpf_timer_start(&a0->t, 1 * MS, 0));

    rec(11, bpf_timer_init(&a1->t, &arr, CLK_MONOTONIC));
    rec(12, bpf_timer_set_callback(&a1->t, count_cb));
    rec(13, bpf_timer_start(&a1->t, 2 * MS, 0));
    rec(14, bpf_timer_cancel(&a1->t));
    rec(15, bpf_timer_cancel(&a1->t));
    rec(16, bpf_timer_start(&a1->t, 2 * MS, 0));
    rec(17, bpf_timer_set_callback(&a1->t, count_cb));
    rec(18, bpf_timer_start(&a1->t, 3 * MS, 0));

    rec(19, bpf_timer_init(&a2->t, &arr, CLK_REALTIME));
    rec(20, bpf_timer_set_callback(&a2->t, rearm_cb));
    rec(21, bpf_timer_start(&a2->t, 1 * MS, 0));

    rec(22, bpf_timer_init(&a3->t, &arr, CLK_BOOTTIME));
    rec(23, bpf_timer_set_callback(&a3->t, count_cb));
    rec(24,
        bpf_timer_start(&a3->t, bpf_ktime_get_boot_ns() + 2 * MS, TIMER_ABS));
    rec(25, bpf_timer_start(&a3->t, 2 * MS, TIMER_CPU_PIN));

    if (!arm_hash(k1, 26) || !arm_hash(k2, 30) || !arm_hash(k3, 34)) {
      return TC_ACT_SHOT;
    }
    rec(38, bpf_map_delete_elem(&hash, &k2));
    struct elem z = {};
    rec(39, bpf_map_update_elem(&hash, &k3, &z, BPF_ANY));
    struct elem *h3 = bpf_map_lookup_elem(&hash, &k3);
    if (!h3) return TC_ACT_SHOT;
    rec(40, bpf_timer_cancel(&h3->t));
    rec(41, bpf_timer_init(&h3->t, &hash, CLK_MONOTONIC));
    return TC_ACT_OK;
  }
  rec(42, bpf_timer_cancel(&a0->t));
  rec(43, bpf_timer_init(&a0->t, &arr, CLK_MONOTONIC));
  rec(44, bpf_timer_start(&a0->t, 1 * MS, 0));
  rec(45, bpf_timer_cancel(&a0->t));
  struct elem z = {};
  rec(46, bpf_map_update_elem(&arr, &k1, &z, BPF_ANY));
  rec(47, bpf_timer_start(&a1->t, 1 * MS, 0) * 1000 +
              bpf_timer_start(&a3->t, 10000 * MS, 0));
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
