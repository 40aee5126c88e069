// SPDX-License-Identifier: Apache-2.0
// Bytecode programs calling the helpers (bytecode.h) without a kernel: map
// helpers, tail calls with the 33-call budget, ring buffer records,
// bpf_trace_printk formatting, and the argument checks that stop a program
// the verifier would have refused.

#include "loader/bytecode.h"

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "emu/arena.h"
#include "emu/errno.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/user_ringbuf.h"
#include "emu/version.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/helpers.h"

namespace bpfemu::native {
namespace {

namespace a = interp::asm_;
using Insns = std::vector<interp::RawInsn>;

int Create(uint32_t type, uint32_t key, uint32_t value, uint32_t max) {
  MapAttr attr;
  attr.map_type = type;
  attr.key_size = key;
  attr.value_size = value;
  attr.max_entries = max;
  return MapCreate(attr);
}

int LoadTc(const Insns& p, const char* license = "GPL") {
  return ProgLoadBytecode(BPF_PROG_TYPE_SCHED_CLS, 0, "t", p.data(),
                          static_cast<uint32_t>(p.size()), license);
}

// Runs a tc program on a 64-byte IPv4 frame.
uint32_t RunTc(int fd, bool* faulted = nullptr) {
  std::shared_ptr<const Prog> prog;
  EXPECT_EQ(ProgFromFd(fd, &prog), 0);
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;
  PacketResult r = RunSkb(*prog, frame);
  if (faulted != nullptr) *faulted = ProgFaulted();
  return r.retval;
}

// Loads `p` as a tc program, runs it once (RunTc) and closes it: what the
// run returned and, when it stopped, the interpreter's fault line.
struct TcRun {
  uint32_t ret = 0;
  bool faulted = false;
  std::string fault;  // interp::LastFault() when the run stopped
};
TcRun LoadRunTc(const Insns& p) {
  TcRun r;
  const int fd = LoadTc(p);
  EXPECT_GE(fd, 0);
  if (fd < 0) return r;
  r.ret = RunTc(fd, &r.faulted);
  if (r.faulted) r.fault = interp::LastFault();
  CloseFd(fd);
  return r;
}

// Appends: r2 = &key (u32 `key` on the stack at -4), r1 = map.
void KeyAndMap(Insns* p, int map, int32_t key) {
  p->push_back(a::St(BPF_W, BPF_REG_10, -4, key));
  p->push_back(a::MovReg(BPF_REG_2, BPF_REG_10));
  p->push_back(a::AluImm(BPF_ADD, BPF_REG_2, -4));
  a::LdMapFd(p, BPF_REG_1, map);
}

// check_helper_call()'s refusals: EINVAL with the verifier's log line
// naming the helper (the 6.18 wording, 6.1's "unknown func"), and a helper
// bpfemu lacks named as such.
TEST(BytecodeTest, RefusedHelperCallsNameTheHelper) {
  auto load = [](uint32_t type, int32_t helper, const char* license) {
    const Insns p = {a::Call(helper), a::MovImm(BPF_REG_0, 0), a::Exit()};
    std::string log;
    ProgLoadFlags flags;
    flags.log = &log;
    const int fd =
        ProgLoadBytecode(type, 0, "t", p.data(),
                         static_cast<uint32_t>(p.size()), license, flags);
    if (fd >= 0) CloseFd(fd);
    return std::make_pair(fd, log);
  };
  using R = std::pair<int, std::string>;
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, 212, "GPL"),
            R(-EINVAL, "invalid func unknown#212\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, -1, "GPL"),
            R(-EINVAL, "invalid func unknown#-1\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, BPF_FUNC_get_socket_uid, "GPL"),
            R(-EINVAL,
              "program of this type cannot use helper "
              "bpf_get_socket_uid#47\n"));
  // bpf_tcp_send_ack, the last helper bpfemu added (sops50): offered to
  // tcp_congestion_ops programs only.
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, BPF_FUNC_tcp_send_ack, "GPL"),
            R(-EINVAL,
              "program of this type cannot use helper "
              "bpf_tcp_send_ack#116\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, BPF_FUNC_probe_read_kernel, "MIT"),
            R(-EINVAL,
              "cannot call GPL-restricted function from non-GPL compatible "
              "program\n"));
  // Only where the program can go: a call jumped over is never refused.
  {
    const Insns p = {a::MovImm(BPF_REG_0, 0), a::Ja(1),
                     a::Call(BPF_FUNC_get_socket_uid), a::Exit()};
    const int fd = ProgLoadBytecode(BPF_PROG_TYPE_XDP, 0, "t", p.data(),
                                    static_cast<uint32_t>(p.size()), "MIT");
    EXPECT_GE(fd, 0);
    if (fd >= 0) CloseFd(fd);
  }
  // tc got bpf_get_netns_cookie in 6.13.
  EXPECT_GE(
      load(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_get_netns_cookie, "GPL").first, 0);
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_EQ(load(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_get_netns_cookie, "GPL"),
            R(-EINVAL,
              "program of this type cannot use helper "
              "bpf_get_netns_cookie#122\n"));
  SetTargetKernel(KernelVersion::k6_1);
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, BPF_FUNC_get_socket_uid, "GPL"),
            R(-EINVAL, "unknown func bpf_get_socket_uid#47\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, 210, "GPL"),
            R(-EINVAL, "invalid func unknown#210\n"));
  SetTargetKernel(KernelVersion::k6_18);
}

// Refusals after the program type was offered the helper, in
// check_helper_call's order and words (each pair checked against the kernel
// by //kernel_compare:helper_offer_compare_test).
TEST(BytecodeTest, OfferedHelpersRefusedAsTheVerifierDoes) {
  auto load = [](uint32_t type, uint32_t attach, int32_t helper,
                 uint32_t prog_flags) {
    const Insns p = {a::Call(helper), a::MovImm(BPF_REG_0, 0), a::Exit()};
    std::string log;
    ProgLoadFlags flags;
    flags.log = &log;
    flags.prog_flags = prog_flags;
    const int fd =
        ProgLoadBytecode(type, attach, "t", p.data(),
                         static_cast<uint32_t>(p.size()), "GPL", flags);
    if (fd >= 0) CloseFd(fd);
    return std::make_pair(fd >= 0 ? 0 : fd, log);
  };
  using R = std::pair<int, std::string>;
  // fn->might_sleep: offered to every type after 6.12, loads only where
  // the program may sleep.
  EXPECT_EQ(load(BPF_PROG_TYPE_SCHED_CLS, 0, BPF_FUNC_copy_from_user, 0),
            R(-EINVAL, "helper call might sleep in a non-sleepable prog\n"));
  EXPECT_EQ(
      load(BPF_PROG_TYPE_SYSCALL, 0, BPF_FUNC_copy_from_user, BPF_F_SLEEPABLE),
      R(0, ""));
  // fn->allowed: sk storage from a SYSCALL program.
  EXPECT_EQ(
      load(BPF_PROG_TYPE_SYSCALL, 0, BPF_FUNC_sk_storage_get, BPF_F_SLEEPABLE),
      R(-EINVAL, "helper call is not allowed in probe\n"));
  // check_get_func_ip(): ENOTSUPP outside kprobes and trampolines.
  EXPECT_EQ(load(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, BPF_FUNC_get_func_ip, 0),
            R(-524,
              "func bpf_get_func_ip#173 not supported for program "
              "type 17\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_KPROBE, 0, BPF_FUNC_get_func_ip, 0), R(0, ""));
  // Version gates: bpf_get_current_comm reached every type after 6.12.
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, 0, BPF_FUNC_get_current_comm, 0), R(0, ""));
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_EQ(load(BPF_PROG_TYPE_XDP, 0, BPF_FUNC_get_current_comm, 0),
            R(-EINVAL,
              "program of this type cannot use helper "
              "bpf_get_current_comm#16\n"));
  EXPECT_EQ(load(BPF_PROG_TYPE_SCHED_CLS, 0, BPF_FUNC_copy_from_user, 0),
            R(-EINVAL,
              "program of this type cannot use helper "
              "bpf_copy_from_user#148\n"));
  SetTargetKernel(KernelVersion::k6_18);
}

TEST(BytecodeTest, SelfTailCallRunsThirtyFourTimes) {
  const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  const int counts = Create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(table, 0);
  ASSERT_GE(counts, 0);
  Insns p;
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_1));  // ctx
  KeyAndMap(&p, counts, 0);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 2));
  p.push_back(a::MovImm(BPF_REG_1, 1));
  p.push_back(a::Atomic(BPF_DW, BPF_REG_0, BPF_REG_1, 0, BPF_ADD));
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_6));
  a::LdMapFd(&p, BPF_REG_2, table);
  p.push_back(a::MovImm(BPF_REG_3, 0));
  p.push_back(a::Call(BPF_FUNC_tail_call));
  p.push_back(a::MovImm(BPF_REG_0, 7));
  p.push_back(a::Exit());
  const int fd = LoadTc(p);
  ASSERT_GE(fd, 0);
  const uint32_t zero = 0;
  ASSERT_EQ(MapUpdateElem(table, &zero, &fd, BPF_ANY), 0);
  EXPECT_EQ(RunTc(fd), 7u);
  uint64_t n = 0;
  ASSERT_EQ(MapLookupElem(counts, &zero, &n), 0);
  EXPECT_EQ(n, 34u);  // 1 + MAX_TAIL_CALL_CNT
  CloseFd(fd);
  CloseFd(table);
  CloseFd(counts);
}

// bpf_prog_put(): a program lives while an fd or a PROG_ARRAY slot holds
// it; then its id resolves no more.
TEST(BytecodeTest, ProgramLivesWhileAnFdOrASlotHoldsIt) {
  const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  ASSERT_GE(table, 0);
  const Insns ret9 = {a::MovImm(BPF_REG_0, 9), a::Exit()};
  const int target = LoadTc(ret9);
  ASSERT_GE(target, 0);
  std::shared_ptr<const Prog> p;
  ASSERT_EQ(ProgFromFd(target, &p), 0);
  const uint32_t id = p->id;
  p.reset();
  const uint32_t slot = 1;
  ASSERT_EQ(MapUpdateElem(table, &slot, &target, BPF_ANY), 0);
  CloseFd(target);
  ASSERT_NE(ProgFromId(id), nullptr);  // the slot holds it
  // A caller tail-calls into it after its fd is gone.
  Insns caller;
  a::LdMapFd(&caller, BPF_REG_2, table);
  caller.push_back(a::MovImm(BPF_REG_3, 1));
  caller.push_back(a::Call(BPF_FUNC_tail_call));
  caller.push_back(a::MovImm(BPF_REG_0, 1));
  caller.push_back(a::Exit());
  const int fd = LoadTc(caller);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RunTc(fd), 9u);
  ASSERT_EQ(MapDeleteElem(table, &slot), 0);
  EXPECT_EQ(ProgFromId(id), nullptr);
  EXPECT_EQ(RunTc(fd), 1u);  // the slot is empty: the call falls through
  CloseFd(fd);
  CloseFd(table);
}

// Returns `value` after `spins` trips of a loop, so a run lasts a while.
Insns SpinThenReturn(int32_t value, int32_t spins) {
  return {a::MovImm(BPF_REG_1, spins), a::AluImm(BPF_SUB, BPF_REG_1, 1),
          a::JmpImm(BPF_JNE, BPF_REG_1, 0, -2), a::MovImm(BPF_REG_0, value),
          a::Exit()};
}

// Tail-calls slot `slot` of `table`; returns 1 when the call falls through.
Insns TailCaller(int table, int32_t slot) {
  Insns p;
  a::LdMapFd(&p, BPF_REG_2, table);
  p.push_back(a::MovImm(BPF_REG_3, slot));
  p.push_back(a::Call(BPF_FUNC_tail_call));
  p.push_back(a::MovImm(BPF_REG_0, 1));
  p.push_back(a::Exit());
  return p;
}

// The per-slot program cache (prog.h TailCallCache) follows every update:
// a replaced, deleted or re-set slot reaches the program it holds now.
TEST(BytecodeTest, TailCallFollowsSlotUpdates) {
  const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  ASSERT_GE(table, 0);
  const int p5 = LoadTc(SpinThenReturn(5, 1));
  const int p6 = LoadTc(SpinThenReturn(6, 1));
  const int caller = LoadTc(TailCaller(table, 0));
  ASSERT_GE(p5, 0);
  ASSERT_GE(p6, 0);
  ASSERT_GE(caller, 0);
  const uint32_t zero = 0;
  EXPECT_EQ(RunTc(caller), 1u);
  ASSERT_EQ(MapUpdateElem(table, &zero, &p5, BPF_ANY), 0);
  EXPECT_EQ(RunTc(caller), 5u);
  EXPECT_EQ(RunTc(caller), 5u);
  ASSERT_EQ(MapUpdateElem(table, &zero, &p6, BPF_ANY), 0);
  EXPECT_EQ(RunTc(caller), 6u);
  ASSERT_EQ(MapDeleteElem(table, &zero), 0);
  EXPECT_EQ(RunTc(caller), 1u);
  ASSERT_EQ(MapUpdateElem(table, &zero, &p5, BPF_ANY), 0);
  EXPECT_EQ(RunTc(caller), 5u);
  // The cached program goes with its last reference: closing its fd while
  // the slot holds it keeps it; emptying the slot then frees it.
  std::shared_ptr<const Prog> held;
  ASSERT_EQ(ProgFromFd(p5, &held), 0);
  const uint32_t id5 = held->id;
  held.reset();
  CloseFd(p5);
  EXPECT_EQ(RunTc(caller), 5u);
  ASSERT_EQ(MapDeleteElem(table, &zero), 0);
  EXPECT_EQ(ProgFromId(id5), nullptr);
  EXPECT_EQ(RunTc(caller), 1u);
  CloseFd(p6);
  CloseFd(caller);
  CloseFd(table);
}

// A tail call from a subprogram replaces that frame only, as in the kernel
// (compared on 6.18: ExamplesCompareTest.TailCallFromASubprogramReturnsTo
// ItsCaller): the target's return value goes back to the caller.
TEST(BytecodeTest, TailCallFromSubprogramReturnsToTheCaller) {
  const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
  ASSERT_GE(table, 0);
  const int target = LoadTc(SpinThenReturn(42, 3));
  ASSERT_GE(target, 0);
  const uint32_t zero = 0;
  ASSERT_EQ(MapUpdateElem(table, &zero, &target, BPF_ANY), 0);
  Insns p;
  p.push_back(a::CallLocal(2));  // -> the subprogram
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, 1000));
  p.push_back(a::Exit());
  const Insns sub = TailCaller(table, 0);  // falls through: returns 1
  p.insert(p.end(), sub.begin(), sub.end());
  const int fd = LoadTc(p);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RunTc(fd), 1042u);
  ASSERT_EQ(MapDeleteElem(table, &zero), 0);
  EXPECT_EQ(RunTc(fd), 1001u);
  CloseFd(fd);
  CloseFd(target);
  CloseFd(table);
}

// A slot replaced while a run is inside its old program never frees that
// program under the run (the kernel frees a replaced program after an RCU
// grace period): one thread runs tail calls into slot 0 while another keeps
// storing new programs there and closing their fds, so each replacement
// drops the last reference of the program that may be running. Run under
// ASan and TSan (docs/reliability.md).
TEST(BytecodeTest, TailCallTargetReplacedWhileRunningIsNotFreed) {
  const int table = Create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
  ASSERT_GE(table, 0);
  const int caller = LoadTc(TailCaller(table, 0));
  ASSERT_GE(caller, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> taken{0};
  std::thread runner([&] {
    while (!stop.load(std::memory_order_relaxed) ||
           taken.load(std::memory_order_relaxed) == 0) {
      const uint32_t r = RunTc(caller);
      if (r >= 100) {
        taken.fetch_add(1, std::memory_order_relaxed);
      } else if (r != 1) {
        bad.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  // Loaded first, so the replacements come faster than a run lasts.
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    fds.push_back(LoadTc(SpinThenReturn(100 + i, 300)));
    ASSERT_GE(fds.back(), 0);
  }
  const uint32_t zero = 0;
  for (size_t i = 0; i < fds.size(); ++i) {
    ASSERT_EQ(MapUpdateElem(table, &zero, &fds[i], BPF_ANY), 0);
    CloseFd(fds[i]);  // the slot holds the only reference now
    // Give the runner time to enter this one before it is replaced.
    for (int spin = 0; spin < 20000; ++spin)
      std::atomic_signal_fence(std::memory_order_seq_cst);
    if (i % 7 == 0) (void)MapDeleteElem(table, &zero);
  }
  // The runner stops once it has taken a call (it would spin on forever
  // otherwise only if no slot update ever landed between its runs).
  const int last = LoadTc(SpinThenReturn(1000, 1));
  ASSERT_GE(last, 0);
  ASSERT_EQ(MapUpdateElem(table, &zero, &last, BPF_ANY), 0);
  CloseFd(last);
  stop.store(true);
  runner.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(taken.load(), 0);
  CloseFd(caller);
  CloseFd(table);
}

TEST(BytecodeTest, RingBufferRecordsAndDoubleSubmit) {
  const int ring = Create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_GE(ring, 0);
  Insns p;
  a::LdMapFd(&p, BPF_REG_1, ring);
  p.push_back(a::MovImm(BPF_REG_2, 8));
  p.push_back(a::MovImm(BPF_REG_3, 0));
  p.push_back(a::Call(BPF_FUNC_ringbuf_reserve));
  p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 1));
  p.push_back(a::Exit());
  p.push_back(a::St(BPF_DW, BPF_REG_0, 0, 0x1234));
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_0));
  p.push_back(a::MovImm(BPF_REG_2, 0));
  p.push_back(a::Call(BPF_FUNC_ringbuf_submit));
  p.push_back(a::MovImm(BPF_REG_0, 1));
  p.push_back(a::Exit());
  TcRun run = LoadRunTc(p);
  EXPECT_EQ(run.ret, 1u);
  EXPECT_FALSE(run.faulted);
  // Submitting the record twice: the second is not a reservation any more.
  p.insert(p.end() - 2,
           {a::MovReg(BPF_REG_1, BPF_REG_6), a::MovImm(BPF_REG_2, 0),
            a::Call(BPF_FUNC_ringbuf_submit)});
  run = LoadRunTc(p);
  EXPECT_TRUE(run.faulted);
  EXPECT_NE(run.fault.find("not a reservation"), std::string::npos);
  CloseFd(ring);
}

// bpf_user_ringbuf_drain: the callback's dynptr works only with the dynptr
// helpers; a callback the interpreter stops (here it reads the dynptr's
// bytes, which the verifier forbids) ends the run, and the drain's busy
// word is released: the next drain is not EBUSY.
TEST(BytecodeTest, UserRingbufDrainSurvivesAFaultingCallback) {
  const int ring = Create(BPF_MAP_TYPE_USER_RINGBUF, 0, 0, 4096);
  ASSERT_GE(ring, 0);
  auto user = std::dynamic_pointer_cast<UserRingbufMap>(MapFromFd(ring));
  ASSERT_NE(user, nullptr);
  auto produce = [&](uint64_t value) {
    const uint64_t pos = user->producer_pos().load();
    uint8_t* hdr = user->data() + (pos & user->mask());
    const uint32_t len = 8, pad = 0;
    std::memcpy(hdr, &len, 4);
    std::memcpy(hdr + 4, &pad, 4);
    std::memcpy(hdr + 8, &value, 8);
    user->producer_pos().store(pos + 16);
  };
  // main: r0 = drain(ring, callback at insn 10, &fp[-8], 0).
  Insns good, bad;
  for (Insns* p : {&good, &bad}) {
    p->push_back(a::St(BPF_DW, BPF_REG_10, -8, 0));      // 0
    a::LdMapFd(p, BPF_REG_1, ring);                      // 1, 2
    a::LdImm64(p, BPF_REG_2, 6, BPF_PSEUDO_FUNC);        // 3, 4: 3+6+1
    p->push_back(a::MovReg(BPF_REG_3, BPF_REG_10));      // 5
    p->push_back(a::AluImm(BPF_ADD, BPF_REG_3, -8));     // 6
    p->push_back(a::MovImm(BPF_REG_4, 0));               // 7
    p->push_back(a::Call(BPF_FUNC_user_ringbuf_drain));  // 8
    p->push_back(a::Exit());                             // 9
  }
  // Callback (r1 = dynptr, r2 = ctx), at 10.
  bad.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_1, 0));  // reads the dynptr
  bad.push_back(a::Exit());
  good.push_back(a::MovReg(BPF_REG_6, BPF_REG_2));  // ctx
  good.push_back(a::MovReg(BPF_REG_3, BPF_REG_1));  // src dynptr
  good.push_back(a::MovReg(BPF_REG_1, BPF_REG_10));
  good.push_back(a::AluImm(BPF_ADD, BPF_REG_1, -8));  // dst
  good.push_back(a::MovImm(BPF_REG_2, 8));            // len
  good.push_back(a::MovImm(BPF_REG_4, 0));            // offset
  good.push_back(a::MovImm(BPF_REG_5, 0));            // flags
  good.push_back(a::Call(BPF_FUNC_dynptr_read));
  good.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -8));
  good.push_back(a::Ldx(BPF_DW, BPF_REG_2, BPF_REG_6, 0));
  good.push_back(a::AluReg(BPF_ADD, BPF_REG_2, BPF_REG_1));
  good.push_back(a::Stx(BPF_DW, BPF_REG_6, BPF_REG_2, 0));
  good.push_back(a::MovImm(BPF_REG_0, 0));
  good.push_back(a::Exit());
  const int good_fd = LoadTc(good), bad_fd = LoadTc(bad);
  ASSERT_GE(good_fd, 0);
  ASSERT_GE(bad_fd, 0);
  produce(40);
  produce(2);
  bool faulted = false;
  RunTc(bad_fd, &faulted);
  EXPECT_TRUE(faulted);
  // The faulting run consumed nothing (it stopped before the release);
  // without the release this drain would answer -EBUSY.
  EXPECT_EQ(RunTc(good_fd, &faulted), 2u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  CloseFd(good_fd);
  CloseFd(bad_fd);
  CloseFd(ring);
}

// bpf_for_each_map_elem from bytecode: main returns count * 1000 + the sum
// the callback (R1 map, R2 key, R3 value, R4 ctx) adds up in the caller's
// stack; the callback writes 7 into each value and stops after key 1.
// `callback` replaces the callback's body; `flags` is R4 of the call.
Insns ForEachProgram(int map, int32_t flags, const Insns& callback) {
  Insns p;
  p.push_back(a::St(BPF_DW, BPF_REG_10, -8, 0));     // 0
  a::LdMapFd(&p, BPF_REG_1, map);                    // 1, 2
  a::LdImm64(&p, BPF_REG_2, 9, BPF_PSEUDO_FUNC);     // 3, 4: 3 + 9 + 1
  p.push_back(a::MovReg(BPF_REG_3, BPF_REG_10));     // 5
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_3, -8));    // 6
  p.push_back(a::MovImm(BPF_REG_4, flags));          // 7
  p.push_back(a::Call(BPF_FUNC_for_each_map_elem));  // 8
  p.push_back(a::AluImm(BPF_MUL, BPF_REG_0, 1000));  // 9
  p.push_back(a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -8));
  p.push_back(a::AluReg(BPF_ADD, BPF_REG_0, BPF_REG_1));
  p.push_back(a::Exit());                               // 12
  p.insert(p.end(), callback.begin(), callback.end());  // 13
  return p;
}

Insns SumAndStopAtKeyOne(int16_t value_size_byte_off = 0) {
  return {
      a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_3, value_size_byte_off),
      a::Ldx(BPF_DW, BPF_REG_5, BPF_REG_4, 0),
      a::AluReg(BPF_ADD, BPF_REG_5, BPF_REG_0),
      a::Stx(BPF_DW, BPF_REG_4, BPF_REG_5, 0),
      a::St(BPF_DW, BPF_REG_3, 0, 7),
      a::Ldx(BPF_W, BPF_REG_6, BPF_REG_2, 0),
      a::MovImm(BPF_REG_0, 0),
      a::JmpImm(BPF_JNE, BPF_REG_6, 1, 1),
      a::MovImm(BPF_REG_0, 1),
      a::Exit(),
  };
}

TEST(BytecodeTest, ForEachMapElemCallsTheSubprogram) {
  const int array = Create(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_GE(array, 0);
  for (uint32_t k = 0; k < 4; ++k) {
    const uint64_t v = 10 * (k + 1);
    ASSERT_EQ(MapUpdateElem(array, &k, &v, BPF_ANY), 0);
  }
  bool faulted = true;
  int fd = LoadTc(ForEachProgram(array, 0, SumAndStopAtKeyOne()));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RunTc(fd, &faulted), 2030u);  // keys 0 and 1: 10 + 20
  EXPECT_FALSE(faulted) << interp::LastFault();
  for (uint32_t k = 0; k < 4; ++k) {
    uint64_t v = 0;
    ASSERT_EQ(MapLookupElem(array, &k, &v), 0);
    EXPECT_EQ(v, k < 2 ? 7u : 10 * (k + 1));
  }
  CloseFd(fd);
  // Flags: -EINVAL, no callback.
  fd = LoadTc(ForEachProgram(array, 1, SumAndStopAtKeyOne()));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(RunTc(fd, &faulted), static_cast<uint32_t>(-EINVAL * 1000));
  EXPECT_FALSE(faulted) << interp::LastFault();
  CloseFd(fd);
  CloseFd(array);
}

// What the verifier refuses stops the run: a write to the key (the kernel's
// prog_tests/for_each.c write_map_key), a read past the value, a return
// value other than 0 or 1, and a map type without map_for_each_callback.
TEST(BytecodeTest, ForEachMapElemRefusals) {
  const int hash = Create(BPF_MAP_TYPE_HASH, 4, 8, 4);
  const int queue = Create(BPF_MAP_TYPE_QUEUE, 0, 8, 4);
  ASSERT_GE(hash, 0);
  ASSERT_GE(queue, 0);
  const uint32_t key = 3;
  const uint64_t value = 5;
  ASSERT_EQ(MapUpdateElem(hash, &key, &value, BPF_ANY), 0);
  ASSERT_EQ(MapUpdateElem(queue, nullptr, &value, BPF_ANY), 0);
  struct Case {
    const char* what;
    int map;
    Insns callback;
    const char* fault;
  };
  const Case cases[] = {
      {"key write",
       hash,
       {a::St(BPF_W, BPF_REG_2, 0, 9), a::MovImm(BPF_REG_0, 0), a::Exit()},
       ""},
      {"past the value", hash, SumAndStopAtKeyOne(8), ""},
      {"returns 2", hash, {a::MovImm(BPF_REG_0, 2), a::Exit()}, "returned 2"},
      {"queue",
       queue,
       {a::MovImm(BPF_REG_0, 0), a::Exit()},
       "no for_each callback"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const TcRun run = LoadRunTc(ForEachProgram(c.map, 0, c.callback));
    EXPECT_TRUE(run.faulted);
    EXPECT_NE(run.fault.find(c.fault), std::string::npos) << run.fault;
  }
  uint64_t v = 0;
  ASSERT_EQ(MapLookupElem(hash, &key, &v), 0);
  EXPECT_EQ(v, 5u);
  CloseFd(hash);
  CloseFd(queue);
}

TEST(BytecodeTest, HelperArgumentsAreChecked) {
  const int hash = Create(BPF_MAP_TYPE_HASH, 8, 8, 4);
  ASSERT_GE(hash, 0);
  // A key that would need 8 bytes from 4 bytes below the frame top.
  Insns p;
  KeyAndMap(&p, hash, 1);
  p[2] = a::AluImm(BPF_ADD, BPF_REG_2, 4);  // r2 = r10 + 4: past the stack
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::MovImm(BPF_REG_0, 0));
  p.push_back(a::Exit());
  EXPECT_TRUE(LoadRunTc(p).faulted);
  // A map argument that is not a map.
  p = {a::MovReg(BPF_REG_1, BPF_REG_10),
       a::MovReg(BPF_REG_2, BPF_REG_10),
       a::AluImm(BPF_ADD, BPF_REG_2, -8),
       a::St(BPF_DW, BPF_REG_10, -8, 0),
       a::Call(BPF_FUNC_map_lookup_elem),
       a::MovImm(BPF_REG_0, 0),
       a::Exit()};
  const TcRun run = LoadRunTc(p);
  EXPECT_TRUE(run.faulted);
  EXPECT_NE(run.fault.find("not a map"), std::string::npos);
  CloseFd(hash);
}

// misc24: bpf_strtol and bpf_strncmp through the helper table, with the
// verifier's argument rules (kernel/bpf/helpers.c bpf_strtol_proto,
// bpf_strncmp_proto) checked at run time.
TEST(BytecodeTest, StringHelpersAndTheirArgumentRules) {
  // "-42 " on the stack at -16, res at -8: strtol(buf, 4, 10, &res).
  auto strtol = [](int16_t res_off, int32_t len) {
    Insns p = {a::St(BPF_W, BPF_REG_10, -16, 0x2032342d),
               a::MovReg(BPF_REG_1, BPF_REG_10),
               a::AluImm(BPF_ADD, BPF_REG_1, -16),
               a::MovImm(BPF_REG_2, len),
               a::MovImm(BPF_REG_3, 10),
               a::MovReg(BPF_REG_4, BPF_REG_10),
               a::AluImm(BPF_ADD, BPF_REG_4, res_off),
               a::Call(BPF_FUNC_strtol),
               a::AluImm(BPF_MUL, BPF_REG_0, 1000),
               a::Ldx(BPF_DW, BPF_REG_1, BPF_REG_10, -8),
               a::AluReg(BPF_ADD, BPF_REG_0, BPF_REG_1),
               a::Exit()};
    return p;
  };
  TcRun run = LoadRunTc(strtol(-8, 4));
  EXPECT_EQ(run.ret, 3000u - 42u);  // 3 consumed, -42
  EXPECT_FALSE(run.faulted) << run.fault;
  run = LoadRunTc(strtol(-12, 4));  // res not 8-byte aligned
  EXPECT_TRUE(run.faulted);
  EXPECT_NE(run.fault.find("aligned"), std::string::npos);
  // ARG_CONST_SIZE: zero is refused
  EXPECT_TRUE(LoadRunTc(strtol(-8, 0)).faulted);

  // strncmp("abd", 4, s2): s2 "abc" in an array value, then on the stack.
  // The array is BPF_F_RDONLY_PROG (and frozen), as libbpf's .rodata.
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  attr.map_flags = BPF_F_RDONLY_PROG;
  const int array = MapCreate(attr);
  ASSERT_GE(array, 0);
  const uint32_t zero = 0;
  const char abc[8] = "abc";
  ASSERT_EQ(MapUpdateElem(array, &zero, abc, BPF_ANY), 0);
  ASSERT_EQ(MapFreeze(array), 0);
  Insns p;
  KeyAndMap(&p, array, 0);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 1));
  p.push_back(a::Exit());
  p.push_back(a::St(BPF_W, BPF_REG_10, -16, 0x00646261));  // "abd"
  p.push_back(a::St(BPF_W, BPF_REG_10, -12, 0x00636261));  // "abc"
  p.push_back(a::MovReg(BPF_REG_3, BPF_REG_0));
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, -16));
  p.push_back(a::MovImm(BPF_REG_2, 4));
  p.push_back(a::Call(BPF_FUNC_strncmp));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_0, 10));
  p.push_back(a::Exit());
  run = LoadRunTc(p);
  EXPECT_EQ(run.ret, 11u);  // "abd" > "abc": 1, not 'd' - 'c'
  EXPECT_FALSE(run.faulted) << run.fault;
  // s2 on the stack is not ARG_PTR_TO_CONST_STR.
  Insns q = p;
  q[q.size() - 7] = a::MovReg(BPF_REG_3, BPF_REG_10);
  q.insert(q.end() - 6, a::AluImm(BPF_ADD, BPF_REG_3, -12));
  run = LoadRunTc(q);
  EXPECT_TRUE(run.faulted);
  EXPECT_NE(run.fault.find("constant string"), std::string::npos);
  // Nor is a value the program may write.
  const int writable = Create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(writable, 0);
  ASSERT_EQ(MapUpdateElem(writable, &zero, abc, BPF_ANY), 0);
  Insns w;
  KeyAndMap(&w, writable, 0);
  w.insert(w.end(), p.begin() + static_cast<long>(w.size()), p.end());
  run = LoadRunTc(w);
  EXPECT_TRUE(run.faulted);
  EXPECT_NE(run.fault.find("read-only"), std::string::npos);
  CloseFd(writable);
  CloseFd(array);
}

// bpf_ktime_get_coarse_ns is offered to socket, cgroup and packet programs
// but not to tracing ones (bpf_tracing_func_proto has no case for it): the
// load is EINVAL there, as 6.18 answered for kprobe, tracepoint,
// perf_event and raw_tracepoint. The other clocks are base helpers.
TEST(BytecodeTest, CoarseClockIsNotATracingHelper) {
  for (int32_t helper : {BPF_FUNC_ktime_get_coarse_ns,
                         BPF_FUNC_ktime_get_boot_ns, BPF_FUNC_ktime_get_tai_ns,
                         BPF_FUNC_jiffies64, BPF_FUNC_get_numa_node_id}) {
    const Insns p = {a::Call(helper), a::MovImm(BPF_REG_0, 0), a::Exit()};
    for (uint32_t type :
         {BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_TRACEPOINT,
          BPF_PROG_TYPE_PERF_EVENT, BPF_PROG_TYPE_RAW_TRACEPOINT}) {
      const int fd = ProgLoadBytecode(type, 0, "t", p.data(),
                                      static_cast<uint32_t>(p.size()), "GPL");
      if (helper == BPF_FUNC_ktime_get_coarse_ns) {
        EXPECT_EQ(fd, -EINVAL) << type;
      } else {
        EXPECT_GE(fd, 0) << helper << " " << type;
      }
      if (fd >= 0) CloseFd(fd);
    }
    SCOPED_TRACE(helper);
    const TcRun run = LoadRunTc(p);
    EXPECT_EQ(run.ret, 0u);
    EXPECT_FALSE(run.faulted);
  }
}

// lirc_mode2_is_valid_access() (drivers/media/rc/bpf-lirc.c): a
// LIRC_MODE2 program reads its u32 sample whole and nothing else; other
// accesses fail the load with EACCES and check_ctx_access's line
// (emu/ctx_access_rules.h). Read from the source: no kernel here builds
// CONFIG_BPF_LIRC_MODE2 (the host refuses the program type with EINVAL);
// the kprobe rules are compared with the kernel in
// kernel_compare/interp_compare_test.
TEST(BytecodeTest, LircMode2ProgramsReadOnlyTheirSample) {
  struct Access {
    bool write;
    int16_t off;
    uint8_t size;      // BPF_B / BPF_H / BPF_W / BPF_DW
    const char* line;  // "" when the load succeeds
  };
  const Access accesses[] = {
      {false, 0, BPF_W, ""},
      {false, 0, BPF_B, "invalid bpf_context access off=0 size=1\n"},
      {false, 2, BPF_H, "invalid bpf_context access off=2 size=2\n"},
      {false, 0, BPF_DW, "invalid bpf_context access off=0 size=8\n"},
      {false, 4, BPF_W, "invalid bpf_context access off=4 size=4\n"},
      {false, -4, BPF_W, "invalid bpf_context access off=-4 size=4\n"},
      {true, 0, BPF_W, "invalid bpf_context access off=0 size=4\n"},
  };
  for (const Access& acc : accesses) {
    const Insns p = {acc.write
                         ? a::St(acc.size, BPF_REG_1, acc.off, 0)
                         : a::Ldx(acc.size, BPF_REG_0, BPF_REG_1, acc.off),
                     a::MovImm(BPF_REG_0, 0), a::Exit()};
    std::string log;
    ProgLoadFlags flags;
    flags.log = &log;
    const int fd =
        ProgLoadBytecode(BPF_PROG_TYPE_LIRC_MODE2, 0, "lirc", p.data(),
                         static_cast<uint32_t>(p.size()), "GPL", flags);
    SCOPED_TRACE(testing::Message()
                 << acc.write << " " << acc.off << " " << int{acc.size});
    if (acc.line[0] == 0) {
      EXPECT_GE(fd, 0);
    } else {
      EXPECT_EQ(fd, -EACCES);
      EXPECT_EQ(log, acc.line);
    }
    if (fd >= 0) CloseFd(fd);
  }
}

TEST(BytecodeTest, LookupGivesAValueThatCanBeWritten) {
  const int hash = Create(BPF_MAP_TYPE_HASH, 4, 8, 4);
  ASSERT_GE(hash, 0);
  const uint32_t key = 5;
  const uint64_t one = 1;
  ASSERT_EQ(MapUpdateElem(hash, &key, &one, BPF_ANY), 0);
  Insns p;
  KeyAndMap(&p, hash, 5);
  p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
  p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 2));
  p.push_back(a::St(BPF_DW, BPF_REG_0, 0, 99));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_0, BPF_REG_0, 0));
  p.push_back(a::Exit());
  const TcRun run = LoadRunTc(p);
  EXPECT_EQ(run.ret, 99u);
  EXPECT_FALSE(run.faulted);
  uint64_t v = 0;
  ASSERT_EQ(MapLookupElem(hash, &key, &v), 0);
  EXPECT_EQ(v, 99u);
  // One byte past the value is not the program's.
  Insns q = p;
  q[q.size() - 2] = a::Ldx(BPF_B, BPF_REG_0, BPF_REG_0, 8);
  EXPECT_TRUE(LoadRunTc(q).faulted);
  CloseFd(hash);
}

// The verifier's spin-lock rules at run time: a second lock, a call while
// holding one, or an exit without unlocking stops the program, and the lock
// is released (found by interp_fuzzer: a program locking twice spun
// forever, and one that exited holding the lock hung the next run).
TEST(BytecodeTest, SpinLockRulesAreEnforced) {
  MapAttr attr;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 1;
  attr.spin_lock_off = 0;
  const int array = MapCreate(attr);
  ASSERT_GE(array, 0);
  // r6 = &value (the lock at offset 0); then `body`; exit 0.
  auto program = [&](const Insns& body) {
    Insns p;
    KeyAndMap(&p, array, 0);
    p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
    p.push_back(a::JmpImm(BPF_JNE, BPF_REG_0, 0, 1));
    p.push_back(a::Exit());
    p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
    p.insert(p.end(), body.begin(), body.end());
    p.push_back(a::MovImm(BPF_REG_0, 0));
    p.push_back(a::Exit());
    return p;
  };
  const Insns lock = {a::MovReg(BPF_REG_1, BPF_REG_6),
                      a::Call(BPF_FUNC_spin_lock)};
  const Insns unlock = {a::MovReg(BPF_REG_1, BPF_REG_6),
                        a::Call(BPF_FUNC_spin_unlock)};
  auto cat = [](std::initializer_list<Insns> parts) {
    Insns out;
    for (const Insns& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  struct Case {
    Insns body;
    const char* fault;  // nullptr: runs cleanly
  };
  const Case cases[] = {
      {cat({lock, unlock}), nullptr},
      {cat({lock, lock, unlock}), "not allowed while holding a lock"},
      {cat({lock}), "bpf_spin_unlock is missing"},
      {cat({unlock}), "not held"},
      {cat({lock, {a::Call(BPF_FUNC_ktime_get_ns)}, unlock}),
       "not allowed while holding a lock"},
      {cat({lock, unlock}), nullptr},  // the lock was released each time
  };
  for (const Case& c : cases) {
    const TcRun run = LoadRunTc(program(c.body));
    EXPECT_EQ(run.faulted, c.fault != nullptr);
    if (c.fault != nullptr) {
      EXPECT_NE(run.fault.find(c.fault), std::string::npos) << run.fault;
    }
  }
  CloseFd(array);
}

TEST(BytecodeTest, TracePrintkFormatsLikeTheKernel) {
  ClearPrintk();
  // "n=%d s=%s\n" on the stack, then a string argument.
  const char fmt[] = "n=%d x=%llx s=%s\n";
  const char str[] = "hey";
  Insns p;
  auto put = [&](const char* s, size_t n, int16_t at) {
    for (size_t i = 0; i < n; ++i) {
      p.push_back(a::St(BPF_B, BPF_REG_10, static_cast<int16_t>(at + i),
                        static_cast<uint8_t>(s[i])));
    }
  };
  put(fmt, sizeof(fmt), -64);
  put(str, sizeof(str), -8);
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, -64));
  p.push_back(a::MovImm(BPF_REG_2, sizeof(fmt)));
  p.push_back(a::MovImm(BPF_REG_3, -5));
  a::LdImm64(&p, BPF_REG_4, 0xabcdef0123ull);
  p.push_back(a::MovReg(BPF_REG_5, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_5, -8));
  p.push_back(a::Call(BPF_FUNC_trace_printk));
  p.push_back(a::Exit());
  const int fd = LoadTc(p);
  ASSERT_GE(fd, 0);
  RunTc(fd);
  EXPECT_EQ(PrintkLines(), std::vector<std::string>{"n=-5 x=abcdef0123 s=hey"});
  CloseFd(fd);
  // bpf_trace_printk is GPL-only.
  EXPECT_EQ(LoadTc(p, "Proprietary"), -EINVAL);
}

// Object::OpenBytecode on what is not a readable object file: an error,
// never an abort (a directory opened as a stream threw on its first read).
TEST(OpenBytecodeTest, DirectoryMissingFileAndNonElfAreErrors) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  auto d = Object::OpenBytecode(dir);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(std::strerror(EISDIR)), std::string::npos)
      << d.status();
  auto m = Object::OpenBytecode(dir + "/no-such-object.bpf.o");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find(std::strerror(ENOENT)), std::string::npos)
      << m.status();
  const std::string text = dir + "/not-elf.bpf.o";
  FILE* f = std::fopen(text.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not an ELF file\n", f);
  std::fclose(f);
  EXPECT_FALSE(Object::OpenBytecode(text).ok());
}

// A bytecode program and a user process sharing an ARENA: the user range
// must be set before a program may use the map (EINVAL), a page the
// emulator allocated (the bpf_arena_alloc_pages path) is read and written
// through a cast pointer and seen by the user mapping, and a page nobody
// allocated reads 0 and keeps dropping stores (it stays unallocated).
TEST(BytecodeTest, ArenaPagesAreSharedWithTheUserMapping) {
  constexpr uint64_t P = ArenaMap::kPage;
  MapAttr attr;
  attr.map_type = kBpfMapTypeArena;
  attr.max_entries = 4;
  attr.map_flags = BPF_F_MMAPABLE;
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  Insns early;
  a::LdMapFd(&early, BPF_REG_9, fd);
  early.push_back(a::MovImm(BPF_REG_0, 0));
  early.push_back(a::Exit());
  EXPECT_EQ(LoadTc(early), -EINVAL);  // no user_vm_start yet

  int err = 0;
  auto* user = static_cast<uint8_t*>(MapMmapAt(
      fd, nullptr, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(user, nullptr) << err;
  std::shared_ptr<Map> hold = MapFromFd(fd);
  auto* arena = dynamic_cast<ArenaMap*>(hold.get());
  ASSERT_NE(arena, nullptr);
  const uint64_t page0 = arena->AllocPages(0, 1, -1, 0);
  ASSERT_EQ(page0, reinterpret_cast<uint64_t>(user));
  const uint64_t v = 0x1122334455667788ULL;
  std::memcpy(user, &v, 8);

  auto cast = [](uint8_t dst, uint8_t src, int32_t imm) {
    return a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 1, imm);
  };
  Insns p;
  a::LdMapFd(&p, BPF_REG_9, fd);
  a::LdImm64(&p, BPF_REG_1, page0);
  p.push_back(cast(BPF_REG_2, BPF_REG_1, 1));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_3, BPF_REG_2, 0));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_3, 1));
  p.push_back(a::Stx(BPF_DW, BPF_REG_2, BPF_REG_3, 8));
  p.push_back(a::MovReg(BPF_REG_4, BPF_REG_2));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_4, P));  // page 1: not allocated
  p.push_back(a::MovImm(BPF_REG_5, 99));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_5, BPF_REG_4, 0));
  p.push_back(a::St(BPF_DW, BPF_REG_4, 0, 7));
  p.push_back(a::Stx(BPF_DW, BPF_REG_2, BPF_REG_5, 16));
  p.push_back(cast(BPF_REG_6, BPF_REG_2, 1 << 16));
  p.push_back(a::Stx(BPF_DW, BPF_REG_2, BPF_REG_6, 24));
  p.push_back(a::MovImm(BPF_REG_0, 0));
  p.push_back(a::Exit());
  const int prog = LoadTc(p);
  ASSERT_GE(prog, 0);
  bool faulted = true;
  EXPECT_EQ(RunTc(prog, &faulted), 0u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  uint64_t got[4];
  std::memcpy(got, user, sizeof(got));
  EXPECT_EQ(got[1], v + 1);
  EXPECT_EQ(got[2], 0u);
  EXPECT_EQ(got[3], page0);
  EXPECT_FALSE(arena->PagePresent(1));
  CloseFd(prog);
  munmap(user, 4 * P);
  hold.reset();
  CloseFd(fd);
}

// The arena kfuncs from bytecode (a sleepable BPF_PROG_TYPE_SYSCALL
// program, as the kernel's KF_SLEEPABLE registration asks), by the BTF ids
// of the kernel BTF: pages come zeroed at user addresses the user mapping
// sees, flags other than 0 give NULL, a map that is not an arena gives NULL
// (and its free does nothing), and a free drops the page from the mapping.
TEST(BytecodeTest, ArenaKfuncsAllocateAndFreePages) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  const int32_t alloc_id =
      btf->FindByNameKind("bpf_arena_alloc_pages", BTF_KIND_FUNC);
  const int32_t free_id =
      btf->FindByNameKind("bpf_arena_free_pages", BTF_KIND_FUNC);
  if (alloc_id <= 0 || free_id <= 0) {
    GTEST_SKIP() << "the kernel BTF has no arena kfuncs (a kernel before 6.9)";
  }
  constexpr uint64_t P = ArenaMap::kPage;
  MapAttr attr;
  attr.map_type = kBpfMapTypeArena;
  attr.max_entries = 4;
  attr.map_flags = BPF_F_MMAPABLE;
  const int fd = MapCreate(attr);
  ASSERT_GE(fd, 0);
  const int other = Create(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(other, 0);
  int err = 0;
  auto* user = static_cast<uint8_t*>(MapMmapAt(
      fd, nullptr, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &err));
  ASSERT_NE(user, nullptr) << err;
  std::shared_ptr<Map> hold = MapFromFd(fd);
  auto* arena = dynamic_cast<ArenaMap*>(hold.get());
  ASSERT_NE(arena, nullptr);

  auto kfunc = [](int32_t id) {
    return a::Insn(BPF_JMP | BPF_CALL, 0, 2, 0, id);  // BPF_PSEUDO_KFUNC_CALL
  };
  auto call = [&](Insns* p, int map, int32_t id, int64_t r2, int32_t r3,
                  int32_t r4, int32_t r5) {
    a::LdMapFd(p, BPF_REG_1, map);
    a::LdImm64(p, BPF_REG_2, static_cast<uint64_t>(r2));
    p->push_back(a::MovImm(BPF_REG_3, r3));
    p->push_back(a::MovImm(BPF_REG_4, r4));
    p->push_back(a::MovImm(BPF_REG_5, r5));
    p->push_back(kfunc(id));
  };
  Insns p;
  call(&p, fd, alloc_id, 0, 2, -1, 0);  // two pages, any node
  p.push_back(a::MovReg(BPF_REG_6, BPF_REG_0));
  p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 0));  // patched below
  const size_t out_jump = p.size() - 1;
  p.push_back(a::Insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_7, BPF_REG_6, 1, 1));
  p.push_back(a::Ldx(BPF_DW, BPF_REG_8, BPF_REG_7, 0));  // zeroed
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_8, 0x55));
  p.push_back(a::Stx(BPF_DW, BPF_REG_7, BPF_REG_8, 0));
  p.push_back(a::St(BPF_DW, BPF_REG_7, P, 0x66));
  call(&p, fd, alloc_id, 0, 1, -1, 1);  // flags 1: NULL
  p.push_back(a::Stx(BPF_DW, BPF_REG_7, BPF_REG_0, 8));
  call(&p, other, alloc_id, 0, 1, -1, 0);  // not an arena: NULL
  p.push_back(a::Stx(BPF_DW, BPF_REG_7, BPF_REG_0, 16));
  call(&p, fd, alloc_id, 0, 1, 5, 0);  // node 5: NULL
  p.push_back(a::Stx(BPF_DW, BPF_REG_7, BPF_REG_0, 24));
  call(&p, other, free_id, 0, 1, 0, 0);  // not an arena: nothing
  // Free the second page: r2 = r6 + P.
  a::LdMapFd(&p, BPF_REG_1, fd);
  p.push_back(a::MovReg(BPF_REG_2, BPF_REG_6));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_2, P));
  p.push_back(a::MovImm(BPF_REG_3, 1));
  p.push_back(kfunc(free_id));
  p.push_back(a::MovImm(BPF_REG_0, 0));
  p.push_back(a::Exit());
  p[out_jump].off = static_cast<int16_t>(p.size() - 3 - out_jump);
  ProgLoadFlags flags;
  flags.prog_flags = BPF_F_SLEEPABLE;
  // KF_SLEEPABLE: a program that is not sleepable is refused.
  std::string log;
  ProgLoadFlags plain;
  plain.log = &log;
  EXPECT_EQ(ProgLoadBytecode(BPF_PROG_TYPE_XDP, 0, "t", p.data(),
                             static_cast<uint32_t>(p.size()), "GPL", plain),
            -EACCES);
  EXPECT_NE(log.find("program must be sleepable"), std::string::npos) << log;
  const int prog =
      ProgLoadBytecode(BPF_PROG_TYPE_SYSCALL, 0, "t", p.data(),
                       static_cast<uint32_t>(p.size()), "GPL", flags);
  ASSERT_GE(prog, 0);
  std::shared_ptr<const Prog> desc;
  ASSERT_EQ(ProgFromFd(prog, &desc), 0);
  uint64_t ctx[8] = {};
  EXPECT_EQ(ProgRun(*desc, ctx), 0u);
  EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
  uint64_t got[4];
  std::memcpy(got, user, sizeof(got));
  EXPECT_EQ(got[0], 0x55u);  // the lowest free pages: page 0 and 1
  EXPECT_EQ(got[1], 0u);
  EXPECT_EQ(got[2], 0u);
  EXPECT_EQ(got[3], 0u);
  EXPECT_TRUE(arena->PagePresent(0));
  EXPECT_FALSE(arena->PagePresent(1));  // freed
  EXPECT_FALSE(arena->PagePresent(2));
  CloseFd(prog);
  munmap(user, 4 * P);
  hold.reset();
  CloseFd(other);
  CloseFd(fd);
}

// bpf_lwt_push_encap where the kernel comparison cannot go
// (lwt_encap_compare_test): an LWT_XMIT push, which in a kernel test run
// dereferences the skb's missing route, and an LWT_IN push onto a GSO
// packet, whose gso_type a test run leaves 0 (-ENOTSUPP, the header pushed
// all the same). The header is an IPv4 one with a zero checksum, which the
// push fills.
TEST(BytecodeTest, LwtPushEncapEgressAndGso) {
  const uint8_t hdr[20] = {0x45, 0, 0,  0x54, 0, 0, 0,  0, 64, 4,
                           0,    0, 10, 0,    0, 1, 10, 0, 0,  2};
  Insns p = {a::MovReg(BPF_REG_6, BPF_REG_1)};
  for (int i = 0; i < 20; i += 4) {
    int32_t w;
    std::memcpy(&w, hdr + i, 4);
    p.push_back(a::St(BPF_W, BPF_REG_10, static_cast<int16_t>(-24 + i), w));
  }
  p.push_back(a::MovReg(BPF_REG_1, BPF_REG_6));
  p.push_back(a::MovImm(BPF_REG_2, BPF_LWT_ENCAP_IP));
  p.push_back(a::MovReg(BPF_REG_3, BPF_REG_10));
  p.push_back(a::AluImm(BPF_ADD, BPF_REG_3, -24));
  p.push_back(a::MovImm(BPF_REG_4, 20));
  p.push_back(a::Call(BPF_FUNC_lwt_push_encap));
  p.push_back(a::Exit());
  std::vector<uint8_t> frame(14 + 40, 0);
  frame[12] = 0x08;
  frame[14] = 0x45;
  frame[23] = 17;
  for (uint32_t type : {BPF_PROG_TYPE_LWT_XMIT, BPF_PROG_TYPE_LWT_IN}) {
    SCOPED_TRACE(type);
    const int fd = ProgLoadBytecode(type, 0, "t", p.data(),
                                    static_cast<uint32_t>(p.size()), "GPL");
    ASSERT_GE(fd, 0);
    std::shared_ptr<const Prog> prog;
    ASSERT_EQ(ProgFromFd(fd, &prog), 0);
    struct __sk_buff ctx = {};
    if (type == BPF_PROG_TYPE_LWT_IN) ctx.gso_size = 1000;
    const PacketResult r = RunSkb(*prog, frame, &ctx);
    EXPECT_FALSE(ProgFaulted()) << interp::LastFault();
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(static_cast<int32_t>(r.retval),
              type == BPF_PROG_TYPE_LWT_IN ? -kENOTSUPP : 0);
    // The zeroed Ethernet header, the pushed header, the packet.
    ASSERT_EQ(r.data_out.size(), frame.size() + 20);
    for (int i = 0; i < 14; ++i) EXPECT_EQ(r.data_out[i], 0) << i;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) {
      sum += (uint32_t{r.data_out[14 + i]} << 8) | r.data_out[15 + i];
      if (i != 10) {
        EXPECT_EQ(r.data_out[14 + i], hdr[i]) << i;
        EXPECT_EQ(r.data_out[15 + i], hdr[i + 1]) << i + 1;
      }
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    EXPECT_EQ(sum, 0xffffu);  // the filled checksum makes the header's sum
    EXPECT_TRUE(
        std::equal(frame.begin() + 14, frame.end(), r.data_out.begin() + 34));
    CloseFd(fd);
  }
}

// bpf_skb_output / bpf_xdp_output from a SYSCALL program: the kernel
// loads none that could call them (a SYSCALL program must be sleepable and
// a sleepable one may not use a PERF_EVENT_ARRAY); bpfemu refuses the same
// programs, stops a run that passes another map, and refuses the helpers
// to other program types.
TEST(BytecodeTest, SkbAndXdpOutputChecks) {
  const int perf = Create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2);
  ASSERT_GE(perf, 0);
  const int hash = Create(BPF_MAP_TYPE_HASH, 4, 4, 2);
  ASSERT_GE(hash, 0);
  // A SYSCALL program is sleepable, and a sleepable program may not use a
  // PERF_EVENT_ARRAY (check_map_prog_compatibility), so the kernel refuses
  // every such call at load; bpfemu too.
  {
    Insns p;
    a::LdMapFd(&p, BPF_REG_2, perf);
    p.push_back(a::MovImm(BPF_REG_0, 0));
    p.push_back(a::Exit());
    std::string log;
    ProgLoadFlags sleepable;
    sleepable.prog_flags = BPF_F_SLEEPABLE;
    sleepable.log = &log;
    EXPECT_EQ(
        ProgLoadBytecode(BPF_PROG_TYPE_SYSCALL, 0, "t", p.data(),
                         static_cast<uint32_t>(p.size()), "GPL", sleepable),
        -EINVAL);
    EXPECT_NE(log.find("Sleepable programs can only use"), std::string::npos)
        << log;
  }
  // Without BPF_F_SLEEPABLE: "Syscall programs can only be sleepable".
  {
    const Insns p = {a::MovImm(BPF_REG_0, 0), a::Exit()};
    std::string log;
    ProgLoadFlags plain;
    plain.log = &log;
    EXPECT_EQ(ProgLoadBytecode(BPF_PROG_TYPE_SYSCALL, 0, "t", p.data(),
                               static_cast<uint32_t>(p.size()), "GPL", plain),
              -EINVAL);
    EXPECT_EQ(log, "Syscall programs can only be sleepable\n");
  }
  // A map of another type, which the verifier refuses
  // (check_map_func_compatibility), stops the run. The helpers' flag and
  // object checks (net/core/filter.c) cannot be reached from a program the
  // kernel loads: bpfemu offers them to SYSCALL programs only.
  ProgLoadFlags flags;
  flags.prog_flags = BPF_F_SLEEPABLE;
  // r1 = obj (0 or the stack), r2 = map, r3 = flags, r4 = 8 bytes of
  // stack, r5 = 8; the helper's answer is the return value.
  auto run = [&](int32_t helper, bool stack_obj, int map, uint64_t fl,
                 bool* faulted) {
    Insns p = {a::St(BPF_DW, BPF_REG_10, -8, 7)};
    if (stack_obj) {
      p.push_back(a::MovReg(BPF_REG_1, BPF_REG_10));
      p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, -8));
    } else {
      p.push_back(a::MovImm(BPF_REG_1, 0));
    }
    a::LdMapFd(&p, BPF_REG_2, map);
    a::LdImm64(&p, BPF_REG_3, fl);
    p.push_back(a::MovReg(BPF_REG_4, BPF_REG_10));
    p.push_back(a::AluImm(BPF_ADD, BPF_REG_4, -8));
    p.push_back(a::MovImm(BPF_REG_5, 8));
    p.push_back(a::Call(helper));
    p.push_back(a::Exit());
    const int fd =
        ProgLoadBytecode(BPF_PROG_TYPE_SYSCALL, 0, "t", p.data(),
                         static_cast<uint32_t>(p.size()), "GPL", flags);
    EXPECT_GE(fd, 0);
    std::shared_ptr<const Prog> desc;
    EXPECT_EQ(ProgFromFd(fd, &desc), 0);
    uint64_t ctx[8] = {};
    const auto ret = static_cast<int32_t>(ProgRun(*desc, ctx));
    *faulted = ProgFaulted();
    CloseFd(fd);
    return ret;
  };
  for (int32_t helper : {BPF_FUNC_skb_output, BPF_FUNC_xdp_output}) {
    SCOPED_TRACE(helper);
    bool faulted = false;
    run(helper, false, hash, 0, &faulted);
    EXPECT_TRUE(faulted);
    EXPECT_NE(interp::LastFault().find("PERF_EVENT_ARRAY"), std::string::npos);
  }
  // Offered to SYSCALL, TRACING and LSM only.
  Insns call = {a::MovImm(BPF_REG_1, 0), a::Call(BPF_FUNC_skb_output),
                a::Exit()};
  std::string log;
  ProgLoadFlags plain;
  plain.log = &log;
  EXPECT_EQ(ProgLoadBytecode(BPF_PROG_TYPE_XDP, 0, "t", call.data(),
                             static_cast<uint32_t>(call.size()), "GPL", plain),
            -EINVAL);
  EXPECT_NE(log.find("cannot use helper bpf_skb_output#111"), std::string::npos)
      << log;
  CloseFd(hash);
  CloseFd(perf);
}

// bpf_ringbuf_submit_dynptr / _discard_dynptr take a ring buffer dynptr
// (the verifier refuses any other): a local dynptr stops the run rather
// than being taken for a record.
TEST(BytecodeTest, CommitOfALocalDynptrStopsTheRun) {
  for (int32_t helper :
       {BPF_FUNC_ringbuf_submit_dynptr, BPF_FUNC_ringbuf_discard_dynptr}) {
    const Insns p = {
        a::St(BPF_DW, BPF_REG_10, -32, 0),
        a::St(BPF_DW, BPF_REG_10, -24, 0),
        a::MovReg(BPF_REG_1, BPF_REG_10),
        a::AluImm(BPF_ADD, BPF_REG_1, -32),  // 16 bytes of memory
        a::MovImm(BPF_REG_2, 16),
        a::MovImm(BPF_REG_3, 0),
        a::MovReg(BPF_REG_4, BPF_REG_10),
        a::AluImm(BPF_ADD, BPF_REG_4, -16),  // the dynptr
        a::Call(BPF_FUNC_dynptr_from_mem),
        a::MovReg(BPF_REG_1, BPF_REG_10),
        a::AluImm(BPF_ADD, BPF_REG_1, -16),
        a::MovImm(BPF_REG_2, 0),
        a::Call(helper),
        a::MovImm(BPF_REG_0, 0),
        a::Exit(),
    };
    const TcRun run = LoadRunTc(p);
    EXPECT_TRUE(run.faulted) << helper;
    EXPECT_NE(run.fault.find("is not a ring buffer dynptr"), std::string::npos)
        << run.fault;
  }
}

// A dynptr whose size word the program rewrote after bpf_dynptr_from_mem
// is no dynptr any more (the verifier's destroy_if_dynptr_stack_slot; it
// refuses the later use at load): bpf_dynptr_read stops the run rather
// than reading 64 bytes of a 16-byte memory. Unchanged, the read is
// refused by the size (-E2BIG) and the program goes on.
TEST(BytecodeTest, OverwrittenDynptrStopsTheHelpers) {
  for (bool forge : {false, true}) {
    Insns p = {
        a::St(BPF_DW, BPF_REG_10, -32, 0),
        a::St(BPF_DW, BPF_REG_10, -24, 0),
        a::MovReg(BPF_REG_1, BPF_REG_10),
        a::AluImm(BPF_ADD, BPF_REG_1, -32),  // 16 bytes of memory
        a::MovImm(BPF_REG_2, 16),
        a::MovImm(BPF_REG_3, 0),
        a::MovReg(BPF_REG_4, BPF_REG_10),
        a::AluImm(BPF_ADD, BPF_REG_4, -16),  // the dynptr
        a::Call(BPF_FUNC_dynptr_from_mem),
    };
    // The size word: 1 MiB, type local.
    if (forge) p.push_back(a::St(BPF_W, BPF_REG_10, -8, (1 << 20) | (1 << 28)));
    for (const interp::RawInsn& i : {
             a::MovReg(BPF_REG_1, BPF_REG_10),
             a::AluImm(BPF_ADD, BPF_REG_1, -96),  // 64 bytes of buffer
             a::MovImm(BPF_REG_2, 64),
             a::MovReg(BPF_REG_3, BPF_REG_10),
             a::AluImm(BPF_ADD, BPF_REG_3, -16),
             a::MovImm(BPF_REG_4, 0),
             a::MovImm(BPF_REG_5, 0),
             a::Call(BPF_FUNC_dynptr_read),
             a::Exit(),
         }) {
      p.push_back(i);
    }
    const TcRun run = LoadRunTc(p);
    EXPECT_EQ(run.faulted, forge) << run.fault;
    if (forge) {
      EXPECT_NE(
          run.fault.find(
              "bpf_dynptr_read: Expected an initialized dynptr as arg #2"),
          std::string::npos)
          << run.fault;
    } else {
      EXPECT_EQ(run.ret, static_cast<uint32_t>(-E2BIG));
    }
  }
}

// bpf_dynptr_from_skb's skb is the program's struct __sk_buff context: a
// cgroup_sock program (its hook holds the kfunc, its context is a struct
// bpf_sock, which the verifier refuses as the argument) stops.
TEST(BytecodeTest, DynptrFromSkbTakesAnSkbContext) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf/vmlinux)";
  const int32_t id = btf->FindByNameKind("bpf_dynptr_from_skb", BTF_KIND_FUNC);
  if (id <= 0) GTEST_SKIP() << "the kernel BTF has no bpf_dynptr_from_skb";
  const Insns p = {
      a::MovImm(BPF_REG_2, 0),
      a::MovReg(BPF_REG_3, BPF_REG_10),
      a::AluImm(BPF_ADD, BPF_REG_3, -16),
      a::CallKfunc(id),
      a::Exit(),
  };
  const TcRun run = LoadRunTc(p);
  EXPECT_EQ(run.ret, 0u);
  EXPECT_FALSE(run.faulted) << run.fault;
  const int sock = ProgLoadBytecode(BPF_PROG_TYPE_CGROUP_SOCK, 0, "t", p.data(),
                                    static_cast<uint32_t>(p.size()), "GPL");
  ASSERT_GE(sock, 0);
  std::shared_ptr<const Prog> desc;
  ASSERT_EQ(ProgFromFd(sock, &desc), 0);
  struct bpf_sock ctx = {};
  ProgRun(*desc, &ctx);
  EXPECT_TRUE(ProgFaulted());
  EXPECT_NE(interp::LastFault().find("not a struct __sk_buff context"),
            std::string::npos)
      << interp::LastFault();
  CloseFd(sock);
}

// bpf_timer_init from bytecode (the helpers' rules are compared with the
// kernel by tests/examples/timer_compare_test.cc): the second init is
// -EBUSY; a timer of another map stops the run; a kprobe program using a
// map with a timer is refused at load (measured on 6.18: "tracing progs
// cannot use bpf_timer yet").
TEST(BytecodeTest, TimerInitAndWhatTheVerifierRefuses) {
  MapAttr attr{.map_type = BPF_MAP_TYPE_ARRAY,
               .key_size = 4,
               .value_size = 24,
               .max_entries = 1};
  attr.timer_off = 8;
  const int map = MapCreate(attr);
  ASSERT_GE(map, 0);
  const int other = MapCreate(attr);
  ASSERT_GE(other, 0);
  // r0 = bpf_timer_init(&lookup(map, 0)->t, init_map, CLOCK_MONOTONIC)
  auto load = [&](uint32_t type, int init_map) {
    Insns p;
    KeyAndMap(&p, map, 0);
    p.push_back(a::Call(BPF_FUNC_map_lookup_elem));
    p.push_back(a::JmpImm(BPF_JEQ, BPF_REG_0, 0, 6));
    p.push_back(a::MovReg(BPF_REG_1, BPF_REG_0));
    p.push_back(a::AluImm(BPF_ADD, BPF_REG_1, 8));
    a::LdMapFd(&p, BPF_REG_2, init_map);
    p.push_back(a::MovImm(BPF_REG_3, 1));
    p.push_back(a::Call(BPF_FUNC_timer_init));
    p.push_back(a::Exit());
    return ProgLoadBytecode(type, 0, "t", p.data(),
                            static_cast<uint32_t>(p.size()), "GPL");
  };
  const int tc = load(BPF_PROG_TYPE_SCHED_CLS, map);
  ASSERT_GE(tc, 0);
  EXPECT_EQ(RunTc(tc), 0u);
  EXPECT_EQ(RunTc(tc), static_cast<uint32_t>(-EBUSY));
  const int mismatch = load(BPF_PROG_TYPE_SCHED_CLS, other);
  ASSERT_GE(mismatch, 0);
  bool faulted = false;
  RunTc(mismatch, &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(interp::LastFault().find("bpf_timer_init"), std::string::npos)
      << interp::LastFault();
  // A kprobe program may not use a map holding a bpf_timer: refused at
  // load (check_map_prog_compatibility), EINVAL and the verifier's line.
  Insns kp;
  KeyAndMap(&kp, map, 0);
  kp.push_back(a::MovImm(BPF_REG_0, 0));
  kp.push_back(a::Exit());
  std::string log;
  ProgLoadFlags flags;
  flags.log = &log;
  EXPECT_EQ(ProgLoadBytecode(BPF_PROG_TYPE_KPROBE, 0, "t", kp.data(),
                             static_cast<uint32_t>(kp.size()), "GPL", flags),
            -EINVAL);
  EXPECT_EQ(log, "tracing progs cannot use bpf_timer yet\n");
  for (int fd : {tc, mismatch, map, other}) CloseFd(fd);
}

}  // namespace
}  // namespace bpfemu::native
