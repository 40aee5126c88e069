// SPDX-License-Identifier: Apache-2.0
// tests/examples/throw.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// programs) and on bpfemu, natively and as bytecode: the same return
// values and the same answers written before the throw, which are also the
// ones pinned in throw_cases.h. Then throw_bad.bpf.c: each program alone is
// refused by the kernel with the pinned errno, and stops a bytecode run
// with the verifier's reason. Last, __bpf_trap (clang 14 emits no BTF for
// its extern, so the call is assembled by hand with the kernel BTF's id):
// the kernel refuses it with EFAULT and its line, a bytecode run of the
// same instructions stops with that line. And the exception callback
// (`__exception_cb(fn)`: an "exception_callback:fn" decl tag on the main
// FUNC), which libbpf 1.1.2 cannot load (it appends only the subprograms a
// program calls): hand-assembled programs with a hand-made BTF and
// func_info, loaded with bpf(BPF_PROG_LOAD) and native::ProgLoadBytecode;
// the callback's return value, and the refusals' errnos and lines.

#include <linux/bpf.h>
#include <linux/btf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "emu/btf_blobs.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/throw_kfuncs.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "loader/test_run.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "testing/raw_prog_load.h"
#include "tests/examples/bad_programs.h"
#include "tests/examples/packets.h"
#include "tests/examples/throw_cases.h"

namespace bpfemu::examples {
namespace {

using namespace throw_cases;  // NOLINT

class ThrowCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(ThrowCompareTest, SameAnswersAsTheKernel) {
  const bool bytecode = GetParam();
  const std::string path = "tests/examples/throw.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = bytecode ? native::Object::OpenBytecode(path)
                      : native::Object::Open("throw");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  KernelBackend& k = KernelBackend::Get();
  const uint32_t zero = 0;
  const int ktarget = kernel->ProgFd("tail_target");
  ASSERT_GE(ktarget, 0);
  ASSERT_EQ(k.Update(kernel->MapFd("jump"), &zero, &ktarget, BPF_ANY), 0);
  const native::Program* target = (*obj)->FindProgram("tail_target");
  ASSERT_NE(target, nullptr);
  const int etarget = target->fd();
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("jump"), &zero, &etarget, BPF_ANY), 0);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  int compared = 0;
  for (const Good& g : GoodCases()) {
    SCOPED_TRACE(g.prog);
    Answers none;
    for (int64_t& v : none.r) v = kUnset;
    ASSERT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
    ASSERT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const KernelObject::Result kr =
        KernelObject::RunPacket(kernel->ProgFd(g.prog), packet);
    ASSERT_EQ(kr.err, 0);
    const native::Program* prog = (*obj)->FindProgram(g.prog);
    ASSERT_NE(prog, nullptr);
    interp::ClearFault();  // a native run leaves the last one in place
    const native::PacketResult er = prog->RunSkb(packet);
    ASSERT_EQ(er.err, 0);
    EXPECT_EQ(interp::LastFault(), "");
    EXPECT_FALSE(ProgFaulted());
    EXPECT_EQ(er.retval, kr.retval);
    EXPECT_EQ(kr.retval, g.retval);
    Answers ka{}, ea{};
    ASSERT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &ka, 0), 0);
    ASSERT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &ea), 0);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(ea.r[i], ka.r[i]) << "answer " << i;
      EXPECT_EQ(ka.r[i], g.r[i]) << "answer " << i;
    }
    ++compared;
  }
  std::printf("throw (%s): %d programs compared\n",
              bytecode ? "bytecode" : "native", compared);
}

INSTANTIATE_TEST_SUITE_P(Faces, ThrowCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

// Bytecode only: natively nothing is refused (the compiler takes them).
class ThrowRefusedTest : public KernelTest<> {};

TEST_F(ThrowRefusedTest, RefusedAsTheKernelRefuses) {
  ExpectRefusedAsTheKernelRefuses("tests/examples/throw_bad.bpf.o", BadCases(),
                                  WhyIs::kPart);
}

// r0 = 0; if r0 == 0 goto +1 (always); exit; call __bpf_trap; exit: the
// trap is reachable.
std::vector<interp::RawInsn> TrapProg(int32_t id) {
  namespace a = interp::asm_;
  return {a::MovImm(0, 0), a::JmpImm(BPF_JEQ, 0, 0, 1), a::Exit(),
          a::CallKfunc(id), a::Exit()};
}

class TrapCompareTest : public KernelTest<> {};

TEST_F(TrapCompareTest, RefusedAsTheKernelRefuses) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
  const int32_t id = btf->FindByNameKind("__bpf_trap", BTF_KIND_FUNC);
  if (id <= 0) GTEST_SKIP() << "the kernel has no __bpf_trap (before 6.16)";
  const std::vector<interp::RawInsn> insns = TrapProg(id);
  const RawProg raw{.type = BPF_PROG_TYPE_SCHED_CLS, .insns = insns};
  const RawLoaded k = KernelLoadRaw(raw);
  if (k.fd >= 0) close(k.fd);
  EXPECT_EQ(k.fd < 0 ? k.fd : 0, -EFAULT);
  EXPECT_NE(k.log.find(throwk::kTrapLine), std::string::npos) << k.log;
  // bpfemu loads it and stops the run that reaches the call.
  const int fd = EmuLoadRaw(raw).fd;
  ASSERT_GE(fd, 0);
  std::shared_ptr<const Prog> prog;
  ASSERT_EQ(ProgFromFd(fd, &prog), 0);
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  native::RunSkb(*prog, packet);
  EXPECT_TRUE(ProgFaulted());
  EXPECT_EQ(interp::LastFault(), throwk::kTrapLine);
  (void)CloseFd(fd);
}

// A tc program and its BTF: `main` (insn 0) and, at `cb_insn`, the
// exception callback `exc_cb` the main FUNC's decl tag names.
struct CbProg {
  std::vector<interp::RawInsn> insns;
  std::vector<uint8_t> btf;
  std::vector<uint32_t> func_info;  // insn_off, type_id pairs
};

struct CbShape {
  bool global = true;          // exc_cb's linkage
  int args = 1;                // exc_cb's arguments
  const char* tag = "exc_cb";  // the name the tag gives
  bool second_tag = false;     // a second exception_callback tag
  bool cb_throws = false;      // exc_cb calls bpf_throw
  bool main_throws = true;     // main throws (else returns 5)
  bool cb_unknown = false;     // exc_cb calls a helper no kernel has
};

constexpr int32_t kUnknownHelper = 9999;

CbProg MakeCbProg(int32_t throw_id, const CbShape& shape) {
  namespace a = interp::asm_;
  btftest::Blob b;
  const uint32_t int_id = b.Int("int", 4, 32, BTF_INT_SIGNED);
  const uint32_t u64_id = b.Int("unsigned long long", 8, 64);
  const uint32_t main_proto =
      b.Type(0, btftest::Info(BTF_KIND_FUNC_PROTO), int_id);
  const uint32_t main_id = b.Type(
      b.Str("main"), btftest::Info(BTF_KIND_FUNC, BTF_FUNC_GLOBAL), main_proto);
  const uint32_t cb_proto = b.Type(
      0, btftest::Info(BTF_KIND_FUNC_PROTO, static_cast<uint32_t>(shape.args)),
      int_id);
  for (int i = 0; i < shape.args; ++i) {
    b.Word(b.Str(i == 0 ? "cookie" : "extra"));
    b.Word(u64_id);
  }
  const uint32_t cb_id =
      b.Type(b.Str("exc_cb"),
             btftest::Info(BTF_KIND_FUNC,
                           shape.global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC),
             cb_proto);
  for (int i = 0; i < (shape.second_tag ? 2 : 1); ++i) {
    b.Type(b.Str(std::string("exception_callback:") + shape.tag),
           btftest::Info(BTF_KIND_DECL_TAG), main_id);
    b.Word(0xffffffffu);  // component_idx -1: the function itself
  }
  CbProg p;
  p.btf = b.Build();
  // main: r1 = 21; bpf_throw(r1) (or return 5, every instruction reachable
  // for check_cfg).
  if (shape.main_throws) {
    p.insns = {a::MovImm(1, 21), a::CallKfunc(throw_id), a::MovImm(0, 0),
               a::Exit()};
  } else {
    p.insns = {a::MovImm(0, 5), a::JmpImm(BPF_JEQ, 0, 5, 1), a::MovImm(0, 0),
               a::Exit()};
  }
  const uint32_t cb_insn = static_cast<uint32_t>(p.insns.size());
  // exc_cb: return cookie * 2 + 1 (or throw again).
  if (shape.cb_throws) {
    p.insns.push_back(a::CallKfunc(throw_id));
    p.insns.push_back(a::MovImm(0, 0));
  } else if (shape.cb_unknown) {
    p.insns.push_back(a::Call(kUnknownHelper));
    p.insns.push_back(a::MovImm(0, 0));
  } else {
    p.insns.push_back(a::MovReg(0, 1));
    p.insns.push_back(a::AluImm(BPF_MUL, 0, 2));
    p.insns.push_back(a::AluImm(BPF_ADD, 0, 1));
  }
  p.insns.push_back(a::Exit());
  p.func_info = {0, main_id, cb_insn, cb_id};
  return p;
}

struct CbLoaded {
  int err = 0;  // 0 or -errno
  int fd = -1;
  std::string log;
};

CbLoaded KernelLoadCb(const CbProg& p) {
  CbLoaded r;
  union bpf_attr battr;
  std::memset(&battr, 0, sizeof(battr));
  battr.btf = reinterpret_cast<uint64_t>(p.btf.data());
  battr.btf_size = static_cast<uint32_t>(p.btf.size());
  const long btf_fd = syscall(__NR_bpf, BPF_BTF_LOAD, &battr, sizeof(battr));
  if (btf_fd < 0) {
    r.err = -errno;
    r.log = "BTF_LOAD failed";
    return r;
  }
  std::vector<char> log(1 << 16, 0);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  attr.insns = reinterpret_cast<uint64_t>(p.insns.data());
  attr.insn_cnt = static_cast<uint32_t>(p.insns.size());
  attr.license = reinterpret_cast<uint64_t>("GPL");
  attr.log_level = 1;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.prog_btf_fd = static_cast<uint32_t>(btf_fd);
  attr.func_info_rec_size = 8;
  attr.func_info = reinterpret_cast<uint64_t>(p.func_info.data());
  attr.func_info_cnt = static_cast<uint32_t>(p.func_info.size() / 2);
  const long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
  r.err = fd < 0 ? -errno : 0;
  r.fd = static_cast<int>(fd);
  r.log = log.data();
  close(static_cast<int>(btf_fd));
  return r;
}

CbLoaded EmuLoadCb(const CbProg& p) {
  CbLoaded r;
  native::ProgLoadFlags flags;
  flags.log = &r.log;
  flags.btf_raw = p.btf;
  const auto* fi = reinterpret_cast<const uint8_t*>(p.func_info.data());
  flags.func_info.assign(fi, fi + p.func_info.size() * sizeof(uint32_t));
  flags.nr_func_info = static_cast<uint32_t>(p.func_info.size() / 2);
  const int fd = native::ProgLoadBytecode(
      BPF_PROG_TYPE_SCHED_CLS, 0, "main", p.insns.data(),
      static_cast<uint32_t>(p.insns.size()), "GPL", flags);
  r.err = fd < 0 ? fd : 0;
  r.fd = fd;
  return r;
}

class ExceptionCallbackCompareTest : public KernelTest<> {
 protected:
  void SetUp() override {
    KernelTest<>::SetUp();
    if (IsSkipped()) return;
    const KernelBtf* btf = KernelBtf::Get();
    if (btf == nullptr) GTEST_SKIP() << "no kernel BTF (/sys/kernel/btf)";
    throw_id_ = btf->FindByNameKind("bpf_throw", BTF_KIND_FUNC);
    if (throw_id_ <= 0) GTEST_SKIP() << "the kernel has no bpf_throw";
  }
  int32_t throw_id_ = 0;
};

TEST_F(ExceptionCallbackCompareTest, TheCallbackDecidesTheReturnValue) {
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  struct Case {
    const char* what;
    CbShape shape;
    uint32_t retval;
  };
  CbShape quiet;
  quiet.main_throws = false;
  const Case cases[] = {{"throw: exc_cb(21)", CbShape{}, 43},
                        {"no throw: the callback never runs", quiet, 5}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const CbProg p = MakeCbProg(throw_id_, c.shape);
    const CbLoaded k = KernelLoadCb(p);
    ASSERT_EQ(k.err, 0) << k.log;
    const KernelObject::Result kr = KernelObject::RunPacket(k.fd, packet);
    close(k.fd);
    ASSERT_EQ(kr.err, 0);
    EXPECT_EQ(kr.retval, c.retval);
    const CbLoaded e = EmuLoadCb(p);
    ASSERT_EQ(e.err, 0) << e.log;
    std::shared_ptr<const Prog> prog;
    ASSERT_EQ(ProgFromFd(e.fd, &prog), 0);
    const native::PacketResult er = native::RunSkb(*prog, packet);
    EXPECT_EQ(interp::LastFault(), "");
    EXPECT_EQ(er.err, 0);
    EXPECT_EQ(er.retval, kr.retval);
    (void)CloseFd(e.fd);
  }
}

TEST_F(ExceptionCallbackCompareTest, RefusedAsTheKernelRefuses) {
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  struct Case {
    CbShape shape;
    int err;
    std::string line;
    bool at_run;  // bpfemu stops the run instead of refusing the load
  };
  std::vector<Case> cases(6);
  cases[0].shape.global = false;
  cases[0].err = -EINVAL;
  cases[0].line = "exception callback 'exc_cb' must have global linkage";
  cases[1].shape.tag = "nowhere";
  cases[1].err = -ENOENT;
  cases[1].line = "exception callback 'nowhere' could not be found in BTF";
  cases[2].shape.second_tag = true;
  cases[2].err = -EEXIST;
  cases[2].line = "multiple exception callback tags for main subprog";
  cases[3].shape.args = 2;
  cases[3].err = -EINVAL;
  cases[3].line = "exception cb only supports single integer argument";
  cases[4].shape.cb_throws = true;
  cases[4].err = -EINVAL;
  cases[4].line = "cannot be called from callback subprog";
  cases[4].at_run = true;
  // The callback's code is checked at load as the main program's is
  // (emu/interp.cc WalkProgram walks it too).
  cases[5].shape.cb_unknown = true;
  cases[5].err = -EINVAL;
  cases[5].line = "invalid func unknown#" + std::to_string(kUnknownHelper);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    const CbProg p = MakeCbProg(throw_id_, c.shape);
    const CbLoaded k = KernelLoadCb(p);
    if (k.fd >= 0) close(k.fd);
    EXPECT_EQ(k.err, c.err);
    EXPECT_NE(k.log.find(c.line), std::string::npos) << k.log;
    const CbLoaded e = EmuLoadCb(p);
    if (c.at_run) {
      ASSERT_EQ(e.err, 0) << e.log;
      std::shared_ptr<const Prog> prog;
      ASSERT_EQ(ProgFromFd(e.fd, &prog), 0);
      native::RunSkb(*prog, packet);
      EXPECT_TRUE(ProgFaulted());
      EXPECT_NE(interp::LastFault().find(c.line), std::string::npos)
          << interp::LastFault();
      (void)CloseFd(e.fd);
      continue;
    }
    if (e.fd >= 0) (void)CloseFd(e.fd);
    EXPECT_EQ(e.err, c.err);
    EXPECT_EQ(e.log, c.line + "\n");
  }
}

}  // namespace
}  // namespace bpfemu::examples
