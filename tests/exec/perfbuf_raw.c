// SPDX-License-Identifier: Apache-2.0
// A perf buffer reader through raw system calls only (no libbpf), for
// tests/exec: perf_event_open of BPF output events (and its refusals), a
// BPF_MAP_TYPE_PERF_EVENT_ARRAY holding them, the event's mmap (struct
// perf_event_mmap_page, then the data pages) and epoll, and the records
// that program test runs write with bpf_perf_event_output: wakeup_events
// and watermark wake-ups, a disabled event, a full ring's lost samples
// (PERF_RECORD_LOST), a record wrapping the end of the data, a reader
// killed in epoll_wait. Run under `bpfemu exec` and, as root, on the
// kernel; prints "name = result" lines (result: a value or -errno) and one
// line per record, so both runs compare line by line. Event and map ids
// differ between runs and are not printed.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/exec/raw_sys.h"
#include "tests/exec/test_progs.h"

static void report(const char* what, long r) { printf("%s = %ld\n", what, r); }

static long perf_open(struct perf_event_attr* a, int pid, int cpu, int group,
                      unsigned long flags) {
  long r = syscall(SYS_perf_event_open, a, pid, cpu, group, flags);
  return r < 0 ? -errno : r;
}

// libbpf's perf buffer attributes, with wakeup_events `wakeup`.
static void bpf_output_attr(struct perf_event_attr* a, uint32_t wakeup) {
  memset(a, 0, sizeof(*a));
  a->size = sizeof(*a);
  a->type = PERF_TYPE_SOFTWARE;
  a->config = PERF_COUNT_SW_BPF_OUTPUT;
  a->sample_type = PERF_SAMPLE_RAW;
  a->sample_period = 1;
  a->wakeup_events = wakeup;
}

static void open_case(const char* what, struct perf_event_attr* a, int pid,
                      int cpu, int group, unsigned long flags) {
  long fd = perf_open(a, pid, cpu, group, flags);
  report(what, fd >= 0 ? 0 : fd);
  if (fd >= 0) close((int)fd);
}

// perf_copy_attr's and perf_event_open's refusals for a BPF output event.
static void OpenRefusals(void) {
  struct {
    struct perf_event_attr a;
    uint8_t tail[4096];
  } big;
  struct perf_event_attr* a = &big.a;
  bpf_output_attr(a, 1);
  a->size = 1;
  open_case("open size 1", a, -1, 0, -1, 0);
  report("size written back", a->size);
  bpf_output_attr(a, 1);
  a->size = 4097;
  open_case("open size 4097", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  memset(big.tail, 0, sizeof(big.tail));
  // 136 bytes since 6.3 (config3); more must be zero.
  a->size = 144;
  open_case("open larger zeroed", a, -1, 0, -1, 0);
  ((uint8_t*)a)[139] = 1;
  open_case("open larger non-zero tail", a, -1, 0, -1, 0);
  report("size written back", a->size);
  bpf_output_attr(a, 1);
  a->size = 0;
  open_case("open size 0 (VER0)", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->__reserved_1 = 1;
  open_case("open reserved_1", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->__reserved_2 = 1;
  open_case("open reserved_2", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->sample_type = 1ull << 40;
  open_case("open unknown sample_type", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->read_format = 1ull << 20;
  open_case("open unknown read_format", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->inherit_thread = 1;
  open_case("open inherit_thread without inherit", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->remove_on_exec = 1;
  a->enable_on_exec = 1;
  open_case("open remove_on_exec and enable_on_exec", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->sigtrap = 1;
  open_case("open sigtrap without remove_on_exec", a, -1, 0, -1, 0);
  a->remove_on_exec = 1;
  open_case("open sigtrap of a CPU", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->freq = 1;
  a->sample_freq = 1ull << 40;
  open_case("open freq above the rate", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->sample_period = 1ull << 63;
  open_case("open period bit 63", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->use_clockid = 1;
  a->clockid = 99;
  open_case("open unknown clockid", a, -1, 0, -1, 0);
  a->clockid = CLOCK_MONOTONIC;
  open_case("open monotonic clock", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  a->inherit = 1;
  a->sample_type |= PERF_SAMPLE_READ;
  open_case("open inherit sample_read without tid", a, -1, 0, -1, 0);
  bpf_output_attr(a, 1);
  open_case("open pid -1 cpu -1", a, -1, -1, -1, 0);
  open_case("open cpu 4096", a, -1, 4096, -1, 0);
  open_case("open cpu -2", a, -1, -2, -1, 0);
  open_case("open unknown flag", a, -1, 0, -1, 1ul << 20);
  open_case("open bad attr", (struct perf_event_attr*)8, -1, 0, -1, 0);
  open_case("open self any cpu", a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  open_case("open self by pid", a, getpid(), 0, -1, 0);
}

// tests/exec/test_progs.h's perf output program.
static long output_prog(int map, uint32_t flags) {
  struct bpf_insn insns[80];
  const int n = output_prog_insns(insns, map, flags);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = n;
  a.license = (uint64_t)(uintptr_t) "GPL";
  return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

// One test run whose skb->len is `len`: prints the helper's answer.
static void out_run(long prog, uint32_t len) {
  unsigned char pkt[600];
  memset(pkt, 0, sizeof(pkt));
  pkt[12] = 0x08;  // IPv4
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = (uint32_t)prog;
  a.test.data_in = (uint64_t)(uintptr_t)pkt;
  a.test.data_size_in = len + 14;
  long r = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a));
  char what[64];
  snprintf(what, sizeof(what), "output len %u: retval %d; run", len,
           (int)a.test.retval);
  report(what, r);
}

// Reads the records from data_tail to data_head, as libbpf's
// perf_event_read_simple does (a record that wraps is copied out first),
// and moves data_tail past them.
static void perf_consume(uint8_t* base) {
  struct perf_event_mmap_page* pg = (struct perf_event_mmap_page*)base;
  const uint64_t size = pg->data_size;
  const uint8_t* data = base + pg->data_offset;
  const uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = pg->data_tail;
  static uint8_t rec[65536];
  while (tail < head) {
    const uint64_t off = tail & (size - 1);
    struct perf_event_header h;
    for (size_t i = 0; i < sizeof(h); ++i) {
      ((uint8_t*)&h)[i] = data[(off + i) & (size - 1)];
    }
    if (h.size < sizeof(h)) {
      printf("bad record size %u\n", h.size);
      break;
    }
    for (size_t i = 0; i < h.size; ++i) rec[i] = data[(off + i) & (size - 1)];
    const char* wraps = off + h.size > size ? " wraps" : "";
    if (h.type == PERF_RECORD_SAMPLE) {
      uint32_t raw;
      uint64_t len, sum = 0;
      memcpy(&raw, rec + 8, 4);
      memcpy(&len, rec + 12, 8);
      for (uint64_t i = 0; i < len && 12 + i < h.size; ++i) sum += rec[12 + i];
      printf("sample at %llu size %u misc %u raw %u: len %llu sum %llu%s\n",
             (unsigned long long)off, h.size, h.misc, raw,
             (unsigned long long)len, (unsigned long long)sum, wraps);
    } else if (h.type == PERF_RECORD_LOST) {
      uint64_t lost;
      memcpy(&lost, rec + 16, 8);
      printf("lost at %llu size %u: %llu%s\n", (unsigned long long)off, h.size,
             (unsigned long long)lost, wraps);
    } else {
      printf("record type %u at %llu size %u\n", h.type,
             (unsigned long long)off, h.size);
    }
    tail += h.size;
  }
  __atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
  printf("data_head %llu data_tail %llu\n", (unsigned long long)head,
         (unsigned long long)tail);
}

static void Perfbuf(void) {
  const long page = sysconf(_SC_PAGESIZE);
  int map = map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, NULL);
  report("perf array create ok", map >= 0);
  long prog = output_prog(map, 0xffffffffu);  // BPF_F_CURRENT_CPU
  long prog1 = output_prog(map, 1);
  report("prog ok", prog >= 0 && prog1 >= 0);
  if (map < 0 || prog < 0 || prog1 < 0) return;
  uint32_t key = 0;
  int pfd[2];
  if (pipe(pfd) != 0) return;
  report("update with a pipe",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &pfd[0], 0));
  int closed = 999;
  report("update with a closed fd",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &closed, 0));
  report("update with the map", elem(BPF_MAP_UPDATE_ELEM, map, &key, &map, 0));
  close(pfd[0]);
  close(pfd[1]);
  struct perf_event_attr a;
  bpf_output_attr(&a, 1);
  a.inherit = 1;
  long inh = perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  report("open inherit ok", inh >= 0);
  int inh_fd = (int)inh;
  report("update with an inherit event",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &inh_fd, 0));
  close(inh_fd);
  // The reader's events: CPU 0 wakes every second record, CPU 1 each.
  bpf_output_attr(&a, 2);
  long ev0 = perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  bpf_output_attr(&a, 1);
  long ev1 = perf_open(&a, -1, 1, -1, PERF_FLAG_FD_CLOEXEC);
  report("open cpu 0 ok", ev0 >= 0);
  report("open cpu 1 ok", ev1 >= 0);
  if (ev0 < 0 || ev1 < 0) return;
  int fd0 = (int)ev0, fd1 = (int)ev1;
  char path[64], link[64] = {0};
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd0);
  if (readlink(path, link, sizeof(link) - 1) < 0) strcpy(link, "?");
  printf("event fd is %s\n", link);
  report("update 4 flags", elem(BPF_MAP_UPDATE_ELEM, map, &key, &fd0, 4));
  key = 2;
  report("update out of range", elem(BPF_MAP_UPDATE_ELEM, map, &key, &fd0, 0));
  key = 0;
  // Before any mapping: no ring, the sample is dropped (-ENOSPC).
  report("update cpu 0", elem(BPF_MAP_UPDATE_ELEM, map, &key, &fd0, 0));
  key = 1;
  report("update cpu 1", elem(BPF_MAP_UPDATE_ELEM, map, &key, &fd1, 0));
  out_run(prog, 64);
  // perf_mmap: 1 + 2^n pages, shared, offset 0, one size per event.
  void* r = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, 0);
  report("mmap 1 + 3 pages", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd0, 0);
  report("mmap private", r == MAP_FAILED ? -errno : 0);
  r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, page);
  report("mmap at offset 1 page", r == MAP_FAILED ? -errno : 0);
  // rb_alloc's page array beyond an order-10 allocation.
  r = mmap(NULL, ((size_t)1 << 19) * page + page, PROT_READ | PROT_WRITE,
           MAP_SHARED, fd0, 0);
  report("mmap 1 + 2^19 pages", r == MAP_FAILED ? -errno : 0);
  uint8_t* base =
      mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, 0);
  report("mmap 1 + 1 pages", base == MAP_FAILED ? -errno : 0);
  if (base == MAP_FAILED) return;
  r = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, 0);
  report("mmap 1 + 2 pages after 1 + 1", r == MAP_FAILED ? -errno : 0);
  if (r != MAP_FAILED) munmap(r, 3 * page);
  uint8_t* again =
      mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd0, 0);
  report("mmap the same size again", again == MAP_FAILED ? -errno : 0);
  struct perf_event_mmap_page* pg = (struct perf_event_mmap_page*)base;
  report("capabilities", (long)pg->capabilities);
  report("size", (long)pg->size);
  report("data_offset", (long)pg->data_offset);
  report("data_size", (long)pg->data_size);
  report("data_head", (long)pg->data_head);
  report("data_tail", (long)pg->data_tail);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xabc};
  report("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, fd0, &ev) ? -errno : 0);
  report("epoll add again",
         epoll_ctl(ep, EPOLL_CTL_ADD, fd0, &ev) ? -errno : 0);
  print_epoll_wait(ep, "no records");
  // wakeup_events 2: the first record wakes no one, the second does; the
  // wake-up is reported once, whatever remains to read.
  out_run(prog, 100);
  print_epoll_wait(ep, "after one record");
  out_run(prog, 101);
  print_epoll_wait(ep, "after two records");
  print_epoll_wait(ep, "again");
  report("second mapping sees the head",
         (long)((struct perf_event_mmap_page*)again)->data_head);
  perf_consume(base);
  print_epoll_wait(ep, "after consuming");
  // Index 1 holds CPU 1's event: output from CPU 0 is refused.
  out_run(prog1, 64);
  // A disabled event is on no CPU.
  report("ioctl disable", ioctl(fd0, PERF_EVENT_IOC_DISABLE, 0) ? -errno : 0);
  out_run(prog, 64);
  report("ioctl enable", ioctl(fd0, PERF_EVENT_IOC_ENABLE, 0) ? -errno : 0);
  out_run(prog, 64);
  print_epoll_wait(ep, "after the third record");
  // A reader blocked in epoll_wait takes the wake-up.
  pid_t pid = fork();
  if (pid == 0) {
    struct epoll_event e;
    _exit(epoll_wait(ep, &e, 1, 3000));
  }
  usleep(200 * 1000);
  out_run(prog, 64);
  int st = 0;
  waitpid(pid, &st, 0);
  report("blocked reader's epoll_wait", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  print_epoll_wait(ep, "after the blocked reader took it");
  perf_consume(base);
  // A full ring: 1016-byte records; what finds no room is lost, and the
  // next record that fits is preceded by PERF_RECORD_LOST.
  for (int i = 0; i < 8; ++i) out_run(prog, 504 + i % 2);
  print_epoll_wait(ep, "full ring");
  perf_consume(base);
  out_run(prog, 400);
  out_run(prog, 401);
  perf_consume(base);
  for (int i = 0; i < 3; ++i) out_run(prog, 300 + 2 * i);
  perf_consume(base);
  // A wake-up no wait took is reported once, with nothing left to read.
  print_epoll_wait(ep, "stale wake-up");
  print_epoll_wait(ep, "stale wake-up again");
  // Every poll of the item takes a pending wake-up (perf_poll's xchg):
  // the one EPOLL_CTL_MOD makes, and the one of an item added to a second
  // epoll instance; the waits that follow report nothing.
  out_run(prog, 64);
  out_run(prog, 64);
  ev.data.u64 = 0xabd;
  report("epoll mod", epoll_ctl(ep, EPOLL_CTL_MOD, fd0, &ev) ? -errno : 0);
  print_epoll_wait(ep, "after a wake-up and a mod");
  out_run(prog, 64);
  out_run(prog, 64);
  int ep2 = epoll_create1(EPOLL_CLOEXEC);
  report("epoll add to a second instance",
         epoll_ctl(ep2, EPOLL_CTL_ADD, fd0, &ev) ? -errno : 0);
  print_epoll_wait(ep2, "second instance after a wake-up");
  print_epoll_wait(ep, "first instance after the second's add");
  // A wake-up reaches both instances; the first wait takes it.
  out_run(prog, 64);
  out_run(prog, 64);
  print_epoll_wait(ep2, "second instance after a wake-up");
  print_epoll_wait(ep, "first instance after the second's wait");
  close(ep2);
  perf_consume(base);
  // A reader killed in epoll_wait; the event keeps working.
  pid = fork();
  if (pid == 0) {
    struct epoll_event e;
    epoll_wait(ep, &e, 1, -1);
    _exit(0);
  }
  usleep(100 * 1000);
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  report("reader killed while polling", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  out_run(prog, 64);
  out_run(prog, 65);
  print_epoll_wait(ep, "after the reader died");
  perf_consume(base);
  // watermark: a wake-up each time the head passes 300 more bytes.
  bpf_output_attr(&a, 0);
  a.watermark = 1;
  a.wakeup_watermark = 300;
  long evw = perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  int fdw = (int)evw;
  uint8_t* wbase =
      mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fdw, 0);
  report("watermark event mapped", evw >= 0 && wbase != MAP_FAILED);
  if (evw < 0 || wbase == MAP_FAILED) return;
  key = 0;
  report("replace cpu 0", elem(BPF_MAP_UPDATE_ELEM, map, &key, &fdw, 0));
  ev.data.u64 = 0x123;
  report("epoll add watermark",
         epoll_ctl(ep, EPOLL_CTL_ADD, fdw, &ev) ? -errno : 0);
  out_run(prog, 200);
  print_epoll_wait(ep, "watermark after 216 bytes");
  out_run(prog, 200);
  print_epoll_wait(ep, "watermark after 432 bytes");
  out_run(prog, 100);
  print_epoll_wait(ep, "watermark after 552 bytes");
  perf_consume(wbase);
  // A read-only mapping: an overwrite ring, the tail not looked at.
  bpf_output_attr(&a, 1);
  long evo = perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  int fdo = (int)evo;
  uint8_t* obase = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fdo, 0);
  report("read-only mapping", evo < 0 ? evo : obase == MAP_FAILED ? -errno : 0);
  if (evo < 0 || obase == MAP_FAILED) return;
  report("replace cpu 0 with the overwrite ring",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &fdo, 0));
  for (int i = 0; i < 9; ++i) out_run(prog, 504 + i % 2);
  struct perf_event_mmap_page* opg = (struct perf_event_mmap_page*)obase;
  report("overwrite data_head", (long)opg->data_head);
  report("overwrite data_tail", (long)opg->data_tail);
  {
    // The newest record, at data_head - 520.
    const uint64_t at = (opg->data_head - 520) & (opg->data_size - 1);
    struct perf_event_header h;
    uint64_t len;
    uint8_t rec[520];
    for (size_t i = 0; i < sizeof(rec); ++i) {
      rec[i] = obase[opg->data_offset + ((at + i) & (opg->data_size - 1))];
    }
    memcpy(&h, rec, sizeof(h));
    memcpy(&len, rec + 12, 8);
    printf("newest record at %llu: type %u size %u len %llu\n",
           (unsigned long long)at, h.type, h.size, (unsigned long long)len);
  }
  // Page 0 alone: a ring without data pages drops every sample.
  long evz = perf_open(&a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  int fdz = (int)evz;
  uint8_t* zbase = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fdz, 0);
  report("mapping of page 0 alone", evz < 0               ? evz
                                    : zbase == MAP_FAILED ? -errno
                                                          : 0);
  if (evz < 0 || zbase == MAP_FAILED) return;
  report("its data_size",
         (long)((struct perf_event_mmap_page*)zbase)->data_size);
  r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fdz, 0);
  report("then 1 + 1 pages", r == MAP_FAILED ? -errno : 0);
  report("replace cpu 0 with the data-less ring",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &fdz, 0));
  out_run(prog, 64);
  report("replace cpu 0 with the watermark event",
         elem(BPF_MAP_UPDATE_ELEM, map, &key, &fdw, 0));
  munmap(obase, 2 * page);
  munmap(zbase, page);
  close(fdo);
  close(fdz);
  report("epoll del", epoll_ctl(ep, EPOLL_CTL_DEL, fd0, NULL) ? -errno : 0);
  report("epoll del again",
         epoll_ctl(ep, EPOLL_CTL_DEL, fd0, NULL) ? -errno : 0);
  report("delete cpu 0", elem(BPF_MAP_DELETE_ELEM, map, &key, NULL, 0));
  out_run(prog, 64);
  report("delete cpu 0 again", elem(BPF_MAP_DELETE_ELEM, map, &key, NULL, 0));
  report("ioctl enable a pipe",
         ioctl(0, PERF_EVENT_IOC_ENABLE, 0) ? -errno : 0);
  close(ep);
  munmap(base, 2 * page);
  munmap(again, 2 * page);
  munmap(wbase, 2 * page);
  close(fdw);
  close(fd0);
  close(fd1);
  close((int)prog);
  close((int)prog1);
  close(map);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  // The test runs' CPU decides which event BPF_F_CURRENT_CPU picks.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  report("pinned to cpu 0", sched_setaffinity(0, sizeof(set), &set));
  OpenRefusals();
  Perfbuf();
  return 0;
}
