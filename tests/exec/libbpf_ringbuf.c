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

// The program of raw_bpf.c's Ringbuf(): a 1000-byte record with skb->len,
// len * 3 and len + 4096 at offsets 0, 496 and 992, submitted with flags
// (len & 6) >> 1, or discarded when len is odd.
static int ring_prog(int rb) {
  const struct bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 6, 1, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, rb},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 1000},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_reserve},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 17, 0},
      {BPF_STX | BPF_MEM | BPF_DW, 0, 6, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 7, 6, 0, 0},
      {BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 3},
      {BPF_STX | BPF_MEM | BPF_DW, 0, 7, 496, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 7, 6, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 7, 0, 0, 4096},
      {BPF_STX | BPF_MEM | BPF_DW, 0, 7, 992, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 6, 0, 0},
      {BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 6},
      {BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 1},
      {BPF_ALU64 | BPF_MOV | BPF_X, 3, 6, 0, 0},
      {BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 1},
      {BPF_JMP | BPF_JNE | BPF_K, 3, 0, 2, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_submit},
      {BPF_JMP | BPF_JA, 0, 0, 1, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_discard},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "ring", "GPL", insns,
                       sizeof(insns) / sizeof(insns[0]), NULL);
}

// The drain program of raw_bpf.c's UserRingbuf(): bpf_user_ringbuf_drain
// with a callback that keeps going, flags skb->len & 3; r0 is the count
// drained. Its callback subprogram is described by BTF func_info.
static int drain_prog(int rb) {
  const struct bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 6, 1, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, rb},
      {0, 0, 0, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_FUNC, 0, 6},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 4, 6, 0, 0},
      {BPF_ALU64 | BPF_AND | BPF_K, 4, 0, 0, 3},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_user_ringbuf_drain},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  // [1] int, [2] int (void), [3] "prog" and [4] "cb" of it.
  static const struct {
    struct {
      uint16_t magic;
      uint8_t version, flags;
      uint32_t hdr_len, type_off, type_len, str_off, str_len;
    } hdr;
    uint32_t types[13];
    char strs[13];
  } __attribute__((packed)) btf = {
      {0xeb9f, 1, 0, 24, 0, 52, 52, 13},
      {1, 1u << 24, 4, 1u << 24 | 32, 0, 13u << 24, 1, 5, 12u << 24, 2, 10,
       12u << 24, 2},
      "\0int\0prog\0cb",
  };
  const int b = bpf_btf_load(&btf, sizeof(btf), NULL);
  const uint32_t funcs[4] = {0, 3, 10, 4};
  LIBBPF_OPTS(bpf_prog_load_opts, o, .prog_btf_fd = b, .func_info = funcs,
              .func_info_cnt = 2, .func_info_rec_size = 8);
  const int p = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "drain", "GPL",
                              insns, sizeof(insns) / sizeof(insns[0]), &o);
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
