// SPDX-License-Identifier: Apache-2.0
// kfuncs (emu/kfunc.h) without the kernel: the verifier's refusals of
// hand-assembled kfunc calls against a hand-made kernel BTF, with their
// errnos and log lines; the table's hooks and versions; bpf_iter_num_*
// (kernel/bpf/bpf_iter.c) on its own and run by the interpreter. The same
// refusals on the real kernel: kernel_compare/kfunc_compare_test.cc.
#include "emu/kfunc.h"

#include <linux/bpf.h>
#include <linux/btf.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/dynptr_kern.h"
#include "emu/errno.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/version.h"
#include "gtest/gtest.h"

namespace bpfemu {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

// Hand-made "vmlinux" BTF: 1 int; 2 int (void) proto; 3-7 FUNCs of that
// proto: bpf_iter_num_new, vfs_read, bpf_iter_num_next,
// bpf_iter_num_destroy, bpf_rcu_read_lock; 8 FUNC "broken" whose type is
// the int, not a proto; 9-12 FUNCs bpf_dynptr_from_skb, bpf_dynptr_from_xdp,
// bpf_dynptr_slice, bpf_dynptr_slice_rdwr; 13-15 FUNCs bpf_dynptr_size,
// bpf_dynptr_adjust, bpf_dynptr_clone.
enum : int32_t {
  kInt = 1,
  kNew = 3,
  kVfsRead = 4,
  kNext = 5,
  kDestroy = 6,
  kRcuLock = 7,
  kBroken = 8,
  kFromSkb = 9,
  kFromXdp = 10,
  kSlice = 11,
  kSliceRdwr = 12,
  kDynSize = 13,
  kDynAdjust = 14,
  kDynClone = 15,
};

const KernelBtf* TestBtf() {
  static const KernelBtf* btf = [] {
    btftest::Blob b;
    b.Int("int", 4, 32);
    const uint32_t proto = b.Ref(BTF_KIND_FUNC_PROTO, kInt);
    for (const char* f : {"bpf_iter_num_new", "vfs_read", "bpf_iter_num_next",
                          "bpf_iter_num_destroy", "bpf_rcu_read_lock"}) {
      b.Type(b.Str(f), btftest::Info(BTF_KIND_FUNC, 1), proto);
    }
    b.Type(b.Str("broken"), btftest::Info(BTF_KIND_FUNC, 1), kInt);
    for (const char* f :
         {"bpf_dynptr_from_skb", "bpf_dynptr_from_xdp", "bpf_dynptr_slice",
          "bpf_dynptr_slice_rdwr", "bpf_dynptr_size", "bpf_dynptr_adjust",
          "bpf_dynptr_clone"}) {
      b.Type(b.Str(f), btftest::Info(BTF_KIND_FUNC, 1), proto);
    }
    return KernelBtf::Parse(b.Build()).release();
  }();
  return btf;
}

struct Result {
  int err;
  std::string log;
  const Kfunc* kfunc = nullptr;
};

Result Resolve(KfuncCall call, const KernelBtf* btf = TestBtf()) {
  Result r;
  r.err = ResolveKfuncCall(btf, call, &r.kfunc, &r.log);
  return r;
}

KfuncCall Call(int32_t imm, uint32_t prog_type = BPF_PROG_TYPE_XDP) {
  KfuncCall c;
  c.imm = imm;
  c.prog_type = prog_type;
  c.gpl_compatible = true;
  return c;
}

TEST(KfuncTest, RefusalsHaveTheVerifiersErrnoAndLogLine) {
  ASSERT_NE(TestBtf(), nullptr);
  Result r = Resolve(Call(kNew), nullptr);
  EXPECT_EQ(r.err, -kENOTSUPP);
  EXPECT_EQ(r.log,
            "calling kernel function is not supported without "
            "CONFIG_DEBUG_INFO_BTF\n");

  KfuncCall c = Call(kNew);
  c.gpl_compatible = false;
  r = Resolve(c);
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log,
            "cannot call kernel function from non-GPL compatible program\n");

  c = Call(kNew);
  c.off = 1;
  r = Resolve(c);
  EXPECT_EQ(r.err, -EPROTO);
  EXPECT_EQ(r.log, "kfunc offset > 0 without fd_array is invalid\n");
  c.has_fd_array = true;
  EXPECT_EQ(Resolve(c).err, -EINVAL);  // no module BTF in bpfemu
  c.off = -1;
  r = Resolve(c);
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log,
            "negative offset disallowed for kernel module function call\n");

  r = Resolve(Call(0));
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log,
            "invalid kernel function call not eliminated in verifier pass\n");

  r = Resolve(Call(kInt));
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log, "kernel btf_id 1 is not a function\n");
  r = Resolve(Call(12345));  // beyond the BTF
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log, "kernel btf_id 12345 is not a function\n");
  r = Resolve(Call(-1));  // a u32 id in the kernel
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log, "kernel btf_id 4294967295 is not a function\n");

  r = Resolve(Call(kBroken));
  EXPECT_EQ(r.err, -EINVAL);
  EXPECT_EQ(r.log,
            "kernel function btf_id 8 does not have a valid func_proto\n");

  r = Resolve(Call(kVfsRead));
  EXPECT_EQ(r.err, -EACCES);
  EXPECT_EQ(r.log, "calling kernel function vfs_read is not allowed\n");
}

TEST(KfuncTest, CommonKfuncsResolveForEveryProgramType) {
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_KPROBE,
                        BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP,
                        BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_RAW_TRACEPOINT,
                        BPF_PROG_TYPE_SYSCALL, BPF_PROG_TYPE_TRACING}) {
    for (int32_t id : {kNew, kNext, kDestroy, kRcuLock}) {
      Result r = Resolve(Call(id, type));
      EXPECT_EQ(r.err, 0) << type << " " << id << ": " << r.log;
      ASSERT_NE(r.kfunc, nullptr);
      EXPECT_EQ(r.kfunc->name, TestBtf()->Name(id));
    }
  }
  EXPECT_EQ(Resolve(Call(kNext)).kfunc->flags, kKfIterNext | kKfRetNull);
  EXPECT_EQ(Resolve(Call(kNew)).kfunc->flags, kKfIterNew);
  EXPECT_EQ(Resolve(Call(kDestroy)).kfunc->flags, kKfIterDestroy);
}

TEST(KfuncTest, HooksGroupProgramTypesAsTheKernel) {
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_UNSPEC), KfuncHook::kCommon);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_SCHED_CLS), KfuncHook::kTc);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_LSM), KfuncHook::kTracing);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_PERF_EVENT), KfuncHook::kTracing);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_CGROUP_SYSCTL), KfuncHook::kCgroup);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_LWT_SEG6LOCAL), KfuncHook::kLwt);
  EXPECT_EQ(KfuncHookOf(BPF_PROG_TYPE_RAW_TRACEPOINT), KfuncHook::kNone);
  // A kfunc registered for one hook only.
  const Kfunc tc_only = {"x", nullptr, HookBit(KfuncHook::kTc), 0,
                         KernelVersion::k6_1};
  EXPECT_TRUE(
      KfuncAllowed(tc_only, BPF_PROG_TYPE_SCHED_CLS, KernelVersion::k6_18));
  EXPECT_FALSE(KfuncAllowed(tc_only, BPF_PROG_TYPE_XDP, KernelVersion::k6_18));
  EXPECT_FALSE(KfuncAllowed(tc_only, BPF_PROG_TYPE_RAW_TRACEPOINT,
                            KernelVersion::k6_18));
  // Names are unique in the table.
  for (const Kfunc& k : AllKfuncs()) {
    EXPECT_EQ(FindKfunc(k.name), &k) << k.name;
  }
  EXPECT_EQ(FindKfunc("vfs_read"), nullptr);
}

TEST(KfuncTest, OlderTargetsDoNotHaveTheNewerKfuncs) {
  // bpf_iter_num_* came with 6.4: on 6.1 the FUNC is no kfunc.
  SetTargetKernel(KernelVersion::k6_1);
  Result r = Resolve(Call(kNew));
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(r.err, -EACCES);
  EXPECT_EQ(r.log, "calling kernel function bpf_iter_num_new is not allowed\n");
  SetTargetKernel(KernelVersion::k6_12);
  EXPECT_EQ(Resolve(Call(kNew)).err, 0);
  SetTargetKernel(KernelVersion::k6_18);
}

TEST(KfuncTest, FuncsWithoutACallModelAreRefusedBeforeTheSets) {
  // btf_distill_func_proto, from add_kfunc_call: a FUNC with variable
  // arguments (the last parameter's type 0) or more than twelve parameters
  // is EINVAL for every program type, before "is not allowed" (measured:
  // bpf_log, bpf_verifier_log_write and bpf_trace_run12 in the 6.1 guest).
  btftest::Blob b;
  b.Int("int", 4, 32);                                  // 1
  b.Type(0, btftest::Info(BTF_KIND_FUNC_PROTO, 2), 1);  // 2: (int, ...)
  b.Word(0);
  b.Word(1);
  b.Word(0);
  b.Word(0);
  b.Type(0, btftest::Info(BTF_KIND_FUNC_PROTO, 13), 1);  // 3: 13 ints
  for (int i = 0; i < 13; ++i) {
    b.Word(0);
    b.Word(1);
  }
  b.Type(b.Str("bpf_log"), btftest::Info(BTF_KIND_FUNC), 2);          // 4
  b.Type(b.Str("bpf_trace_run12"), btftest::Info(BTF_KIND_FUNC), 3);  // 5
  b.Type(0, btftest::Info(BTF_KIND_FUNC_PROTO, 8), 1);  // 6: 8 ints
  for (int i = 0; i < 8; ++i) {
    b.Word(0);
    b.Word(1);
  }
  b.Type(b.Str("bpf_trace_run7"), btftest::Info(BTF_KIND_FUNC), 6);  // 7
  const std::unique_ptr<KernelBtf> btf = KernelBtf::Parse(b.Build());
  ASSERT_NE(btf, nullptr);
  for (uint32_t type : {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SOCKET_FILTER}) {
    Result r = Resolve(Call(4, type), btf.get());
    EXPECT_EQ(r.err, -EINVAL);
    EXPECT_EQ(r.log,
              "The function bpf_log with variable args is unsupported.\n");
    r = Resolve(Call(5, type), btf.get());
    EXPECT_EQ(r.err, -EINVAL);
    EXPECT_EQ(r.log,
              "The function bpf_trace_run12 has 13 arguments. Too many.\n");
    // Eight parameters have a call model: the sets answer.
    r = Resolve(Call(7, type), btf.get());
    EXPECT_EQ(r.err, -EACCES);
    EXPECT_EQ(r.log, "calling kernel function bpf_trace_run7 is not allowed\n");
  }
}

TEST(KfuncTest, SixOneHasFiveHooksAndNoCommonOne) {
  // 6.1's bpf_prog_type_to_kfunc_hook: XDP, TC, STRUCT_OPS, TRACING (for
  // TRACING and LSM) and SYSCALL; nothing for the other types, and no
  // COMMON hook.
  SetTargetKernel(KernelVersion::k6_1);
  const KfuncHook lsm = KfuncHookOf(BPF_PROG_TYPE_LSM);
  const KfuncHook perf = KfuncHookOf(BPF_PROG_TYPE_PERF_EVENT);
  const KfuncHook cg = KfuncHookOf(BPF_PROG_TYPE_CGROUP_SKB);
  const KfuncHook xdp = KfuncHookOf(BPF_PROG_TYPE_XDP);
  const Kfunc common = {"x", nullptr, HookBit(KfuncHook::kCommon), 0,
                        KernelVersion::k6_1};
  const bool common_61 =
      KfuncAllowed(common, BPF_PROG_TYPE_XDP, KernelVersion::k6_1);
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(lsm, KfuncHook::kTracing);
  EXPECT_EQ(perf, KfuncHook::kNone);
  EXPECT_EQ(cg, KfuncHook::kNone);
  EXPECT_EQ(xdp, KfuncHook::kXdp);
  EXPECT_FALSE(common_61);
  EXPECT_TRUE(KfuncAllowed(common, BPF_PROG_TYPE_XDP, KernelVersion::k6_12));
}

TEST(KfuncTest, RegistrationsFollowTheTargetVersion) {
  // key_sig_kfunc_set: TRACING only on 6.1 and 6.12, generic_kfunc_set's
  // types on 6.18.
  const Kfunc* key = FindKfunc("bpf_lookup_system_key");
  ASSERT_NE(key, nullptr);
  for (KernelVersion v : {KernelVersion::k6_1, KernelVersion::k6_12}) {
    EXPECT_TRUE(KfuncAllowed(*key, BPF_PROG_TYPE_TRACING, v));
    EXPECT_FALSE(KfuncAllowed(*key, BPF_PROG_TYPE_SCHED_CLS, v));
    EXPECT_FALSE(KfuncAllowed(*key, BPF_PROG_TYPE_SYSCALL, v));
  }
  EXPECT_TRUE(
      KfuncAllowed(*key, BPF_PROG_TYPE_SCHED_CLS, KernelVersion::k6_18));
  EXPECT_TRUE(KfuncAllowed(*key, BPF_PROG_TYPE_TRACING, KernelVersion::k6_18));
  // nf_ct_kfunc_set from 6.1; nf_nat_kfunc_set's bpf_ct_set_nat_info from
  // 6.2 (6.12 of the modelled versions).
  const Kfunc* lookup = FindKfunc("bpf_xdp_ct_lookup");
  const Kfunc* nat = FindKfunc("bpf_ct_set_nat_info");
  ASSERT_NE(lookup, nullptr);
  ASSERT_NE(nat, nullptr);
  EXPECT_TRUE(KfuncAllowed(*lookup, BPF_PROG_TYPE_XDP, KernelVersion::k6_1));
  EXPECT_FALSE(KfuncAllowed(*nat, BPF_PROG_TYPE_XDP, KernelVersion::k6_1));
  EXPECT_TRUE(KfuncAllowed(*nat, BPF_PROG_TYPE_XDP, KernelVersion::k6_12));
}

// kernel/bpf/bpf_iter.c: the 8 opaque bytes are {cur, end}.
struct Iter {
  int32_t cur, end;
};

std::vector<int32_t> Drain(int32_t start, int32_t end, int* ret,
                           size_t max = 64) {
  Iter it = {123, 456};
  *ret = IterNumNew(&it, start, end);
  std::vector<int32_t> got;
  while (got.size() < max) {
    int32_t* v = IterNumNext(&it);
    if (v == nullptr) break;
    EXPECT_EQ(v, &it.cur);
    got.push_back(*v);
  }
  IterNumDestroy(&it);
  EXPECT_EQ(it.cur, 0);
  EXPECT_EQ(it.end, 0);
  return got;
}

TEST(KfuncTest, IterNumRanges) {
  int ret;
  EXPECT_EQ(Drain(0, 5, &ret), (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ret, 0);
  EXPECT_EQ(Drain(-2, 1, &ret), (std::vector<int32_t>{-2, -1, 0}));
  EXPECT_TRUE(Drain(7, 7, &ret).empty());  // empty range: legit
  EXPECT_EQ(ret, 0);
  EXPECT_TRUE(Drain(8, 3, &ret).empty());  // start above end
  EXPECT_EQ(ret, -EINVAL);
  // BPF_MAX_LOOPS (8M) values at most, computed without overflow.
  EXPECT_TRUE(Drain(INT_MIN, INT_MAX, &ret).empty());
  EXPECT_EQ(ret, -E2BIG);
  EXPECT_TRUE(Drain(0, (8 << 20) + 1, &ret).empty());
  EXPECT_EQ(ret, -E2BIG);
  EXPECT_EQ(Drain(0, 8 << 20, &ret, 2), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(ret, 0);
  // start INT_MIN: cur wraps to INT_MAX first, INT_MIN still comes first.
  EXPECT_EQ(Drain(INT_MIN, INT_MIN + 2, &ret),
            (std::vector<int32_t>{INT_MIN, INT_MIN + 1}));
  EXPECT_EQ(Drain(INT_MAX - 1, INT_MAX, &ret),
            (std::vector<int32_t>{INT_MAX - 1}));
  // A failed or exhausted iterator stays exhausted.
  Iter it;
  EXPECT_EQ(IterNumNew(&it, 5, 1), -EINVAL);
  EXPECT_EQ(it.cur, 0);
  EXPECT_EQ(it.end, 0);
  EXPECT_EQ(IterNumNext(&it), nullptr);
  EXPECT_EQ(IterNumNext(&it), nullptr);
}

// Helper 1 of the tests' linker: a local dynptr at R3 over the R2 bytes at
// R1, as bpf_dynptr_from_mem makes one (loader/bytecode.cc).
uint64_t InitLocalDynptr(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t, uint64_t) {
  if (!vm.Writable(r1, r2) || !vm.Writable(r3, 16)) vm.Fault("bad init");
  const dynptr::Kern d = {
      reinterpret_cast<void*>(r1),
      static_cast<uint32_t>(r2) | (dynptr::kTypeLocal << dynptr::kTypeShift),
      0};
  std::memcpy(reinterpret_cast<void*>(r3), &d, sizeof(d));
  dynptr::Mark(vm, r3);
  return 0;
}

// The interpreter with kfuncs from the hand-made BTF.
class KfuncLinker : public interp::Linker {
 public:
  interp::HelperFn Helper(int32_t id, uint32_t, bool* gpl_only) override {
    *gpl_only = false;
    return id == 1 ? InitLocalDynptr : nullptr;
  }
  int Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
            interp::HelperFn* fn) override {
    KfuncCall c;
    c.imm = imm;
    c.off = off;
    c.prog_type = attr.prog_type;
    c.gpl_compatible = attr.gpl_compatible;
    c.sleepable = attr.sleepable;
    c.has_fd_array = attr.has_fd_array;
    const bpfemu::Kfunc* k = nullptr;
    if (int err = ResolveKfuncCall(TestBtf(), c, &k, attr.log); err != 0) {
      return err;
    }
    *fn = k->fn;
    return 0;
  }
  int MapHandle(int, uint64_t*) override { return -EBADF; }
  int MapValue(int, uint32_t, uint64_t*, uint64_t*, uint64_t*, bool*) override {
    return -EBADF;
  }
};

int Load(const Insns& p, std::shared_ptr<const interp::Program>* out,
         bool gpl = true, std::string* log = nullptr) {
  KfuncLinker linker;
  interp::LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  attr.insns = p.data();
  attr.insn_cnt = static_cast<uint32_t>(p.size());
  attr.gpl_compatible = gpl;
  attr.log = log;
  return interp::Program::Load(attr, linker, out);
}

// sum of bpf_for(i, start, end); with `ret_new`, bpf_iter_num_new's result.
Insns SumProgram(int32_t start, int32_t end, bool ret_new = false) {
  Insns p = {
      a::MovImm(6, 0),
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::MovImm(2, start),
      a::MovImm(3, end),
      a::CallKfunc(kNew),
      a::MovReg(7, 0),
      // loop:
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(kNext),
      a::JmpImm(BPF_JEQ, 0, 0, 3),
      a::Ldx(BPF_W, 1, 0, 0, /*sign-extend=*/false),
      a::AluReg(BPF_ADD, 6, 1),
      a::Ja(-7),
      // done:
      a::MovReg(1, 10),
      a::AluImm(BPF_ADD, 1, -8),
      a::CallKfunc(kDestroy),
      a::MovReg(0, ret_new ? 7 : 6),
      a::Exit(),
  };
  return p;
}

uint64_t RunProg(const Insns& p, bool* faulted) {
  std::shared_ptr<const interp::Program> prog;
  EXPECT_EQ(Load(p, &prog), 0);
  if (prog == nullptr) return ~0ull;
  Prog desc;
  desc.type = BPF_PROG_TYPE_RAW_TRACEPOINT;
  desc.code = prog;
  uint64_t ctx[4] = {};
  const uint64_t r = ProgRun(desc, ctx);
  *faulted = ProgFaulted();
  return r;
}

TEST(KfuncTest, InterpreterRunsIterNumLoops) {
  bool faulted = true;
  EXPECT_EQ(RunProg(SumProgram(0, 10), &faulted), 45u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(RunProg(SumProgram(-5, 3), &faulted),
            uint32_t(-5 - 4 - 3 - 2 - 1 + 1 + 2));
  EXPECT_EQ(RunProg(SumProgram(4, 4), &faulted), 0u);
  EXPECT_EQ(RunProg(SumProgram(9, 2), &faulted), 0u);
  EXPECT_EQ(RunProg(SumProgram(9, 2, true), &faulted), uint32_t(-EINVAL));
  EXPECT_EQ(RunProg(SumProgram(0, 9 << 20, true), &faulted), uint32_t(-E2BIG));
  EXPECT_FALSE(faulted) << interp::LastFault();
}

TEST(KfuncTest, InterpreterLoadRefusesAsTheVerifier) {
  std::shared_ptr<const interp::Program> prog;
  std::string log;
  EXPECT_EQ(Load(SumProgram(0, 1), &prog, /*gpl=*/false, &log), -EINVAL);
  EXPECT_EQ(log,
            "cannot call kernel function from non-GPL compatible program\n");
  log.clear();
  EXPECT_EQ(Load({a::CallKfunc(kVfsRead), a::MovImm(0, 0), a::Exit()}, &prog,
                 true, &log),
            -EACCES);
  EXPECT_EQ(log, "calling kernel function vfs_read is not allowed\n");
  EXPECT_EQ(Load({a::CallKfunc(kNew, 1), a::MovImm(0, 0), a::Exit()}, &prog),
            -EPROTO);
  EXPECT_EQ(Load({a::CallKfunc(0), a::MovImm(0, 0), a::Exit()}, &prog),
            -EINVAL);
  // A helper call keeps its off at 0; a kfunc call's dst must be 0 too.
  RawInsn bad = a::CallKfunc(kNew);
  bad.dst = 1;
  EXPECT_EQ(Load({bad, a::MovImm(0, 0), a::Exit()}, &prog), -EINVAL);
  // A linker without kfuncs answers as a kernel without BTF.
  class NoBtf : public KfuncLinker {
    int Kfunc(int32_t imm, int16_t off, const interp::LoadAttr& attr,
              interp::HelperFn* fn) override {
      return Linker::Kfunc(imm, off, attr, fn);
    }
  } no_btf;
  const Insns p = {a::CallKfunc(kNew), a::MovImm(0, 0), a::Exit()};
  interp::LoadAttr attr;
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.insns = p.data();
  attr.insn_cnt = 3;
  attr.gpl_compatible = true;
  EXPECT_EQ(interp::Program::Load(attr, no_btf, &prog), -kENOTSUPP);
}

TEST(KfuncTest, InterpreterStopsABadIteratorPointer) {
  // R1 = 0x1000: not memory the program may write.
  const Insns p = {a::MovImm(1, 0x1000), a::MovImm(2, 0), a::MovImm(3, 1),
                   a::CallKfunc(kNew), a::Exit()};
  bool faulted = false;
  RunProg(p, &faulted);
  EXPECT_TRUE(faulted);
  EXPECT_NE(interp::LastFault().find("bpf_iter_num_new"), std::string::npos)
      << interp::LastFault();
}

// net/core/filter.c registers bpf_dynptr_from_skb for the skb program
// types (CGROUP_SKB through the CGROUP hook) and bpf_dynptr_from_xdp for
// XDP; bpf_dynptr_slice is common. bpf_dynptr_slice_rdwr: EPERM on the
// 6.18 host (tests/examples/dynptr_compare_test.cc), 6.12's
// check_kfunc_call refuses it where the program may not write packets.
TEST(KfuncTest, PacketDynptrKfuncsResolveAsTheKernel) {
  for (uint32_t type :
       {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SCHED_ACT,
        BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_CGROUP_SKB,
        BPF_PROG_TYPE_SK_SKB, BPF_PROG_TYPE_LWT_IN, BPF_PROG_TYPE_TRACING}) {
    EXPECT_EQ(Resolve(Call(kFromSkb, type)).err, 0) << type;
    Result r = Resolve(Call(kFromXdp, type));
    EXPECT_EQ(r.err, -EACCES) << type;
    EXPECT_EQ(r.log,
              "calling kernel function bpf_dynptr_from_xdp is not allowed\n");
  }
  EXPECT_EQ(Resolve(Call(kFromXdp, BPF_PROG_TYPE_XDP)).err, 0);
  EXPECT_EQ(Resolve(Call(kFromSkb, BPF_PROG_TYPE_XDP)).err, -EACCES);
  EXPECT_EQ(Resolve(Call(kFromSkb, BPF_PROG_TYPE_KPROBE)).err, -EACCES);
  EXPECT_EQ(Resolve(Call(kFromSkb)).kfunc, nullptr);
  EXPECT_EQ(Resolve(Call(kFromSkb, BPF_PROG_TYPE_SCHED_CLS)).kfunc->flags,
            kKfTrustedArgs);
  EXPECT_EQ(Resolve(Call(kSlice, BPF_PROG_TYPE_KPROBE)).kfunc->flags,
            kKfRetNull);

  Result r = Resolve(Call(kSliceRdwr, BPF_PROG_TYPE_SCHED_CLS));
  EXPECT_EQ(r.err, -EPERM);
  EXPECT_EQ(r.log, "bpf_dynptr_slice_rdwr() is not allowed\n");
  SetTargetKernel(KernelVersion::k6_12);
  const Result tc = Resolve(Call(kSliceRdwr, BPF_PROG_TYPE_SCHED_CLS));
  const Result xdp = Resolve(Call(kSliceRdwr, BPF_PROG_TYPE_XDP));
  const Result sock = Resolve(Call(kSliceRdwr, BPF_PROG_TYPE_SOCKET_FILTER));
  const Result cg = Resolve(Call(kSliceRdwr, BPF_PROG_TYPE_CGROUP_SKB));
  SetTargetKernel(KernelVersion::k6_18);
  EXPECT_EQ(tc.err, 0) << tc.log;
  EXPECT_EQ(xdp.err, 0) << xdp.log;
  EXPECT_EQ(sock.err, -EINVAL);
  EXPECT_EQ(sock.log, "the prog does not allow writes to packet data\n");
  EXPECT_EQ(cg.err, -EINVAL);
}

// struct bpf_dynptr_kern as the kfuncs see it.
struct Kern {
  void* data;
  uint32_t size;
  uint32_t offset;
};

TEST(KfuncTest, SkbDynptrIsReadOnlyWhereThePacketIsNot) {
  struct __sk_buff skb = {};
  skb.len = 1500;
  Kern d = {reinterpret_cast<void*>(1), 7, 7};
  EXPECT_EQ(DynptrFromSkb(&skb, 0, &d, BPF_PROG_TYPE_SCHED_CLS), 0);
  EXPECT_EQ(d.data, &skb);
  EXPECT_EQ(d.size, 1500u | (3u << 28));  // BPF_DYNPTR_TYPE_SKB
  EXPECT_EQ(d.offset, 0u);
  EXPECT_FALSE(DynptrIsRdonly(&d));
  EXPECT_EQ(DynptrSize(&d), 1500u);
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_CGROUP_SKB,
                        BPF_PROG_TYPE_LWT_IN, BPF_PROG_TYPE_TRACING}) {
    EXPECT_EQ(DynptrFromSkb(&skb, 0, &d, type), 0);
    EXPECT_TRUE(DynptrIsRdonly(&d)) << type;
    EXPECT_EQ(DynptrSize(&d), 1500u);
    // A read-only dynptr has no writable slice.
    uint8_t buf[4];
    EXPECT_EQ(DynptrSliceRdwr(&d, 0, buf, sizeof(buf)), nullptr);
  }
  EXPECT_EQ(DynptrFromSkb(&skb, 1, &d, BPF_PROG_TYPE_SCHED_CLS), -EINVAL);
  EXPECT_TRUE(DynptrIsNull(&d));
  EXPECT_EQ(d.size, 0u);
}

TEST(KfuncTest, SliceOfALocalDynptrIsItsMemory) {
  uint8_t mem[32] = {};
  Kern d = {mem, 32u | (1u << 28), 0};  // BPF_DYNPTR_TYPE_LOCAL
  uint8_t buf[8];
  EXPECT_EQ(DynptrSlice(&d, 0, buf, 8), mem);
  EXPECT_EQ(DynptrSlice(&d, 24, nullptr, 8), mem + 24);
  EXPECT_EQ(DynptrSlice(&d, 25, buf, 8), nullptr);  // past the end
  EXPECT_EQ(DynptrSlice(&d, 0xfffffffcu, buf, 8), nullptr);
  EXPECT_EQ(DynptrSliceRdwr(&d, 8, buf, 8), mem + 8);
  ASSERT_EQ(DynptrAdjust(&d, 4, 20), 0);
  EXPECT_EQ(DynptrSlice(&d, 0, buf, 8), mem + 4);
  EXPECT_EQ(DynptrSlice(&d, 9, buf, 8), nullptr);  // past the adjusted end
  d.size |= 1u << 31;                              // read-only
  EXPECT_EQ(DynptrSlice(&d, 0, buf, 8), mem + 4);
  EXPECT_EQ(DynptrSliceRdwr(&d, 0, buf, 8), nullptr);
  const Kern null = {};
  EXPECT_EQ(DynptrSlice(&null, 0, buf, 0), nullptr);
}

// A dynptr's 16 bytes stay the program's stack: a program that rewrites
// its data pointer or size after the init has no dynptr any more (the
// verifier's destroy_if_dynptr_stack_slot; at load it refuses the later
// use with "Expected an initialized dynptr as arg #0"), so the kfunc call
// stops the run instead of reaching memory the forged fields name.
// Changes the kfuncs make themselves (bpf_dynptr_adjust, a clone) keep it.
// A local dynptr at fp-16 over the 16 bytes at fp-32; `body` follows, and
// R0 = bpf_dynptr_size(fp-16 + `use`).
Insns DynptrProgram(Insns body, int16_t use = 0) {
  Insns p = {
      a::St(BPF_DW, 10, -32, 0),  a::St(BPF_DW, 10, -24, 0),
      a::MovReg(1, 10),           a::AluImm(BPF_ADD, 1, -32),
      a::MovImm(2, 16),           a::MovReg(3, 10),
      a::AluImm(BPF_ADD, 3, -16), a::Call(1),
  };
  p.insert(p.end(), body.begin(), body.end());
  p.push_back(a::MovReg(1, 10));
  p.push_back(a::AluImm(BPF_ADD, 1, -16 + use));
  p.push_back(a::CallKfunc(kDynSize));
  p.push_back(a::Exit());
  return p;
}

TEST(KfuncTest, OverwrittenDynptrIsNoDynptr) {
  bool faulted = true;
  EXPECT_EQ(RunProg(DynptrProgram({}), &faulted), 16u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // bpf_dynptr_adjust(fp-16, 4, 12) changes the offset and size itself.
  EXPECT_EQ(RunProg(DynptrProgram({a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -16),
                                   a::MovImm(2, 4), a::MovImm(3, 12),
                                   a::CallKfunc(kDynAdjust)}),
                    &faulted),
            8u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  // A clone at fp-48 lives on when the original is overwritten.
  const Insns clone = {a::MovReg(1, 10),        a::AluImm(BPF_ADD, 1, -16),
                       a::MovReg(2, 10),        a::AluImm(BPF_ADD, 2, -48),
                       a::CallKfunc(kDynClone), a::St(BPF_W, 10, -8, 1 << 20)};
  EXPECT_EQ(RunProg(DynptrProgram(clone, -32), &faulted), 16u);
  EXPECT_FALSE(faulted) << interp::LastFault();
  struct Forge {
    const char* what;
    Insns body;
  };
  const Forge forges[] = {
      // The size word: 1 MiB of a local dynptr.
      {"size", {a::St(BPF_W, 10, -8, (1 << 20) | (1 << 28))}},
      // The data pointer.
      {"data", {a::MovImm(6, 0x1000), a::Stx(BPF_DW, 10, 6, -16)}},
      // One byte of the offset.
      {"offset", {a::St(BPF_B, 10, -4, 1)}},
  };
  for (const Forge& f : forges) {
    SCOPED_TRACE(f.what);
    faulted = false;
    RunProg(DynptrProgram(f.body), &faulted);
    EXPECT_TRUE(faulted);
    EXPECT_NE(interp::LastFault().find(
                  "bpf_dynptr_size: Expected an initialized dynptr as arg #0"),
              std::string::npos)
        << interp::LastFault();
  }
  // The original of the clone above is no dynptr any more.
  RunProg(DynptrProgram(clone), &faulted);
  EXPECT_TRUE(faulted);
}

}  // namespace
}  // namespace bpfemu
