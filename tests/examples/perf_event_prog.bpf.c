// SPDX-License-Identifier: GPL-2.0
// A perf_event program (SEC("perf_event"), issue 24): attached to a
// software clock event of the test's thread (PERF_EVENT_IOC_SET_BPF), it
// records what each sample hands it (struct bpf_perf_event_data: the
// interrupted registers, the period, the address) and the answers of the
// helpers only perf_event programs are offered: bpf_perf_prog_read_value
// (the sampling event's count and times) and bpf_read_branch_records (the
// sample's branch stack: software events have none), with bad sizes and
// flags, and bpf_get_stackid / bpf_get_stack on the sample's registers.
// Values that differ between runs (counts, times, addresses) are kept as
// properties.
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include <bpf/bpf_helpers.h>

#define MAX_DEPTH 16

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(max_entries, 16);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct seen {
  __u64 samples;
  __u64 period;     // ctx->sample_period
  __u64 addr;       // ctx->addr
  __u32 period_lo;  // a 4-byte read of sample_period's low half
  __u32 period_b0;  // a 1-byte read of its first byte
  __u32 user_mode;  // (regs.cs & 3) == 3: the sample interrupted user code
  __u32 ip_set;     // regs.ip != 0
  __u32 sp_set;     // regs.sp != 0
  __u32 pad;
  __s64 read_ret;  // bpf_perf_prog_read_value(ctx, &v, sizeof(v))
  __u32 counter_set, enabled_set, running_set, enabled_ge_running;
  __s64 short_ret;     // the same with 16 bytes: -EINVAL
  __u32 short_zeroed;  // and the 16 bytes zeroed
  __u32 long_zeroed;   // 32 bytes: -EINVAL, zeroed
  __s64 long_ret;
  __s64 br_size;      // bpf_read_branch_records(ctx, NULL, 0, SIZE)
  __s64 br_read;      // (ctx, buf, 4 entries, 0)
  __s64 br_flags;     // (ctx, buf, 4 entries, 2): unknown flag
  __s64 br_odd;       // (ctx, buf, 20 bytes, 0): not whole entries
  __s64 br_null;      // (ctx, NULL, 0, 0)
  __s64 br_both;      // (ctx, buf, 4 entries, SIZE | 4)
  __s64 kstackid;     // bpf_get_stackid(ctx, &stacks, 0)
  __s64 ustackid;     // BPF_F_USER_STACK | BPF_F_REUSE_STACKID: >= 0 as 0
  __s64 kstack;       // bpf_get_stack(ctx, buf, 64, 0)
  __s64 ustack;       // with BPF_F_USER_STACK: > 0 kept as 1
  __s64 stack_flags;  // bpf_get_stack(ctx, buf, 64, 1 << 12): -EINVAL
  __u64 br_from0;     // the first branch record's from address
  __u64 br_to1;       // the second one's to address
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct seen);
} seen SEC(".maps");

// Four struct perf_branch_entry (24 bytes each).
#define BR_BYTES (4 * 24)

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx) {
  __u32 zero = 0;
  struct seen *s = bpf_map_lookup_elem(&seen, &zero);
  if (!s) return 0;
  s->samples += 1;
  s->period = ctx->sample_period;
  s->addr = ctx->addr;
  s->period_lo = *(volatile __u32 *)&ctx->sample_period;
  s->period_b0 = *(volatile __u8 *)&ctx->sample_period;
  s->user_mode = (ctx->regs.cs & 3) == 3;
  s->ip_set = ctx->regs.rip != 0;
  s->sp_set = ctx->regs.rsp != 0;

  struct bpf_perf_event_value v = {};
  s->read_ret = bpf_perf_prog_read_value(ctx, &v, sizeof(v));
  s->counter_set = v.counter != 0;
  s->enabled_set = v.enabled != 0;
  s->running_set = v.running != 0;
  s->enabled_ge_running = v.enabled >= v.running;

  __u64 small[2] = {~0ULL, ~0ULL};
  s->short_ret = bpf_perf_prog_read_value(ctx, (void *)small, sizeof(small));
  s->short_zeroed = small[0] == 0 && small[1] == 0;
  __u64 big[4] = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
  s->long_ret = bpf_perf_prog_read_value(ctx, (void *)big, sizeof(big));
  s->long_zeroed = big[0] == 0 && big[3] == 0;

  __u8 br[BR_BYTES] = {};
  s->br_size =
      bpf_read_branch_records(ctx, 0, 0, BPF_F_GET_BRANCH_RECORDS_SIZE);
  s->br_read = bpf_read_branch_records(ctx, br, sizeof(br), 0);
  s->br_from0 = *(__u64 *)&br[0];
  s->br_to1 = *(__u64 *)&br[24 + 8];
  s->br_flags = bpf_read_branch_records(ctx, br, sizeof(br), 2);
  s->br_odd = bpf_read_branch_records(ctx, br, 20, 0);
  s->br_null = bpf_read_branch_records(ctx, 0, 0, 0);
  s->br_both = bpf_read_branch_records(ctx, br, sizeof(br),
                                       BPF_F_GET_BRANCH_RECORDS_SIZE | 4);

  s->kstackid = bpf_get_stackid(ctx, &stacks, 0);
  // Many samples fill the small map: a stack hashed to a taken bucket is
  // -EEXIST unless it may take the bucket over.
  long u =
      bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK | BPF_F_REUSE_STACKID);
  s->ustackid = u >= 0 ? 0 : u;
  __u64 frames[8];
  s->kstack = bpf_get_stack(ctx, frames, sizeof(frames), 0);
  u = bpf_get_stack(ctx, frames, sizeof(frames), BPF_F_USER_STACK);
  s->ustack = u > 0 ? 1 : u;
  s->stack_flags = bpf_get_stack(ctx, frames, sizeof(frames), 1ULL << 12);
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
