// SPDX-License-Identifier: Apache-2.0
// The process bench/exec_benchmark.cc times natively on the kernel and
// under `bpfemu exec`: built against the system's real libbpf (no bpfemu
// code), so both runs make the same system calls. Modes, each writing its
// measurements (uint64_t each) to fd OUT:
//
//   epoll N RING OUT    N epoll_wait(ep, .., 1, 0) on an epoll instance
//                       holding nothing (RING 0) or one empty
//                       BPF_MAP_TYPE_RINGBUF (RING 1): total ns.
//   ringbuf R K OUT     a libbpf ring_buffer reader (ring_buffer__new,
//                       ring_buffer__consume) of the 64-byte records that
//                       a socket filter commits with bpf_ringbuf_output:
//                       R rounds of one BPF_PROG_TEST_RUN with repeat K
//                       (K records) followed by one consume. Writes the
//                       total ns, the ns spent in ring_buffer__consume
//                       and the records read.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static uint64_t NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int Put(int out, const uint64_t* v, size_t n) {
  const ssize_t want = (ssize_t)(n * sizeof(*v));
  return write(out, v, (size_t)want) == want ? 0 : 1;
}

static int Epoll(uint64_t n, int ring, int out) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  if (ring) {
    const int rb =
        bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bench", 0, 0, 1 << 16, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    if (rb < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) != 0) return 1;
  }
  struct epoll_event got;
  const uint64_t start = NowNs();
  for (uint64_t i = 0; i < n; ++i) {
    if (epoll_wait(ep, &got, 1, 0) != 0) return 1;
  }
  const uint64_t total = NowNs() - start;
  return Put(out, &total, 1);
}

static int OnRecord(void* ctx, void* data, size_t size) {
  (void)data;
  if (size == 64) ++*(uint64_t*)ctx;
  return 0;
}

// A socket filter that zeroes 64 bytes of its stack and outputs them to
// the ring (bpf_ringbuf_output, flags 0), then returns 0.
static int OutputProg(int rb) {
  struct bpf_insn insns[16];
  int i = 0;
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0};
  for (int off = -64; off < 0; off += 8) {
    insns[i++] =
        (struct bpf_insn){BPF_STX | BPF_MEM | BPF_DW, 10, 2, (int16_t)off, 0};
  }
  insns[i++] =
      (struct bpf_insn){BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, rb};
  insns[i++] = (struct bpf_insn){0, 0, 0, 0, 0};
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0};
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -64};
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 64};
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0};
  insns[i++] =
      (struct bpf_insn){BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output};
  insns[i++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0};
  insns[i++] = (struct bpf_insn){BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bench", "GPL", insns,
                       (size_t)i, NULL);
}

static int Ringbuf(uint64_t rounds, uint32_t repeat, int out) {
  // Room for every record of a round: 8-byte header + 64 bytes each.
  uint32_t size = 4096;
  while (size < repeat * 72u * 2u) size <<= 1;
  const int rb =
      bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bench", 0, 0, size, NULL);
  if (rb < 0) return 1;
  const int prog = OutputProg(rb);
  if (prog < 0) return 2;
  uint64_t records = 0;
  struct ring_buffer* r = ring_buffer__new(rb, OnRecord, &records, NULL);
  if (r == NULL) return 3;
  char pkt[64];
  memset(pkt, 0, sizeof(pkt));
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
              .data_size_in = sizeof(pkt), .repeat = repeat);
  uint64_t consume_ns = 0;
  const uint64_t start = NowNs();
  for (uint64_t i = 0; i < rounds; ++i) {
    if (bpf_prog_test_run_opts(prog, &opts) != 0) return 4;
    const uint64_t c = NowNs();
    if (ring_buffer__consume(r) < 0) return 5;
    consume_ns += NowNs() - c;
  }
  const uint64_t v[3] = {NowNs() - start, consume_ns, records};
  ring_buffer__free(r);
  return records == rounds * repeat ? Put(out, v, 3) : 6;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "epoll") == 0) {
    return Epoll(strtoull(argv[2], NULL, 10), atoi(argv[3]), atoi(argv[4]));
  }
  if (argc == 5 && strcmp(argv[1], "ringbuf") == 0) {
    return Ringbuf(strtoull(argv[2], NULL, 10),
                   (uint32_t)strtoul(argv[3], NULL, 10), atoi(argv[4]));
  }
  return 64;
}
