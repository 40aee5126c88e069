// SPDX-License-Identifier: Apache-2.0
// A program that uses maps through raw syscall(SYS_bpf) only (no libbpf),
// for tests/exec: built static and dynamic, run under `bpfemu exec` and,
// as root, against the kernel. Prints one line per step, "name = result",
// where result is the return value or -errno, so both runs compare line by
// line. Ids differ between runs and are not printed.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/exec/raw_sys.h"
#include "tests/exec/test_progs.h"

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

// A BTF blob: [1] int (signed, 32 bits), [2] u64 (64 bits).
static const struct {
  struct {
    uint16_t magic;
    uint8_t version, flags;
    uint32_t hdr_len, type_off, type_len, str_off, str_len;
  } hdr;
  uint32_t types[8];
  char strs[9];
} __attribute__((packed)) kBtf = {
    {0xeb9f, 1, 0, 24, 0, 32, 32, 9},
    {1, 1u << 24, 4, 1u << 24 | 32, 5, 1u << 24, 8, 64},
    "\0int\0u64",
};

static long btf_load(const void* blob, uint32_t size, char* log,
                     uint32_t log_size, uint32_t level) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = (uint64_t)(uintptr_t)blob;
  a.btf_size = size;
  a.btf_log_buf = (uint64_t)(uintptr_t)log;
  a.btf_log_size = log_size;
  a.btf_log_level = level;
  return sys_bpf(BPF_BTF_LOAD, &a, sizeof(a));
}

// BTF objects: load (and its refusals), info with the blob read back, by
// id, maps created with key and value types, and BTF fds where maps are
// expected.
static void Btf(int some_map) {
  char log[4096];
  long b = btf_load(&kBtf, sizeof(kBtf), log, sizeof(log), 1);
  report("btf load ok", b >= 0);
  if (b < 0) {
    report("btf load", b);
    return;
  }
  report("btf load without a log",
         (b = btf_load(&kBtf, sizeof(kBtf), NULL, 0, 0)) >= 0);
  unsigned char bad[sizeof(kBtf)];
  memcpy(bad, &kBtf, sizeof(bad));
  bad[0] = 0;
  report("btf load bad magic", btf_load(bad, sizeof(bad), NULL, 0, 0));
  report("btf load log without a size",
         btf_load(&kBtf, sizeof(kBtf), log, 0, 1));
  report("btf load too big", btf_load(&kBtf, 16 * 1024 * 1024 + 1, NULL, 0, 0));
  report("btf load null", btf_load(NULL, sizeof(kBtf), NULL, 0, 0));
  report("btf load unmapped", btf_load((void*)8, sizeof(kBtf), NULL, 0, 0));
  // Info: the blob comes back; a short buffer gets its first bytes and the
  // full size.
  struct bpf_btf_info info;
  unsigned char back[sizeof(kBtf) + 8];
  memset(&info, 0, sizeof(info));
  memset(back, 0, sizeof(back));
  info.btf = (uint64_t)(uintptr_t)back;
  info.btf_size = sizeof(back);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = (uint32_t)b;
  a.info.info_len = sizeof(info);
  a.info.info = (uint64_t)(uintptr_t)&info;
  report("btf info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
  report("btf info size", info.btf_size);
  report("btf info blob", memcmp(back, &kBtf, sizeof(kBtf)) == 0);
  report("btf info pointer kept", info.btf == (uint64_t)(uintptr_t)back);
  report("btf info id", info.id != 0);
  const uint32_t id = info.id;
  memset(back, 0, sizeof(back));
  info.btf_size = 4;
  report("btf info short", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
  report("btf info short size", info.btf_size);
  report("btf info short blob", memcmp(back, &kBtf, 4) == 0 && back[4] == 0);
  info.btf = 8;
  info.btf_size = sizeof(kBtf);
  report("btf info unmapped", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
  // By id.
  memset(&a, 0, sizeof(a));
  a.btf_id = id;
  long again = sys_bpf(BPF_BTF_GET_FD_BY_ID, &a, sizeof(a));
  report("btf by id", again >= 0);
  a.open_flags = BPF_F_RDONLY;
  report("btf by id with flags", sys_bpf(BPF_BTF_GET_FD_BY_ID, &a, sizeof(a)));
  memset(&a, 0, sizeof(a));
  a.start_id = 0;
  report("btf next id", sys_bpf(BPF_BTF_GET_NEXT_ID, &a, sizeof(a)));
  // Maps with BTF: u32 -> u64; a value type of the wrong size; a map fd and
  // a closed fd as the BTF fd.
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = 4;
  a.btf_fd = (uint32_t)b;
  a.btf_key_type_id = 1;
  a.btf_value_type_id = 2;
  long m = sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
  report("map with btf", m >= 0);
  a.btf_value_type_id = 1;
  report("map with a wrong value type", sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  a.btf_value_type_id = 2;
  a.btf_fd = (uint32_t)some_map;
  report("map with a map as btf", sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  a.btf_fd = 999;
  report("map with a closed btf fd", sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  if (m >= 0) {
    struct bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = (uint32_t)m;
    a.info.info_len = sizeof(mi);
    a.info.info = (uint64_t)(uintptr_t)&mi;
    report("map btf info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
    report("map btf_id", mi.btf_id == id);
    report("map btf key type", mi.btf_key_type_id);
    report("map btf value type", mi.btf_value_type_id);
  }
  // A BTF fd is not a map.
  uint32_t k = 0;
  uint64_t v = 0;
  report("btf fd as map", elem(BPF_MAP_LOOKUP_ELEM, (int)b, &k, &v, 0));
}

static long load(int type, const struct bpf_insn* insns, int n) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = type;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = n;
  a.license = (uint64_t)(uintptr_t) "GPL";
  return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

// One BPF_PROG_TEST_RUN: prints its answer, retval and the output sizes.
static void run(const char* what, long prog, const void* data, uint32_t size,
                void* out, uint32_t out_size, const void* ctx_in,
                uint32_t ctx_in_size, void* ctx_out, uint32_t ctx_out_size,
                uint32_t flags, uint32_t cpu, uint32_t repeat) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = (uint32_t)prog;
  a.test.data_in = (uint64_t)(uintptr_t)data;
  a.test.data_size_in = size;
  a.test.data_out = (uint64_t)(uintptr_t)out;
  a.test.data_size_out = out_size;
  a.test.ctx_in = (uint64_t)(uintptr_t)ctx_in;
  a.test.ctx_size_in = ctx_in_size;
  a.test.ctx_out = (uint64_t)(uintptr_t)ctx_out;
  a.test.ctx_size_out = ctx_out_size;
  a.test.flags = flags;
  a.test.cpu = cpu;
  a.test.repeat = repeat;
  char line[160];
  long r = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
  snprintf(line, sizeof(line),
           "%s: retval %u, data_size_out %u, ctx_size_out %u; result", what,
           a.test.retval, a.test.data_size_out, a.test.ctx_size_out);
  report(line, r);
}

// SK_LOOKUP test runs (bpf_prog_test_run_sk_lookup): a program that passes
// IPv6 lookups and drops the others, on struct bpf_sk_lookup contexts.
static void SkLookupRuns(void) {
  const struct bpf_insn insns[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, 8, 0},  // r2 = ctx->family
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_JNE | BPF_K, 2, 0, 1, AF_INET6},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
  a.expected_attach_type = BPF_SK_LOOKUP;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = 5;
  a.license = (uint64_t)(uintptr_t) "GPL";
  long p = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  report("sk_lookup prog ok", p >= 0);
  struct bpf_sk_lookup in, out;
  uint8_t big[80];
  memset(&in, 0, sizeof(in));
  in.family = AF_INET;
  in.protocol = IPPROTO_TCP;
  in.local_port = 80;
  in.remote_port = htons(4000);
  run("sk_lookup v4", p, NULL, 0, NULL, 0, &in, sizeof(in), &out, sizeof(out),
      0, 0, 0);
  report("sk_lookup cookie out", (long)out.cookie);
  in.family = AF_INET6;
  run("sk_lookup v6 repeat 3", p, NULL, 0, NULL, 0, &in, sizeof(in), &out,
      sizeof(out), 0, 0, 3);
  run("sk_lookup ctx out too small", p, NULL, 0, NULL, 0, &in, sizeof(in), &out,
      8, 0, 0, 0);
  run("sk_lookup no ctx", p, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0);
  run("sk_lookup ctx out only", p, NULL, 0, NULL, 0, NULL, 0, &out, sizeof(out),
      0, 0, 0);
  run("sk_lookup with data", p, big, 14, NULL, 0, &in, sizeof(in), NULL, 0, 0,
      0, 0);
  run("sk_lookup flags", p, NULL, 0, NULL, 0, &in, sizeof(in), NULL, 0, 1, 0,
      0);
  in.local_port = 70000;
  run("sk_lookup port 70000", p, NULL, 0, NULL, 0, &in, sizeof(in), NULL, 0, 0,
      0, 0);
  in.local_port = 80;
  in.ingress_ifindex = 1;
  run("sk_lookup ingress_ifindex", p, NULL, 0, NULL, 0, &in, sizeof(in), NULL,
      0, 0, 0, 0);
  in.ingress_ifindex = 0;
  in.cookie = 5;
  run("sk_lookup cookie in", p, NULL, 0, NULL, 0, &in, sizeof(in), NULL, 0, 0,
      0, 0);
  in.cookie = 0;
  in.family = AF_UNIX;
  run("sk_lookup AF_UNIX", p, NULL, 0, NULL, 0, &in, sizeof(in), NULL, 0, 0, 0,
      0);
  in.family = AF_INET;
  memset(big, 0, sizeof(big));
  memcpy(big, &in, sizeof(in));
  big[79] = 1;
  run("sk_lookup long ctx", p, NULL, 0, NULL, 0, big, sizeof(big), NULL, 0, 0,
      0, 0);
  close((int)p);
}

// BPF_PROG_TEST_RUN's buffer and context rules (net/bpf/test_run.c): XDP
// metadata and struct xdp_md in and out, struct __sk_buff's settable
// fields, raw tracepoints' CPU, and the output sizes.
static void TestRuns(void) {
  // XDP: r0 = ingress_ifindex * 10 + rx_queue_index.
  const struct bpf_insn xdp[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, 12, 0},
      {BPF_LDX | BPF_MEM | BPF_W, 0, 1, 16, 0},
      {BPF_ALU64 | BPF_MUL | BPF_K, 2, 0, 0, 10},
      {BPF_ALU64 | BPF_ADD | BPF_X, 0, 2, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long x = load(BPF_PROG_TYPE_XDP, xdp, 5);
  report("xdp prog ok", x >= 0);
  unsigned char pkt[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  unsigned char out[64];
  struct xdp_md md, mo;
  memset(&md, 0, sizeof(md));
  md.data_end = 14;
  memset(&mo, 0xff, sizeof(mo));
  run("xdp ctx", x, pkt, 14, out, sizeof(out), &md, sizeof(md), &mo, sizeof(mo),
      0, 0, 0);
  report("xdp ctx_out data", mo.data);
  report("xdp ctx_out data_end", mo.data_end);
  report("xdp ctx_out ingress", mo.ingress_ifindex);
  md.data = 4;
  md.data_end = 18;
  memset(out, 0, sizeof(out));
  run("xdp meta", x, pkt, 18, out, sizeof(out), &md, sizeof(md), &mo,
      sizeof(mo), 0, 0, 0);
  report("xdp meta out first byte", out[0]);
  report("xdp meta ctx_out data", mo.data);
  report("xdp meta ctx_out data_end", mo.data_end);
  md.data = 3;
  run("xdp meta unaligned", x, pkt, 18, out, sizeof(out), &md, sizeof(md), NULL,
      0, 0, 0, 0);
  md.data = 0;
  md.data_end = 12;
  run("xdp data_end short", x, pkt, 18, out, sizeof(out), &md, sizeof(md), NULL,
      0, 0, 0, 0);
  md.data_end = 20;
  run("xdp data_end long", x, pkt, 18, out, sizeof(out), &md, sizeof(md), NULL,
      0, 0, 0, 0);
  md.data_end = 14;
  md.data_meta = 1;
  run("xdp data_meta set", x, pkt, 14, out, sizeof(out), &md, sizeof(md), NULL,
      0, 0, 0, 0);
  md.data_meta = 0;
  md.ingress_ifindex = 1;
  run("xdp ingress lo", x, pkt, 14, out, sizeof(out), &md, sizeof(md), NULL, 0,
      0, 0, 0);
  md.rx_queue_index = 1;
  run("xdp lo queue 1", x, pkt, 14, out, sizeof(out), &md, sizeof(md), NULL, 0,
      0, 0, 0);
  md.ingress_ifindex = 0;
  run("xdp queue without device", x, pkt, 14, out, sizeof(out), &md, sizeof(md),
      NULL, 0, 0, 0, 0);
  md.rx_queue_index = 0;
  md.ingress_ifindex = 999;
  run("xdp no such device", x, pkt, 14, out, sizeof(out), &md, sizeof(md), NULL,
      0, 0, 0, 0);
  md.ingress_ifindex = 0;
  md.egress_ifindex = 1;
  run("xdp egress", x, pkt, 14, out, sizeof(out), &md, sizeof(md), NULL, 0, 0,
      0, 0);
  md.egress_ifindex = 0;
  unsigned char big[28];
  memset(big, 0, sizeof(big));
  memcpy(big, &md, sizeof(md));
  run("xdp ctx longer, zero tail", x, pkt, 14, out, sizeof(out), big,
      sizeof(big), NULL, 0, 0, 0, 0);
  big[27] = 1;
  run("xdp ctx longer, tail set", x, pkt, 14, out, sizeof(out), big,
      sizeof(big), NULL, 0, 0, 0, 0);
  run("xdp ctx_out short", x, pkt, 14, out, sizeof(out), &md, sizeof(md), &mo,
      8, 0, 0, 0);
  run("xdp ctx_in without size", x, pkt, 14, out, sizeof(out), &md, 0, NULL, 0,
      0, 0, 0);
  run("xdp ctx size without ctx_in", x, pkt, 14, out, sizeof(out), NULL,
      sizeof(md), NULL, 0, 0, 0, 0);
  memset(out, 0, sizeof(out));
  run("xdp data_size_out 0", x, pkt, 14, out, 0, NULL, 0, NULL, 0, 0, 0, 0);
  report("xdp data_size_out 0 copied", out[13]);
  run("xdp data_out short", x, pkt, 14, out, 4, NULL, 0, NULL, 0, 0, 0, 0);
  run("xdp cpu", x, pkt, 14, out, sizeof(out), NULL, 0, NULL, 0, 0, 1, 0);
  run("xdp flags", x, pkt, 14, out, sizeof(out), NULL, 0, NULL, 0, 4, 0, 0);
  run("xdp too short", x, pkt, 13, out, sizeof(out), NULL, 0, NULL, 0, 0, 0, 0);
  // tc: r0 = skb->mark.
  const struct bpf_insn tc[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 0, 1, 8, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long t = load(BPF_PROG_TYPE_SCHED_CLS, tc, 2);
  report("tc prog ok", t >= 0);
  struct __sk_buff skb, so;
  memset(&skb, 0, sizeof(skb));
  skb.mark = 7;
  skb.priority = 3;
  skb.cb[1] = 9;
  skb.tstamp = 5;
  memset(&so, 0xff, sizeof(so));
  run("tc ctx", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb), &so,
      sizeof(so), 0, 0, 0);
  report("tc ctx_out mark", so.mark);
  report("tc ctx_out priority", so.priority);
  report("tc ctx_out cb[1]", so.cb[1]);
  report("tc ctx_out ifindex", so.ifindex);
  report("tc ctx_out wire_len", so.wire_len);
  report("tc ctx_out tstamp", (long)so.tstamp);
  report("tc ctx_out len", so.len);
  skb.len = 1;
  run("tc ctx len set", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb), NULL,
      0, 0, 0, 0);
  skb.len = 0;
  skb.ifindex = 999;
  run("tc ctx no such device", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb),
      NULL, 0, 0, 0, 0);
  skb.ifindex = 0;
  skb.wire_len = 5;
  run("tc wire_len short", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb),
      NULL, 0, 0, 0, 0);
  skb.wire_len = 100;
  run("tc wire_len", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb), &so,
      sizeof(so), 0, 0, 0);
  report("tc wire_len out", so.wire_len);
  skb.wire_len = 0;
  skb.gso_segs = 70000;
  run("tc gso_segs", t, pkt, 14, out, sizeof(out), &skb, sizeof(skb), NULL, 0,
      0, 0, 0);
  skb.gso_segs = 0;
  run("tc cpu", t, pkt, 14, out, sizeof(out), NULL, 0, NULL, 0, 0, 1, 0);
  run("tc flags", t, pkt, 14, out, sizeof(out), NULL, 0, NULL, 0, 1, 0, 0);
  // Raw tracepoint: r0 = 0.
  const struct bpf_insn rt[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long r = load(BPF_PROG_TYPE_RAW_TRACEPOINT, rt, 2);
  report("raw_tp prog ok", r >= 0);
  uint64_t args[13] = {0};
  run("raw_tp", r, NULL, 0, NULL, 0, args, 8, NULL, 0, 0, 0, 0);
  run("raw_tp cpu without flag", r, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 1,
      0);
  run("raw_tp on cpu 1", r, NULL, 0, NULL, 0, NULL, 0, NULL, 0,
      BPF_F_TEST_RUN_ON_CPU, 1, 0);
  run("raw_tp on cpu 4096", r, NULL, 0, NULL, 0, NULL, 0, NULL, 0,
      BPF_F_TEST_RUN_ON_CPU, 4096, 0);
  run("raw_tp repeat", r, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 2);
  run("raw_tp 13 args", r, NULL, 0, NULL, 0, args, sizeof(args), NULL, 0, 0, 0,
      0);
  run("raw_tp data", r, pkt, 14, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0);
  // A raw tracepoint reading its third argument: r0 = ctx[2]. The context
  // must hold what the program reads (max_ctx_offset 24).
  const struct bpf_insn rt3[] = {
      {BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 16, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long r3 = load(BPF_PROG_TYPE_RAW_TRACEPOINT, rt3, 2);
  report("raw_tp reading arg 2 ok", r3 >= 0);
  args[2] = 7;
  run("raw_tp 2 args for 3", r3, NULL, 0, NULL, 0, args, 16, NULL, 0, 0, 0, 0);
  run("raw_tp 3 args", r3, NULL, 0, NULL, 0, args, 24, NULL, 0, 0, 0, 0);
  run("raw_tp no ctx for 3", r3, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0);
}

// CGROUP_SKB (and LWT) test runs: bpf_prog_test_run_skb without the
// Ethernet header pushed back (not L2), a socket whose family and addresses
// come from the IP header, no packet pointers computed for cgroup programs,
// and the header zeroed in the output. The program copies family,
// local_ip4 and remote_ip4 to cb[0..2], sets cb[3] when data + 14 is within
// data_end, and returns 1.
static void CgroupSkbRuns(void) {
#define SKB_OFF(f) ((short)offsetof(struct __sk_buff, f))
  const struct bpf_insn cg[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, SKB_OFF(family), 0},
      {BPF_STX | BPF_MEM | BPF_W, 1, 2, SKB_OFF(cb[0]), 0},
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, SKB_OFF(local_ip4), 0},
      {BPF_STX | BPF_MEM | BPF_W, 1, 2, SKB_OFF(cb[1]), 0},
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, SKB_OFF(remote_ip4), 0},
      {BPF_STX | BPF_MEM | BPF_W, 1, 2, SKB_OFF(cb[2]), 0},
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, SKB_OFF(data), 0},
      {BPF_LDX | BPF_MEM | BPF_W, 3, 1, SKB_OFF(data_end), 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 14},
      {BPF_JMP | BPF_JGT | BPF_X, 4, 3, 2, 0},
      {BPF_ST | BPF_MEM | BPF_W, 1, 0, SKB_OFF(cb[3]), 1},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
#undef SKB_OFF
  long c = load(BPF_PROG_TYPE_CGROUP_SKB, cg, 15);
  report("cgroup_skb prog ok", c >= 0);
  // Ethernet (IPv4) + an IPv4 header 10.0.0.1 -> 10.0.0.2 + 8 bytes.
  unsigned char pkt[42] = {2,  0,    0,    0,    0,  1, 2,  0, 0,  0, 0,
                           2,  0x08, 0x00, 0x45, 0,  0, 28, 0, 0,  0, 0,
                           64, 17,   0,    0,    10, 0, 0,  1, 10, 0, 0,
                           2,  1,    2,    3,    4,  5, 6,  7, 8};
  unsigned char out[64];
  struct __sk_buff skb, so;
  memset(&skb, 0, sizeof(skb));
  memset(&so, 0, sizeof(so));
  run("cgroup_skb", c, pkt, sizeof(pkt), out, sizeof(out), &skb, sizeof(skb),
      &so, sizeof(so), 0, 0, 0);
  report("cgroup_skb cb0 family", so.cb[0]);
  report("cgroup_skb cb1 local_ip4", so.cb[1]);
  report("cgroup_skb cb2 remote_ip4", so.cb[2]);
  report("cgroup_skb cb3 data in bounds", so.cb[3]);
  report("cgroup_skb out[0] (header zeroed)", out[0]);
  report("cgroup_skb out[14]", out[14]);
  report("cgroup_skb len out", so.len);
  run("cgroup_skb short ip", c, pkt, 20, out, sizeof(out), NULL, 0, NULL, 0, 0,
      0, 0);
  run("cgroup_skb flags", c, pkt, sizeof(pkt), out, sizeof(out), NULL, 0, NULL,
      0, 1, 0, 0);
  // LWT programs: the packet from the IP header on (not L2), with packet
  // pointers; r0 = the first byte when 14 bytes are within data_end.
  const struct bpf_insn lwt[] = {
      {BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct __sk_buff, data), 0},
      {BPF_LDX | BPF_MEM | BPF_W, 3, 1, offsetof(struct __sk_buff, data_end),
       0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 14},
      {BPF_JMP | BPF_JGT | BPF_X, 4, 3, 1, 0},
      {BPF_LDX | BPF_MEM | BPF_B, 0, 2, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  static const struct {
    const char* name;
    int type;
  } kLwt[] = {{"lwt_in", BPF_PROG_TYPE_LWT_IN},
              {"lwt_out", BPF_PROG_TYPE_LWT_OUT},
              {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT}};
  for (unsigned i = 0; i < sizeof(kLwt) / sizeof(kLwt[0]); i++) {
    long l = load(kLwt[i].type, lwt, 8);
    char what[64];
    snprintf(what, sizeof(what), "%s prog ok", kLwt[i].name);
    report(what, l >= 0);
    memset(out, 0xee, sizeof(out));
    run(kLwt[i].name, l, pkt, sizeof(pkt), out, sizeof(out), NULL, 0, NULL, 0,
        0, 0, 0);
    snprintf(what, sizeof(what), "%s out[0]", kLwt[i].name);
    report(what, out[0]);
    close((int)l);
  }
}

// The id of the object behind `fd` (BPF_OBJ_GET_INFO_BY_FD: the id is the
// first or second u32 of each info struct).
static uint32_t object_id(int fd, int id_offset) {
  uint32_t info[32] = {0};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = fd;
  a.info.info_len = sizeof(info);
  a.info.info = (uint64_t)(uintptr_t)info;
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return 0;
  return info[id_offset];
}

// Whether a GET_NEXT_ID walk from 0 reaches `id`.
static int listed(int cmd, uint32_t id) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  while (sys_bpf(cmd, &a, sizeof(a)) == 0) {
    if (a.next_id == id) return 1;
    a.start_id = a.next_id;
  }
  return 0;
}

// A child that holds a copy of every fd open now until child_release().
struct held {
  pid_t pid;
  int release;  // the pipe's write end
};

static struct held child_hold(void) {
  struct held h = {-1, -1};
  int pipefd[2];
  if (pipe(pipefd) != 0) return h;
  h.pid = fork();
  if (h.pid == 0) {
    char c;
    close(pipefd[1]);
    (void)!read(pipefd[0], &c, 1);  // until the parent writes
    _exit(0);
  }
  close(pipefd[0]);
  h.release = pipefd[1];
  return h;
}

static void child_release(struct held h) {
  if (h.pid < 0) return;
  (void)!write(h.release, "x", 1);
  close(h.release);
  int st;
  waitpid(h.pid, &st, 0);
}

// An object lives while a file refers to it, in any process: closed, it is
// no longer listed; a child's copy keeps it until the child exits.
static void Lifetimes(void) {
  int m = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, NULL);
  uint32_t mid = object_id(m, 1);
  report("open map listed", listed(BPF_MAP_GET_NEXT_ID, mid));
  struct held child = child_hold();  // holds m
  close(m);
  report("map closed, a child's copy: listed",
         listed(BPF_MAP_GET_NEXT_ID, mid));
  child_release(child);
  report("map closed, child gone: listed", listed(BPF_MAP_GET_NEXT_ID, mid));
  const struct bpf_insn ret0[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long p = load(BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2);
  uint32_t pid = object_id((int)p, 1);
  report("open prog listed", listed(BPF_PROG_GET_NEXT_ID, pid));
  close((int)p);
  report("closed prog listed", listed(BPF_PROG_GET_NEXT_ID, pid));
  long b = btf_load(&kBtf, sizeof(kBtf), NULL, 0, 0);
  uint32_t bid = object_id((int)b, 3);
  report("open btf listed", listed(BPF_BTF_GET_NEXT_ID, bid));
  close((int)b);
  report("closed btf listed", listed(BPF_BTF_GET_NEXT_ID, bid));
  // Many maps at once, every one usable as it comes (a supervisor that lets
  // go of unheld objects now and then must not take a new one).
  int fds[80], usable = 0;
  for (int i = 0; i < 80; i++) {
    fds[i] = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, NULL);
    uint32_t k = 0;
    uint64_t v = (uint64_t)i;
    usable += fds[i] > 2 && elem(BPF_MAP_UPDATE_ELEM, fds[i], &k, &v, 0) == 0;
  }
  report("maps created and usable", usable);
  for (int i = 0; i < 80; i++) close(fds[i]);
}

static uint64_t run_cnt(int prog, uint64_t* time_ns) {
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = (uint32_t)prog;
  a.info.info_len = sizeof(info);
  a.info.info = (uint64_t)(uintptr_t)&info;
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) != 0) return ~0ull;
  *time_ns = info.run_time_ns;
  return info.run_cnt;
}

static long enable_stats(uint32_t type) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.enable_stats.type = type;
  return sys_bpf(BPF_ENABLE_STATS, &a, sizeof(a));
}

// BPF_ENABLE_STATS (kernel/bpf/syscall.c bpf_enable_stats): test runs
// count into run_cnt and run_time_ns only while a stats file is open in
// some process; the file is read-only and close-on-exec.
static void Stats(void) {
  const struct bpf_insn ret0[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  long p = load(BPF_PROG_TYPE_SOCKET_FILTER, ret0, 2);
  char pkt[64];
  memset(pkt, 0, sizeof(pkt));
  uint64_t t0 = 0, t1 = 0;
  run("stats off", p, pkt, sizeof(pkt), NULL, 0, NULL, 0, NULL, 0, 0, 0, 3);
  report("run_cnt with stats off", (long)run_cnt((int)p, &t0));
  report("enable stats of an unknown type", enable_stats(1));
  long fd = enable_stats(BPF_STATS_RUN_TIME);
  report("stats fd ok", fd > 2);
  report("stats fd read-only",
         (fcntl((int)fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  report("stats fd close-on-exec", (fcntl((int)fd, F_GETFD) & FD_CLOEXEC) != 0);
  run("stats on", p, pkt, sizeof(pkt), NULL, 0, NULL, 0, NULL, 0, 0, 0, 5);
  report("run_cnt with stats on", (long)run_cnt((int)p, &t1));
  report("run_time_ns grew", t1 > t0);
  struct held child = child_hold();  // holds the stats fd
  close((int)fd);
  run("stats held by a child", p, pkt, sizeof(pkt), NULL, 0, NULL, 0, NULL, 0,
      0, 0, 2);
  report("run_cnt, stats file in a child", (long)run_cnt((int)p, &t1));
  child_release(child);
  run("stats closed everywhere", p, pkt, sizeof(pkt), NULL, 0, NULL, 0, NULL, 0,
      0, 0, 4);
  report("run_cnt, stats file closed", (long)run_cnt((int)p, &t1));
  close((int)p);
}

// Cgroup maps: a CGROUP_ARRAY takes the caller's cgroup2 directory fd
// (EBADF for another directory) and refuses syscall lookup; an unattached
// CGROUP_STORAGE holds nothing and refuses delete.
static void Cgroups(void) {
  int cg = -1;
  const char* const roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
  for (size_t i = 0; i < 2 && cg < 0; ++i) {
    struct statfs sfs;
    if (statfs(roots[i], &sfs) == 0 && sfs.f_type == 0x63677270) {
      cg = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
  }
  report("cgroup2 root found", cg >= 0);
  int arr = map_create(BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 2, 0, NULL);
  report("cgroup array create ok", arr >= 0);
  int slash = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  uint32_t key = 0, value = (uint32_t)slash;
  report("cgroup array update with /",
         elem(BPF_MAP_UPDATE_ELEM, arr, &key, &value, BPF_ANY));
  value = (uint32_t)cg;
  if (cg >= 0) {
    report("cgroup array update",
           elem(BPF_MAP_UPDATE_ELEM, arr, &key, &value, BPF_ANY));
  }
  report("cgroup array lookup",
         elem(BPF_MAP_LOOKUP_ELEM, arr, &key, &value, 0));
  report("cgroup array delete",
         elem(BPF_MAP_DELETE_ELEM, arr, &key, NULL, 0) == (cg >= 0 ? 0 : -2));
  int st = map_create(BPF_MAP_TYPE_CGROUP_STORAGE, 16, 8, 0, 0, NULL);
  report("cgroup storage create ok", st >= 0);
  report("cgroup storage max_entries 1",
         map_create(BPF_MAP_TYPE_CGROUP_STORAGE, 16, 8, 1, 0, NULL));
  uint64_t skey[2] = {1, 0}, sval = 5;
  report("cgroup storage update",
         elem(BPF_MAP_UPDATE_ELEM, st, skey, &sval, BPF_ANY));
  report("cgroup storage delete", elem(BPF_MAP_DELETE_ELEM, st, skey, NULL, 0));
  close(st);
  close(arr);
  close(slash);
  if (cg >= 0) close(cg);
}

// Device binding (bpf_prog_dev_bound_init, bpf_map_offload_map_alloc):
// lo (ifindex 1) has no ndo_bpf, 9999 names no device; prog_flags the
// kernel does not know.
static void DevBound(void) {
  const struct bpf_insn ret2[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  static const struct {
    const char* what;
    int type;
    uint32_t flags, ifindex;
  } loads[] = {
      {"xdp on lo", BPF_PROG_TYPE_XDP, 0, 1},
      {"xdp dev-bound on lo", BPF_PROG_TYPE_XDP, 1u << 6, 1},
      {"xdp on no device", BPF_PROG_TYPE_XDP, 0, 9999},
      {"xdp frags offloaded", BPF_PROG_TYPE_XDP, 1u << 5, 1},
      {"xdp sleepable on lo", BPF_PROG_TYPE_XDP, BPF_F_SLEEPABLE, 1},
      {"tc on lo", BPF_PROG_TYPE_SCHED_CLS, 0, 1},
      {"tc dev-bound", BPF_PROG_TYPE_SCHED_CLS, 1u << 6, 1},
      {"socket filter on lo", BPF_PROG_TYPE_SOCKET_FILTER, 0, 1},
      {"unknown prog flag", BPF_PROG_TYPE_XDP, 1u << 12, 0},
  };
  for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); ++i) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = loads[i].type;
    a.insns = (uint64_t)(uintptr_t)ret2;
    a.insn_cnt = 2;
    a.license = (uint64_t)(uintptr_t) "GPL";
    a.prog_flags = loads[i].flags;
    a.prog_ifindex = loads[i].ifindex;
    report(loads[i].what, sys_bpf(BPF_PROG_LOAD, &a, sizeof(a)));
  }
  static const struct {
    const char* what;
    int type;
    uint32_t ifindex;
  } maps[] = {
      {"array offloaded to lo", BPF_MAP_TYPE_ARRAY, 1},
      {"hash offloaded to no device", BPF_MAP_TYPE_HASH, 9999},
      {"per-cpu array offloaded", BPF_MAP_TYPE_PERCPU_ARRAY, 1},
  };
  for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); ++i) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = maps[i].type;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = 4;
    a.map_ifindex = maps[i].ifindex;
    report(maps[i].what, sys_bpf(BPF_MAP_CREATE, &a, sizeof(a)));
  }
}

// mmap of a BPF_F_MMAPABLE array (4 u64 values, one page): writes through
// the mapping are seen by lookups and by a program, and updates and program
// writes through the mapping; the refusals of bpf_map_mmap and
// array_map_mmap; freeze against writable mappings.
static void MmapArray(int mm) {
  const long page = sysconf(_SC_PAGESIZE);
  volatile uint64_t* p =
      mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, mm, 0);
  report("mmap array", p == MAP_FAILED ? -errno : 0);
  if (p == MAP_FAILED) return;
  p[2] = 0x11223344;
  uint32_t k = 2;
  uint64_t v = 0;
  report("lookup of a value written through mmap",
         elem(BPF_MAP_LOOKUP_ELEM, mm, &k, &v, 0));
  report("value written through mmap", (long)v);
  k = 3;
  v = 99;
  report("update", elem(BPF_MAP_UPDATE_ELEM, mm, &k, &v, 0));
  report("mapping sees the update", (long)p[3]);
  // XDP programs: r0 = (u32)value[2]; value[1] = 555 (r0 = 0).
  const struct bpf_insn get[] = {
      {BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 2},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, mm},
      {0, 0, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 0},
      {BPF_LDX | BPF_MEM | BPF_W, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  struct bpf_insn set[10];
  memcpy(set, get, sizeof(get));
  set[0].imm = 1;
  set[7] = (struct bpf_insn){BPF_ST | BPF_MEM | BPF_W, 0, 0, 0, 555};
  set[8] = (struct bpf_insn){BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0};
  set[9] = get[8];
  long pg = load(BPF_PROG_TYPE_XDP, get, 9);
  long ps = load(BPF_PROG_TYPE_XDP, set, 10);
  report("mmap progs ok", pg >= 0 && ps >= 0);
  unsigned char pkt[14] = {0};
  run("prog reads the value written through mmap", pg, pkt, 14, NULL, 0, NULL,
      0, NULL, 0, 0, 0, 0);
  run("prog writes a value", ps, pkt, 14, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0);
  report("mapping sees the program's write", (long)(p[1] & 0xffffffff));
  // A second, read-only mapping shares the pages.
  volatile uint64_t* q = mmap(NULL, page, PROT_READ, MAP_SHARED, mm, 0);
  report("mmap read-only", q == MAP_FAILED ? -errno : 0);
  if (q != MAP_FAILED) {
    report("read-only mapping sees both", q[2] == 0x11223344 && q[3] == 99);
    munmap((void*)q, page);
  }
  // Refusals: past the values, at the page after them, private, exec.
  void* r = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, mm, 0);
  report("mmap two pages", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, page, PROT_READ, MAP_SHARED, mm, page);
  report("mmap at page 1", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, mm, 0);
  report("mmap private", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, mm, 0);
  report("mmap exec", r == MAP_FAILED ? -errno : 0);
  // Freeze: EBUSY while a writable mapping lives, then writable mappings
  // are EPERM and read-only ones still see the values.
  report("freeze with a writable mapping",
         elem(BPF_MAP_FREEZE, mm, NULL, NULL, 0));
  munmap((void*)p, page);
  report("freeze after munmap", elem(BPF_MAP_FREEZE, mm, NULL, NULL, 0));
  r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, mm, 0);
  report("mmap writable frozen", r == MAP_FAILED ? -errno : 0);
  q = mmap(NULL, page, PROT_READ, MAP_SHARED, mm, 0);
  report("mmap read-only frozen", q == MAP_FAILED ? -errno : 0);
  if (q != MAP_FAILED) {
    report("frozen mapping value", (long)q[3]);
    munmap((void*)q, page);
  }
  // BPF_F_RDONLY_PROG: no writable mapping (EACCES), a read-only one is
  // fine; a BPF_F_RDONLY fd maps nothing shared (EINVAL).
  int rp = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4,
                      BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, NULL);
  r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, rp, 0);
  report("mmap writable rdonly_prog", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, page, PROT_READ, MAP_SHARED, rp, 0);
  report("mmap read-only rdonly_prog", r == MAP_FAILED ? -errno : 0);
  if (r != MAP_FAILED) munmap(r, page);
  int ro = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4,
                      BPF_F_MMAPABLE | BPF_F_RDONLY, NULL);
  r = mmap(NULL, page, PROT_READ, MAP_SHARED, ro, 0);
  report("mmap rdonly fd", r == MAP_FAILED ? -errno : 0);
  close(rp);
  close(ro);
  close((int)pg);
  close((int)ps);
}

// tests/exec/test_progs.h's ring program.
static long ring_prog(int rb) {
  struct bpf_insn insns[26];
  return load(BPF_PROG_TYPE_SOCKET_FILTER, insns, ring_prog_insns(insns, rb));
}

// One test run of ring_prog whose skb->len is `len` (the packet less its
// Ethernet header).
static void ring_run(long prog, uint32_t len) {
  unsigned char pkt[128];
  memset(pkt, 0, sizeof(pkt));
  pkt[12] = 0x08;  // IPv4
  char what[64];
  snprintf(what, sizeof(what), "ringbuf run len %u", len);
  run(what, prog, pkt, len + 14, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0);
}

// Reads the committed records from the consumer position on, as libbpf's
// ringbuf_process_ring does, and moves the consumer position past them.
static void ring_consume(volatile uint64_t* cons, volatile uint64_t* prod,
                         const uint8_t* data, uint64_t mask) {
  uint64_t c = *cons;
  const uint64_t p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
  while (c < p) {
    const uint32_t hdr =
        __atomic_load_n((const uint32_t*)(data + (c & mask)), __ATOMIC_ACQUIRE);
    if (hdr & BPF_RINGBUF_BUSY_BIT) break;
    const uint32_t n = hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    const uint8_t* s = data + (c & mask) + BPF_RINGBUF_HDR_SZ;
    uint64_t w0, w496, w992, masked;
    memcpy(&w0, s, 8);
    memcpy(&w496, s + 496, 8);
    memcpy(&w992, s + 992, 8);
    // The same word through the first copy of the data (the kernel maps
    // the data pages twice: both show the record).
    memcpy(&masked, data + ((c + BPF_RINGBUF_HDR_SZ + 992) & mask), 8);
    printf("record at %llu len %u%s: %llu %llu %llu, masked %llu\n",
           (unsigned long long)(c & mask), n,
           (hdr & BPF_RINGBUF_DISCARD_BIT) ? " discarded" : "",
           (unsigned long long)w0, (unsigned long long)w496,
           (unsigned long long)w992, (unsigned long long)masked);
    c += (n + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
  }
  __atomic_store_n(cons, c, __ATOMIC_RELEASE);
  printf("consumer %llu producer %llu\n", (unsigned long long)c,
         (unsigned long long)p);
}

// A BPF_MAP_TYPE_RINGBUF read as libbpf reads one: the consumer page
// mapped read-write, the producer page and the data (twice) read-only, an
// epoll instance watching the map fd; records from program test runs,
// with BPF_RB_NO_WAKEUP / BPF_RB_FORCE_WAKEUP, a discarded record, a
// record that wraps, a full ring, and a forked reader killed while it
// waits.
static void Ringbuf(void) {
  const long page = sysconf(_SC_PAGESIZE);
  const uint64_t size = 4096;
  int rb = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0, (int)size, 0, NULL);
  report("ringbuf create ok", rb >= 0);
  long prog = ring_prog(rb);
  report("ringbuf prog ok", prog >= 0);
  if (rb < 0 || prog < 0) return;
  // ringbuf_map_mmap_kern: only the consumer page may be writable.
  void* r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, rb, page);
  report("mmap producer page writable", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, rb, 0);
  report("mmap two pages writable", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, 2 * page + 2 * size + page, PROT_READ, MAP_SHARED, rb, 0);
  report("mmap beyond the data", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, page, PROT_READ, MAP_PRIVATE, rb, 0);
  report("mmap private", r == MAP_FAILED ? -errno : 0);
  volatile uint64_t* cons =
      mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, rb, 0);
  report("mmap consumer page", cons == MAP_FAILED ? -errno : 0);
  uint8_t* prod_map =
      mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, rb, page);
  report("mmap producer page and data", prod_map == MAP_FAILED ? -errno : 0);
  if (cons == MAP_FAILED || prod_map == MAP_FAILED) return;
  volatile uint64_t* prod = (volatile uint64_t*)prod_map;
  const uint8_t* data = prod_map + page;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xabc};
  report("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) ? -errno : 0);
  report("epoll add again", epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) ? -errno : 0);
  ev.data.u64 = 0xdef;
  report("epoll mod", epoll_ctl(ep, EPOLL_CTL_MOD, rb, &ev) ? -errno : 0);
  print_epoll_wait(ep, "empty ring");
  // A record at the consumer position wakes the reader; the item stays
  // ready (level-triggered) until the data is consumed.
  ring_run(prog, 64);
  print_epoll_wait(ep, "after a record");
  print_epoll_wait(ep, "again");
  ring_consume(cons, prod, data, size - 1);
  print_epoll_wait(ep, "after consuming");
  // BPF_RB_NO_WAKEUP: data, but no wake-up; FORCE_WAKEUP wakes.
  ring_run(prog, 66);
  print_epoll_wait(ep, "after NO_WAKEUP");
  ring_run(prog, 68);
  print_epoll_wait(ep, "after FORCE_WAKEUP");
  ring_consume(cons, prod, data, size - 1);
  // A discarded record is committed, and wakes.
  ring_run(prog, 65);
  print_epoll_wait(ep, "after a discard");
  ring_consume(cons, prod, data, size - 1);
  // 4032: the next record wraps past the end of the data.
  ring_run(prog, 64);
  print_epoll_wait(ep, "after a wrapping record");
  ring_consume(cons, prod, data, size - 1);
  // Four records fit (4 * 1008 <= 4095), the fifth finds no room.
  for (int i = 0; i < 5; ++i) ring_run(prog, 64 + 2 * (i % 2));
  print_epoll_wait(ep, "full ring");
  ring_consume(cons, prod, data, size - 1);
  print_epoll_wait(ep, "drained");
  // A reader killed in epoll_wait; the ring keeps working for the others.
  pid_t pid = fork();
  if (pid == 0) {
    struct epoll_event e;
    epoll_wait(ep, &e, 1, -1);
    _exit(0);
  }
  usleep(100 * 1000);
  kill(pid, SIGKILL);
  int st = 0;
  waitpid(pid, &st, 0);
  report("reader killed while polling", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  ring_run(prog, 64);
  print_epoll_wait(ep, "after the reader died");
  ring_consume(cons, prod, data, size - 1);
  report("epoll del", epoll_ctl(ep, EPOLL_CTL_DEL, rb, NULL) ? -errno : 0);
  report("epoll del again",
         epoll_ctl(ep, EPOLL_CTL_DEL, rb, NULL) ? -errno : 0);
  ev.data.u64 = 1;
  report("epoll mod after del",
         epoll_ctl(ep, EPOLL_CTL_MOD, rb, &ev) ? -errno : 0);
  report("epoll add bad event",
         epoll_ctl(ep, EPOLL_CTL_ADD, rb, (void*)8) ? -errno : 0);
  report("epoll add to a non-epoll fd",
         epoll_ctl(rb, EPOLL_CTL_ADD, rb, &ev) ? -errno : 0);
  report("epoll add to a closed fd",
         epoll_ctl(999, EPOLL_CTL_ADD, rb, &ev) ? -errno : 0);
  ring_run(prog, 64);
  print_epoll_wait(ep, "after del");
  close(ep);
  munmap((void*)cons, page);
  munmap(prod_map, page + 2 * size);
  close((int)prog);
  close(rb);
}

// tests/exec/test_progs.h's drain program, with its BTF func_info.
static long user_ring_prog(int rb) {
  struct bpf_insn insns[12];
  const int n = drain_prog_insns(insns, rb);
  long b = btf_load(&kDrainBtf, sizeof(kDrainBtf), NULL, 0, 0);
  report("user ringbuf btf ok", b >= 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)n;
  a.license = (uint64_t)(uintptr_t) "GPL";
  a.prog_btf_fd = (uint32_t)b;
  a.func_info_rec_size = 8;
  a.func_info = (uint64_t)(uintptr_t)kDrainFuncInfo;
  a.func_info_cnt = 2;
  long p = sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
  close((int)b);
  return p;
}

// Writes committed samples as libbpf's user_ring_buffer__submit leaves
// them until the ring is full: 4 samples of 1016 bytes (1024 with the
// header) fill 4096.
static void user_ring_fill(volatile uint64_t* prod, uint8_t* data,
                           uint64_t mask) {
  uint64_t p = *prod;
  for (int i = 0; i < 4; ++i) {
    uint32_t hdr[2] = {1016, 0};
    memcpy(data + (p & mask), hdr, sizeof(hdr));
    memset(data + (p & mask) + 8, i + 1, 8);
    p += 1024;
    __atomic_store_n(prod, p, __ATOMIC_RELEASE);
  }
}

// A BPF_MAP_TYPE_USER_RINGBUF written through the child's own mappings
// (the consumer page read-only, the producer page and data read-write)
// and watched for EPOLLOUT: ready while it has room, woken by a drain.
static void UserRingbuf(void) {
  const long page = sysconf(_SC_PAGESIZE);
  const uint64_t size = 4096;
  int rb = map_create(BPF_MAP_TYPE_USER_RINGBUF, 0, 0, (int)size, 0, NULL);
  report("user ringbuf create ok", rb >= 0);
  long prog = user_ring_prog(rb);
  report("user ringbuf prog ok", prog >= 0);
  if (rb < 0 || prog < 0) return;
  void* r = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, rb, 0);
  report("user mmap consumer page writable", r == MAP_FAILED ? -errno : 0);
  volatile uint64_t* cons = mmap(NULL, page, PROT_READ, MAP_SHARED, rb, 0);
  report("user mmap consumer page", cons == MAP_FAILED ? -errno : 0);
  uint8_t* prod_map =
      mmap(NULL, page + 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, rb, page);
  report("user mmap producer page and data",
         prod_map == MAP_FAILED ? -errno : 0);
  if (cons == MAP_FAILED || prod_map == MAP_FAILED) return;
  volatile uint64_t* prod = (volatile uint64_t*)prod_map;
  uint8_t* data = prod_map + page;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = 0x77};
  report("user epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, rb, &ev) ? -errno : 0);
  print_epoll_wait(ep, "user empty ring");
  user_ring_fill(prod, data, size - 1);
  print_epoll_wait(ep, "user full ring");
  run("user drain", prog, (unsigned char[78]){0}, 64 + 14, NULL, 0, NULL, 0,
      NULL, 0, 0, 0, 0);
  print_epoll_wait(ep, "user after a drain");
  user_ring_fill(prod, data, size - 1);
  print_epoll_wait(ep, "user full again");
  run("user drain NO_WAKEUP", prog, (unsigned char[79]){0}, 65 + 14, NULL, 0,
      NULL, 0, NULL, 0, 0, 0, 0);
  print_epoll_wait(ep, "user after NO_WAKEUP");
  run("user drain FORCE_WAKEUP", prog, (unsigned char[80]){0}, 66 + 14, NULL, 0,
      NULL, 0, NULL, 0, 0, 0, 0);
  print_epoll_wait(ep, "user after FORCE_WAKEUP");
  report("user consumer position", (long)*cons);
  report("user epoll del", epoll_ctl(ep, EPOLL_CTL_DEL, rb, NULL) ? -errno : 0);
  close(ep);
  munmap((void*)cons, page);
  munmap(prod_map, page + 2 * size);
  close((int)prog);
  close(rb);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int h = map_create(BPF_MAP_TYPE_HASH, 4, 8, 16, 0, NULL);
  report("hash create ok", h >= 0);
  if (h < 0) {
    report("hash create", h);
    return 1;
  }
  uint32_t k = 1;
  uint64_t v = 42, out = 0;
  report("update", elem(BPF_MAP_UPDATE_ELEM, h, &k, &v, BPF_ANY));
  report("update noexist", elem(BPF_MAP_UPDATE_ELEM, h, &k, &v, BPF_NOEXIST));
  report("lookup", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 0));
  report("lookup value", (long)out);
  uint32_t missing = 7;
  report("lookup missing", elem(BPF_MAP_LOOKUP_ELEM, h, &missing, &out, 0));
  report("lookup bad flags", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 99));
  report("lookup bad key ptr", elem(BPF_MAP_LOOKUP_ELEM, h, (void*)8, &out, 0));
  report("lookup bad value ptr", elem(BPF_MAP_LOOKUP_ELEM, h, &k, (void*)8, 0));
  report("update bad value ptr", elem(BPF_MAP_UPDATE_ELEM, h, &k, (void*)8, 0));
  report("lookup bad fd", elem(BPF_MAP_LOOKUP_ELEM, 999, &k, &out, 0));
  report("lookup non-map fd", elem(BPF_MAP_LOOKUP_ELEM, 1, &k, &out, 0));
  uint32_t next = 0;
  report("next first", elem(BPF_MAP_GET_NEXT_KEY, h, NULL, &next, 0));
  report("next first key", next);
  report("next last", elem(BPF_MAP_GET_NEXT_KEY, h, &k, &next, 0));
  // A dup and a forked child share the map.
  int d = dup(h);
  v = 43;
  report("update via dup", elem(BPF_MAP_UPDATE_ELEM, d, &k, &v, BPF_EXIST));
  close(d);
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t c = 0;
    long r = elem(BPF_MAP_LOOKUP_ELEM, h, &k, &c, 0);
    _exit(r == 0 && c == 43 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  report("child saw update", WIFEXITED(st) && WEXITSTATUS(st) == 0);
  report("delete", elem(BPF_MAP_DELETE_ELEM, h, &k, NULL, 0));
  report("delete again", elem(BPF_MAP_DELETE_ELEM, h, &k, NULL, 0));
  // attr size rules.
  {
    char big[200];
    memset(big, 0, sizeof(big));
    union bpf_attr* a = (union bpf_attr*)big;
    a->map_fd = h;
    a->key = (uint64_t)(uintptr_t)&k;
    a->value = (uint64_t)(uintptr_t)&out;
    report("lookup long zero attr", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 200));
    big[190] = 1;
    report("lookup long nonzero attr", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 200));
    report("attr over a page", sys_bpf(BPF_MAP_LOOKUP_ELEM, a, 8192));
    report("attr bad pointer",
           syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, 8, 32) < 0 ? -errno : 0);
    union bpf_attr c;
    memset(&c, 0, sizeof(c));
    c.map_fd = h;
    c.key = (uint64_t)(uintptr_t)&k;
    c.flags = 1;  // beyond DELETE's last field
    report("delete check_attr", sys_bpf(BPF_MAP_DELETE_ELEM, &c, sizeof(c)));
  }
  // Batch on an array.
  int arr = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 8, 0, NULL);
  report("array create ok", arr >= 0);
  {
    uint32_t keys[4] = {0, 1, 2, 3}, vals[4] = {10, 11, 12, 13};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)vals;
    a.batch.count = 4;
    report("update batch", sys_bpf(BPF_MAP_UPDATE_BATCH, &a, sizeof(a)));
    report("update batch count", a.batch.count);
    uint32_t ok[8], ov[8], outb = 0;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = arr;
    a.batch.keys = (uint64_t)(uintptr_t)ok;
    a.batch.values = (uint64_t)(uintptr_t)ov;
    a.batch.out_batch = (uint64_t)(uintptr_t)&outb;
    a.batch.count = 8;
    report("lookup batch", sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, sizeof(a)));
    report("lookup batch count", a.batch.count);
    report("lookup batch v3", ov[3]);
  }
  // Freeze, read-only fds, info.
  report("freeze", elem(BPF_MAP_FREEZE, arr, NULL, NULL, 0));
  {
    uint32_t k0 = 0, v0 = 1;
    report("update frozen", elem(BPF_MAP_UPDATE_ELEM, arr, &k0, &v0, 0));
    report("freeze again", elem(BPF_MAP_FREEZE, arr, NULL, NULL, 0));
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = arr;
    a.info.info_len = sizeof(info);
    a.info.info = (uint64_t)(uintptr_t)&info;
    report("info", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
    report("info type", info.type);
    report("info max_entries", info.max_entries);
    report("info len", a.info.info_len);
    a.info.bpf_fd = 999;
    report("info bad fd", sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)));
  }
  int ro = map_create(BPF_MAP_TYPE_ARRAY, 4, 4, 2, BPF_F_RDONLY, NULL);
  {
    uint32_t k0 = 0, v0 = 1;
    report("update rdonly", elem(BPF_MAP_UPDATE_ELEM, ro, &k0, &v0, 0));
    report("lookup rdonly", elem(BPF_MAP_LOOKUP_ELEM, ro, &k0, &v0, 0));
  }
  // mmap of a BPF_F_MMAPABLE array by the process itself.
  int mm = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, NULL);
  report("mmapable create ok", mm >= 0);
  MmapArray(mm);
  Ringbuf();
  UserRingbuf();
  Btf(h);
  TestRuns();
  CgroupSkbRuns();
  SkLookupRuns();
  Lifetimes();
  Stats();
  DevBound();
  Cgroups();
  // Unknown and unprivileged commands.
  {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    report("unknown command", sys_bpf(1000, &a, sizeof(a)));
  }
  report("close", close(h));
  report("lookup closed", elem(BPF_MAP_LOOKUP_ELEM, h, &k, &out, 0));
  return 0;
}
