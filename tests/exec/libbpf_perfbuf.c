// SPDX-License-Identifier: Apache-2.0
// A perf buffer reader built against the system's real libbpf (no bpfemu
// code): perf_buffer__new opens a BPF output event per CPU
// (perf_event_open), maps each, stores it in the PERF_EVENT_ARRAY and adds
// it to an epoll instance; perf_buffer__poll and perf_buffer__consume read
// the samples that program test runs write with bpf_perf_event_output,
// including the lost-sample count of a full buffer and records that wrap
// past the end of the data. Run under `bpfemu exec` and, as root, on the
// kernel; prints "name = result" and one line per sample or loss.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/exec/test_progs.h"

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

static void on_sample(void* ctx, int cpu, void* data, __u32 size) {
  (void)ctx;
  uint64_t len, sum = 0;
  memcpy(&len, data, 8);
  for (uint64_t i = 0; i < len && i < size; ++i) sum += ((uint8_t*)data)[i];
  printf("sample cpu %d size %u: len %llu sum %llu\n", cpu, size,
         (unsigned long long)len, (unsigned long long)sum);
}

static void on_lost(void* ctx, int cpu, __u64 cnt) {
  (void)ctx;
  printf("lost cpu %d: %llu\n", cpu, (unsigned long long)cnt);
}

// tests/exec/test_progs.h's perf output program, to the current CPU's
// event.
static int output_prog(int map) {
  struct bpf_insn insns[80];
  const int n = output_prog_insns(insns, map, BPF_F_CURRENT_CPU);
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "perf_out", "GPL", insns,
                       (size_t)n, NULL);
}

static void out_run(int prog, uint32_t len) {
  unsigned char pkt[600];
  memset(pkt, 0, sizeof(pkt));
  pkt[12] = 0x08;  // IPv4
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len + 14);
  int r = bpf_prog_test_run_opts(prog, &o);
  char what[64];
  snprintf(what, sizeof(what), "output len %u: retval %d; run", len,
           (int)o.retval);
  report(what, r);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  report("pinned to cpu 0", sched_setaffinity(0, sizeof(set), &set));
  const int ncpus = libbpf_num_possible_cpus();
  int map = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "events", 4, 4,
                           (uint32_t)ncpus, NULL);
  report("map ok", map >= 0);
  int prog = output_prog(map);
  report("prog ok", prog >= 0);
  if (map < 0 || prog < 0) return 1;
  // Not a power of two: EINVAL before anything is opened.
  struct perf_buffer* pb =
      perf_buffer__new(map, 3, on_sample, on_lost, NULL, NULL);
  report("perf_buffer__new 3 pages", pb ? 0 : -errno);
  pb = perf_buffer__new(map, 1, on_sample, on_lost, NULL, NULL);
  report("perf_buffer__new 1 page", pb ? 0 : -errno);
  if (!pb) return 1;
  report("buffer count is the CPUs",
         (long)perf_buffer__buffer_cnt(pb) == ncpus);
  report("buffer 0 fd ok", perf_buffer__buffer_fd(pb, 0) >= 0);
  void* buf = NULL;
  size_t size = 0;
  report("buffer 0", perf_buffer__buffer(pb, 0, &buf, &size));
  report("buffer 0 size", (long)size);
  report("poll, nothing", perf_buffer__poll(pb, 50));
  out_run(prog, 100);
  report("poll", perf_buffer__poll(pb, 50));
  report("poll again", perf_buffer__poll(pb, 50));
  out_run(prog, 101);
  out_run(prog, 102);
  report("consume", perf_buffer__consume(pb));
  // The wake-up nobody took is reported by the next poll, with nothing left.
  report("poll after consume", perf_buffer__poll(pb, 50));
  // A full buffer: what finds no room is lost; the loss comes first in
  // the next read that finds room.
  for (int i = 0; i < 8; ++i) out_run(prog, 504 + i % 2);
  report("poll full", perf_buffer__poll(pb, 50));
  out_run(prog, 400);
  out_run(prog, 401);
  report("poll after the loss", perf_buffer__poll(pb, 50));
  for (int i = 0; i < 6; ++i) out_run(prog, 300 + 2 * i);
  report("consume buffer 0", perf_buffer__consume_buffer(pb, 0));
  report("consume buffer 9", perf_buffer__consume_buffer(pb, 9));
  perf_buffer__free(pb);
  // The entries went with the buffer's events.
  out_run(prog, 64);
  close(prog);
  close(map);
  return 0;
}
