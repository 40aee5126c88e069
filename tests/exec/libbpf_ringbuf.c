// SPDX-License-Identifier: Apache-2.0
// A ring buffer reader built against the system's real libbpf (no bpfemu
// code): ring_buffer__new maps the map fd (consumer page read-write,
// producer page and data read-only) and adds it to an epoll instance;
// ring_buffer__poll waits there and reads the records that program test
// runs commit, including a discarded one (skipped by libbpf), one
// submitted with BPF_RB_NO_WAKEUP, and records that wrap past the end of
// the data. Then libbpf's user ring buffer producer against a draining
// program. Prints "name = result" and one line per record delivered.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/exec/test_progs.h"

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

static int on_record(void* ctx, void* data, size_t size) {
  (void)ctx;
  uint64_t w0, w496, w992;
  memcpy(&w0, data, 8);
  memcpy(&w496, (char*)data + 496, 8);
  memcpy(&w992, (char*)data + 992, 8);
  printf("record size %zu: %llu %llu %llu\n", size, (unsigned long long)w0,
         (unsigned long long)w496, (unsigned long long)w992);
  return 0;
}

// tests/exec/test_progs.h's ring program.
static int ring_prog(int rb) {
  struct bpf_insn insns[26];
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ring", "GPL", insns,
                       ring_prog_insns(insns, rb), NULL);
}

// tests/exec/test_progs.h's drain program, with its BTF func_info.
static int drain_prog(int rb) {
  struct bpf_insn insns[12];
  const int n = drain_prog_insns(insns, rb);
  const int b = bpf_btf_load(&kDrainBtf, sizeof(kDrainBtf), NULL);
  LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_btf_fd = b,
              .func_info = kDrainFuncInfo, .func_info_cnt = 2,
              .func_info_rec_size = 8);
  const int p =
      bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "drain", "GPL", insns, n, &o);
  if (b >= 0) close(b);
  return p;
}

// libbpf's user ring buffer producer: user_ring_buffer__new maps the ring
// (the producer page and the data read-write) and adds it to an epoll
// instance for EPOLLOUT; a blocking reserve on a full ring waits there
// until its timeout, or until a drain wakes it.
static void user_ring(void) {
  int rb = bpf_map_create(BPF_MAP_TYPE_USER_RINGBUF, "urb", 0, 0, 4096, NULL);
  int prog = drain_prog(rb);
  report("user ring and drain prog ok", rb >= 0 && prog >= 0);
  if (rb < 0 || prog < 0) return;
  struct user_ring_buffer* u = user_ring_buffer__new(rb, NULL);
  report("user_ring_buffer__new ok", u != NULL);
  if (u == NULL) return;
  int n = 0;
  for (;;) {  // 1016-byte samples take 1024 bytes: four fill the ring
    void* s = user_ring_buffer__reserve(u, 1016);
    if (s == NULL) {
      report("reserve on a full ring", -errno);
      break;
    }
    memset(s, ++n, 1016);
    user_ring_buffer__submit(u, s);
  }
  report("samples submitted", n);
  void* s = user_ring_buffer__reserve_blocking(u, 1016, 50);
  report("blocking reserve on a full ring", s == NULL ? -errno : 0);
  unsigned char pkt[128] = {0};
  LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = 64 + 14);
  report("drain", bpf_prog_test_run_opts(prog, &t));
  report("drained", t.retval);
  s = user_ring_buffer__reserve_blocking(u, 1016, 1000);
  report("blocking reserve after the drain", s == NULL ? -errno : 0);
  if (s != NULL) user_ring_buffer__discard(u, s);
  user_ring_buffer__free(u);
  close(prog);
  close(rb);
}

static void run(int prog, uint32_t len) {
  unsigned char pkt[128] = {0};
  pkt[12] = 0x08;
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len + 14);
  char what[48];
  snprintf(what, sizeof(what), "run len %u", len);
  report(what, bpf_prog_test_run_opts(prog, &o));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rb = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, 4096, NULL);
  report("ringbuf create ok", rb >= 0);
  int prog = ring_prog(rb);
  report("prog ok", prog >= 0);
  if (rb < 0 || prog < 0) return 1;
  struct ring_buffer* r = ring_buffer__new(rb, on_record, NULL, NULL);
  report("ring_buffer__new ok", r != NULL);
  if (r == NULL) return 1;
  report("poll empty", ring_buffer__poll(r, 50));
  run(prog, 64);
  report("poll", ring_buffer__poll(r, 100));
  run(prog, 65);  // discarded: consumed, not delivered
  report("poll after a discard", ring_buffer__poll(r, 100));
  run(prog, 66);  // BPF_RB_NO_WAKEUP: the poll times out
  report("poll after NO_WAKEUP", ring_buffer__poll(r, 50));
  run(prog, 68);  // BPF_RB_FORCE_WAKEUP
  report("poll after FORCE_WAKEUP", ring_buffer__poll(r, 100));
  for (int i = 0; i < 6; ++i) {  // wraps at 4032 and again
    run(prog, 64);
    report("poll", ring_buffer__poll(r, 100));
  }
  for (int i = 0; i < 5; ++i) run(prog, 68);  // the fifth finds no room
  report("consume", ring_buffer__consume(r));
  report("poll drained", ring_buffer__poll(r, 50));
  ring_buffer__free(r);
  user_ring();
  return 0;
}
