// SPDX-License-Identifier: Apache-2.0
// The programs that the ring and perf buffer readers of tests/exec load,
// written once: raw_bpf.c and perfbuf_raw.c load them with raw bpf(2),
// libbpf_ringbuf.c and libbpf_perfbuf.c through the real libbpf, natively
// on the kernel and under `bpfemu exec`. Each fills `out` and gives the
// instruction count.
#ifndef BPFEMU_TESTS_EXEC_TEST_PROGS_H_
#define BPFEMU_TESTS_EXEC_TEST_PROGS_H_

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

// A socket filter that reserves a 1000-byte ring buffer record, writes
// skb->len, len * 3 and len + 4096 at payload offsets 0, 496 and 992, and
// submits it with flags (len & 6) >> 1 (0, BPF_RB_NO_WAKEUP,
// BPF_RB_FORCE_WAKEUP), or discards it when len is odd. Needs 26 slots.
static inline int ring_prog_insns(struct bpf_insn* out, int rb) {
  static const struct bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 6, 1, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, 0},
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
  memcpy(out, insns, sizeof(insns));
  out[1].imm = rb;
  return (int)(sizeof(insns) / sizeof(insns[0]));
}

// A socket filter that drains a user ring buffer with a callback that
// keeps going (returns 0), with flags skb->len & 3 (0, BPF_RB_NO_WAKEUP,
// BPF_RB_FORCE_WAKEUP): r0 is what bpf_user_ringbuf_drain returned. Needs
// 12 slots. Its callback is a subprogram, which the verifier wants
// described by BTF func_info: kDrainBtf and kDrainFuncInfo (2 records of 8
// bytes: {insn_off, type_id}).
static inline int drain_prog_insns(struct bpf_insn* out, int rb) {
  static const struct bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 6, 1, 0, 0},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, 0},
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
  memcpy(out, insns, sizeof(insns));
  out[1].imm = rb;
  return (int)(sizeof(insns) / sizeof(insns[0]));
}

// [1] int, [2] int (void), [3] "prog" and [4] "cb" of it.
static const struct {
  struct {
    uint16_t magic;
    uint8_t version, flags;
    uint32_t hdr_len, type_off, type_len, str_off, str_len;
  } hdr;
  uint32_t types[13];
  char strs[13];
} __attribute__((packed)) kDrainBtf = {
    {0xeb9f, 1, 0, 24, 0, 52, 52, 13},
    {1, 1u << 24, 4, 1u << 24 | 32, 0, 13u << 24, 1, 5, 12u << 24, 2, 10,
     12u << 24, 2},
    "\0int\0prog\0cb",
};
static const uint32_t kDrainFuncInfo[4] = {0, 3, 10, 4};

// A socket filter writing skb->len & 511 bytes of its stack with
// bpf_perf_event_output(ctx, map, `flags`, ...): the first word is the
// length, word i (i > 0) is i + 1. r0 is the helper's answer. Needs 80
// slots.
static inline int output_prog_insns(struct bpf_insn* out, int map,
                                    uint32_t flags) {
  int n = 0;
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0};
  out[n++] = (struct bpf_insn){BPF_LDX | BPF_MEM | BPF_W, 7, 1, 0, 0};
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_AND | BPF_K, 7, 0, 0, 511};
  for (int i = 0; i < 64; ++i) {
    out[n++] = (struct bpf_insn){BPF_ST | BPF_MEM | BPF_DW, 10, 0,
                                 (int16_t)(-512 + 8 * i), i + 1};
  }
  out[n++] = (struct bpf_insn){BPF_STX | BPF_MEM | BPF_DW, 10, 7, -512, 0};
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0};
  out[n++] = (struct bpf_insn){BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD,
                               0, map};
  out[n++] = (struct bpf_insn){0, 0, 0, 0, 0};
  out[n++] =
      (struct bpf_insn){BPF_ALU | BPF_MOV | BPF_K, 3, 0, 0, (int32_t)flags};
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_X, 4, 10, 0, 0};
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, -512};
  out[n++] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_X, 5, 7, 0, 0};
  out[n++] = (struct bpf_insn){BPF_JMP | BPF_CALL, 0, 0, 0,
                               BPF_FUNC_perf_event_output};
  out[n++] = (struct bpf_insn){BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
  return n;
}

// epoll_wait for up to 50 ms, printed as "what: events E data D;
// epoll_wait = N" (the count, or -errno; the first event's mask and data).
static inline void print_epoll_wait(int ep, const char* what) {
  struct epoll_event ev[4];
  memset(ev, 0, sizeof(ev));
  const int n = epoll_wait(ep, ev, 4, 50);
  const long r = n < 0 ? -errno : n;
  printf("%s: events 0x%x data 0x%llx; epoll_wait = %ld\n", what,
         n > 0 ? ev[0].events : 0,
         n > 0 ? (unsigned long long)ev[0].data.u64 : 0ULL, r);
}

#endif  // BPFEMU_TESTS_EXEC_TEST_PROGS_H_
