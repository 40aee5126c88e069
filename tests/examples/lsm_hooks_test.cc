// SPDX-License-Identifier: Apache-2.0
// tests/examples/lsm_hooks.bpf.c on bpfemu alone: the scenario of
// lsm_hooks_cases.h through native::RunLsmHook, natively and as bytecode
// (the records must agree), with the answers worked out from the kernel
// source (kernel/bpf/bpf_inode_storage.c, kernel/trace/bpf_trace.c
// bpf_d_path over fs/d_path.c, kernel/bpf/bpf_lsm.c); bpf_d_path's buffer
// rules called directly; and what the verifier refuses at load (the
// hook, the license, sleepable programs and helpers, the helpers offered
// per hook), which lsm_hooks_compare_test compares with the kernel where
// the kernel loads LSM programs.

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/bytecode.h"
#include "loader/object.h"
#include "tests/examples/lsm_hooks_cases.h"

namespace bpfemu::examples::lsm {
namespace {

constexpr char kPath[] = "tests/examples/lsm_hooks.bpf.o";

// The scene as the kernel run leaves it: a, b, d made; b unlinked.
bool MakeFiles(Scene* sc) {
  if (!sc->Make()) return false;
  const char* leaves[3] = {"a", "b", "d"};
  for (int i = 0; i < 3; ++i) {
    sc->fd[i] = open(sc->Name(leaves[i]).c_str(), O_CREAT | O_RDWR, 0600);
    if (sc->fd[i] < 0) return false;
  }
  return unlink(sc->Name("b").c_str()) == 0;
}

std::string Str(const char* p, size_t n) { return std::string(p, n); }

class LsmHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (KernelBtf::Get() == nullptr) {
      GTEST_SKIP() << "no kernel BTF: LSM programs name their hook in it";
    }
  }
};

TEST_F(LsmHooksTest, ScenarioInBothFaces) {
  Scene sc;
  ASSERT_TRUE(MakeFiles(&sc));
  const std::string a = sc.Name("a");
  const Cfg cfg = ScenarioCfg(a.size());
  ModelRun runs[2];
  for (const bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto obj = bytecode ? native::Object::OpenBytecode(kPath)
                        : native::Object::Open("lsm_hooks");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    const native::Program* p = (*obj)->FindProgram("create");
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->type(), BPF_PROG_TYPE_LSM);
    runs[bytecode] = RunScenario(**obj, sc, cfg);
  }
  ASSERT_EQ(runs[0].recs.size(), runs[1].recs.size());
  for (size_t i = 0; i < runs[0].recs.size(); ++i) {
    EXPECT_EQ(ShowRec(runs[0].recs[i]), ShowRec(runs[1].recs[i])) << i;
  }
  EXPECT_EQ(runs[0].verdicts, runs[1].verdicts);
  EXPECT_EQ(runs[0].secureexec, runs[1].secureexec);

  const ModelRun& r = runs[0];
  ASSERT_EQ(r.recs.size(), 20u);
  const uint32_t hooks[20] = {1, 3, 1, 3, 1, 1, 3, 5, 2, 5,
                              2, 5, 2, 5, 2, 5, 2, 4, 4, 4};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r.recs[i].hook, hooks[i]) << i;
  // inode_create: the first call makes D's element (100 + 1, made by
  // call 0); the second finds it, then deletes it (0, then -ENOENT);
  // the third makes it again.
  const Rec& c0 = r.recs[0];
  EXPECT_EQ(c0.ret[0], 0);  // no element yet
  EXPECT_EQ(c0.ret[1], 0);  // flags 2: NULL
  EXPECT_EQ(c0.ret[2], 0);  // NULL inode: NULL
  EXPECT_EQ(c0.ret[3], 1);
  EXPECT_EQ(c0.ret[4], 1);  // found again, the same value
  EXPECT_EQ(c0.ret[8], -EINVAL);
  EXPECT_EQ(c0.ret[9], -EOPNOTSUPP);  // no CONFIG_IMA
  EXPECT_EQ(c0.val[0], 101u);
  EXPECT_EQ(c0.val[1], 0u);
  const Rec& c1 = r.recs[2];
  EXPECT_EQ(c1.ret[0], 1);
  EXPECT_EQ(c1.val[0], 102u);
  EXPECT_EQ(c1.ret[5], 0);
  EXPECT_EQ(c1.ret[6], -ENOENT);
  EXPECT_EQ(c1.ret[7], 0);
  const Rec& c2 = r.recs[4];
  EXPECT_EQ(c2.ret[0], 0);
  EXPECT_EQ(c2.val[0], 101u);
  EXPECT_EQ(c2.val[1], 2u);
  EXPECT_EQ(r.recs[5].val[0], 102u);
  EXPECT_EQ(r.lookup_err, 0);
  EXPECT_EQ(r.dir_value.count, 102u);
  EXPECT_EQ(r.dir_value.first, 2u);
  // file_open: the ima helpers answer -EOPNOTSUPP.
  EXPECT_EQ(r.recs[1].ret[0], -EOPNOTSUPP);
  EXPECT_EQ(r.recs[1].ret[1], -EOPNOTSUPP);
  // inode_getattr of D/a: sizes 63, exact, exact - 1, 5, 1, 0, then 64.
  const Rec& g0 = r.recs[8];
  const long len = static_cast<long>(a.size()) + 1;
  EXPECT_EQ(g0.ret[0], len);
  EXPECT_EQ(Str(g0.path[0], a.size() + 1), a + std::string(1, '\0'));
  EXPECT_EQ(g0.ret[1], len);
  EXPECT_EQ(g0.ret[2], -ENAMETOOLONG);
  // The room ran out at the leading '/': the rest is written.
  EXPECT_EQ(Str(g0.path[2], a.size()), a.substr(1) + std::string(1, '\0'));
  EXPECT_EQ(g0.ret[3], -ENAMETOOLONG);
  EXPECT_EQ(Str(g0.path[3], 5), a.substr(a.size() - 4) + std::string(1, '\0'));
  EXPECT_EQ(g0.ret[4], -ENAMETOOLONG);
  EXPECT_EQ(g0.path[4][0], '\0');
  EXPECT_EQ(g0.ret[5], 0);
  EXPECT_EQ(g0.ret[6], len);
  // The unlinked b: " (deleted)" after its name.
  const std::string b = sc.Name("b") + " (deleted)";
  EXPECT_EQ(r.recs[10].ret[0], static_cast<long>(b.size()) + 1);
  EXPECT_EQ(Str(r.recs[10].path[0], b.size()), b);
  // The pipe: its d_dname name, all or nothing.
  const Rec& gp = r.recs[12];
  ASSERT_GT(gp.ret[0], 0);
  EXPECT_EQ(std::string(gp.path[0]).rfind("pipe:[", 0), 0u) << gp.path[0];
  EXPECT_EQ(gp.ret[3], -ENAMETOOLONG);
  EXPECT_EQ(std::string(gp.path[3], 5), std::string(5, '\0'));
  // The root: "/".
  const Rec& gr = r.recs[14];
  EXPECT_EQ(gr.ret[0], 2);
  EXPECT_EQ(std::string(gr.path[0]), "/");
  EXPECT_EQ(gr.ret[4], -ENAMETOOLONG);  // the NUL took the only byte
  // Verdicts: the third create and the fifth stat refused.
  const std::vector<int> verdicts = {0, 0, 0,      0, -EACCES, 0,      0,
                                     0, 0, 0,      0, 0,       0,      0,
                                     0, 0, -EPERM, 0, 0,       -EACCES};
  EXPECT_EQ(r.verdicts, verdicts);
  // fentry/security_inode_getattr: the same name as the hook's.
  EXPECT_EQ(r.recs[7].ret[0], len);
  EXPECT_EQ(std::string(r.recs[7].path[0]), a);
  EXPECT_EQ(r.recs[7].ret[1], -ENAMETOOLONG);
  EXPECT_EQ(std::string(r.recs[11].path[0]), std::string(gp.path[0]));
  // exec: unknown flags -EINVAL, then the flag set, cleared, set.
  for (int i = 17; i < 20; ++i) {
    EXPECT_EQ(r.recs[i].ret[0], -EINVAL);
    EXPECT_EQ(r.recs[i].ret[1], -EINVAL);
    EXPECT_EQ(r.recs[i].ret[2], 0);
  }
  EXPECT_EQ(r.secureexec, (std::vector<int>{1, 0, 1}));
}

// bpf_d_path's rules called from a hook directly (a C++ program).
long DPath(native::LsmPath* p, char* buf, uint32_t sz) {
  long ret = 0;
  native::RunLsmHook(
      [&](uint64_t*) -> uint32_t {
        ret = bpfemu_d_path(p, buf, sz);
        return 0;
      },
      "inode_getattr", {p});
  return ret;
}

TEST_F(LsmHooksTest, DPathBuffers) {
  native::LsmPath p = native::LsmPathOfName("/ab/cdef");
  char buf[32];
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&p, buf, 0), 0);
  EXPECT_EQ(buf[0], '#');  // a zero size writes nothing
  EXPECT_EQ(DPath(&p, buf, 32), 9);
  EXPECT_STREQ(buf, "/ab/cdef");
  // One short: the name but its leading '/', at the buffer's end.
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&p, buf, 8), -ENAMETOOLONG);
  EXPECT_EQ(std::string(buf, 8), std::string("ab/cdef") + '\0');
  // A component cut: its end.
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&p, buf, 4), -ENAMETOOLONG);
  EXPECT_EQ(std::string(buf, 4), std::string("def") + '\0');
  // Deleted: " (deleted)" and its NUL come first, cut from their end.
  native::LsmPath d = native::LsmPathOfName("/x", true);
  EXPECT_EQ(DPath(&d, buf, 32), 13);
  EXPECT_STREQ(buf, "/x (deleted)");
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&d, buf, 5), -ENAMETOOLONG);
  EXPECT_EQ(std::string(buf, 5), std::string("ted)") + '\0');
  // A pseudo file's name: whole or not at all.
  native::LsmPath pipe_path;
  pipe_path.dname = "pipe:[1234]";
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&pipe_path, buf, 11), -ENAMETOOLONG);
  EXPECT_EQ(buf[10], '#');
  EXPECT_EQ(DPath(&pipe_path, buf, 12), 12);
  EXPECT_STREQ(buf, "pipe:[1234]");
  // dynamic_dname wrote it at the end, where it stays after the move.
  std::memset(buf, '#', sizeof(buf));
  EXPECT_EQ(DPath(&pipe_path, buf, 32), 12);
  EXPECT_STREQ(buf, "pipe:[1234]");
  EXPECT_EQ(buf[12], '#');
  EXPECT_STREQ(buf + 20, "pipe:[1234]");
  // The root.
  native::LsmPath root = native::LsmPathOfName("/");
  EXPECT_EQ(DPath(&root, buf, 2), 2);
  EXPECT_STREQ(buf, "/");
}

TEST_F(LsmHooksTest, HookVerdicts) {
  // A void hook ignores the return value; an int hook answers it.
  native::LsmBprm bprm;
  const auto ret7 = [](uint64_t*) -> uint32_t { return 7; };
  EXPECT_EQ(native::RunLsmHook(ret7, "bprm_committing_creds", {&bprm}).verdict,
            0);
  const auto eperm = [](uint64_t*) -> uint32_t {
    return static_cast<uint32_t>(-EPERM);
  };
  const native::LsmHookOutput o =
      native::RunLsmHook(eperm, "bprm_creds_for_exec", {&bprm});
  EXPECT_EQ(o.verdict, -EPERM);
  EXPECT_EQ(o.ret, static_cast<uint32_t>(-EPERM));
  // Scalars beside the objects (inode_create's dentry is not modelled).
  native::LsmInode dir;
  EXPECT_EQ(native::RunLsmHook(eperm, "inode_create",
                               {&dir, native::LsmArg::Scalar(0x5000),
                                native::LsmArg::Scalar(0100644)})
                .verdict,
            -EPERM);
  EXPECT_TRUE(native::LsmHook("file_open").sleepable);
  EXPECT_FALSE(native::LsmHook("inode_permission").sleepable);
  EXPECT_FALSE(native::LsmHook("bprm_committing_creds").returns_int);
  EXPECT_TRUE(native::LsmHook("file_open").returns_int);
}

// A bytecode run of a program on objects no hook handed over: the helper
// faults (the verifier allows only the hook's BTF pointers).
TEST_F(LsmHooksTest, HelpersOnForeignPointersFault) {
  auto obj = native::Object::OpenBytecode(kPath);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  const uint32_t zero = 0;
  Cfg cfg = {};
  cfg.pid_tgid = (uint64_t{static_cast<uint32_t>(getpid())} << 32) |
                 static_cast<uint32_t>(gettid());
  ASSERT_EQ(MapUpdateElem((*obj)->MapFd("cfg"), &zero, &cfg, BPF_ANY), 0);
  const native::Program* p = (*obj)->FindProgram("getattr");
  ASSERT_NE(p, nullptr);
  native::LsmPath path = native::LsmPathOfName("/tmp");
  uint64_t ctx[12] = {reinterpret_cast<uint64_t>(&path)};
  EXPECT_EQ(p->Run(ctx), 0u);  // outside RunLsmHook
  EXPECT_NE(interp::LastFault().find("struct path"), std::string::npos)
      << interp::LastFault();
  // Inside a hook, a path where an inode is wanted.
  const native::Program* create = (*obj)->FindProgram("create");
  ASSERT_NE(create, nullptr);
  native::RunLsmHook([create](uint64_t* c) { return create->Run(c); },
                     "inode_create", {&path});
  EXPECT_NE(interp::LastFault().find("struct inode"), std::string::npos)
      << interp::LastFault();
  // A scalar where the inode is: a fault, not a read of that address.
  native::RunLsmHook([create](uint64_t* c) { return create->Run(c); },
                     "inode_create", {native::LsmArg::Scalar(0x5000)});
  EXPECT_NE(interp::LastFault().find("R2 is not the LSM hook's struct inode"),
            std::string::npos)
      << interp::LastFault();
}

// What the verifier refuses, bpfemu's bytecode face.
struct Load {
  int fd;
  std::string log;
};
Load LoadProg(uint32_t type, uint32_t attach_type, const char* func,
              int32_t helper, bool sleepable, const char* license = "GPL") {
  const KernelBtf* btf = KernelBtf::Get();
  std::vector<interp::RawInsn> insns;
  if (helper != 0) insns.push_back(interp::asm_::Call(helper));
  insns.push_back(interp::asm_::MovImm(BPF_REG_0, 0));
  insns.push_back(interp::asm_::Exit());
  native::ProgLoadFlags flags;
  std::string log;
  flags.log = &log;
  flags.prog_flags = sleepable ? BPF_F_SLEEPABLE : 0;
  if (func != nullptr) {
    const int32_t id = btf->FindByNameKind(func, BTF_KIND_FUNC);
    EXPECT_GT(id, 0) << func;
    flags.attach_btf_id = static_cast<uint32_t>(id);
  }
  const int fd = native::ProgLoadBytecode(
      type, attach_type, "lsm", insns.data(),
      static_cast<uint32_t>(insns.size()), license, flags);
  if (fd >= 0) CloseFd(fd);
  return {fd, log};
}

TEST_F(LsmHooksTest, LoadTimeRefusals) {
  const uint32_t kLsm = BPF_PROG_TYPE_LSM;
  Load l = LoadProg(kLsm, BPF_LSM_MAC, nullptr, 0, false);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log, "Tracing programs must provide btf_id\n");
  l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_permission", 0, true);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log, "bpf_lsm_inode_permission is not sleepable\n");
  l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_file_open", 0, false, "MIT");
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log, "LSM programs must have a GPL compatible license\n");
  l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_getsecurity", 0, false);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_NE(l.log.find("points to disabled hook bpf_lsm_inode_getsecurity"),
            std::string::npos)
      << l.log;
  l = LoadProg(kLsm, BPF_LSM_MAC, "vfs_truncate", 0, false);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_NE(l.log.find("points to wrong type name vfs_truncate"),
            std::string::npos)
      << l.log;
  EXPECT_GE(LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_file_open", 0, true).fd, 0);
}

// check_return_code(): a known R0 outside -MAX_ERRNO..0 at an int hook;
// any value at a void hook.
Load LoadReturning(const char* func, int32_t r0,
                   uint32_t attach_type = BPF_LSM_MAC) {
  const std::vector<interp::RawInsn> insns = {
      interp::asm_::MovImm(BPF_REG_0, r0), interp::asm_::Exit()};
  native::ProgLoadFlags flags;
  std::string log;
  flags.log = &log;
  flags.attach_btf_id = static_cast<uint32_t>(
      KernelBtf::Get()->FindByNameKind(func, BTF_KIND_FUNC));
  const int fd = native::ProgLoadBytecode(
      BPF_PROG_TYPE_LSM, attach_type, "ret", insns.data(),
      static_cast<uint32_t>(insns.size()), "GPL", flags);
  if (fd >= 0) CloseFd(fd);
  return {fd, log};
}

TEST_F(LsmHooksTest, ReturnValueRange) {
  Load l = LoadReturning("bpf_lsm_file_open", 1);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log,
            "At program exit the register R0 has smin=1 smax=1 should have "
            "been in [-4095, 0]\n");
  l = LoadReturning("bpf_lsm_file_open", -4096);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log,
            "At program exit the register R0 has smin=-4096 smax=-4096 should "
            "have been in [-4095, 0]\n");
  EXPECT_GE(LoadReturning("bpf_lsm_file_open", -4095).fd, 0);
  EXPECT_GE(LoadReturning("bpf_lsm_file_open", 0).fd, 0);
  // A void hook: anything.
  EXPECT_GE(LoadReturning("bpf_lsm_bprm_committing_creds", 7).fd, 0);
}

// An lsm_cgroup program (BPF_LSM_CGROUP) answers 0 or 1 at an int hook and
// 1 at a void hook: check_return_code()'s default range, not the hook's.
TEST_F(LsmHooksTest, CgroupLsmReturnValueRange) {
  EXPECT_GE(LoadReturning("bpf_lsm_file_open", 1, BPF_LSM_CGROUP).fd, 0);
  EXPECT_GE(LoadReturning("bpf_lsm_file_open", 0, BPF_LSM_CGROUP).fd, 0);
  Load l = LoadReturning("bpf_lsm_file_open", -1, BPF_LSM_CGROUP);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log,
            "At program exit the register R0 has smin=-1 smax=-1 should have "
            "been in [0, 1]\n");
  EXPECT_GE(
      LoadReturning("bpf_lsm_bprm_committing_creds", 1, BPF_LSM_CGROUP).fd, 0);
  l = LoadReturning("bpf_lsm_bprm_committing_creds", 0, BPF_LSM_CGROUP);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(l.log,
            "At program exit the register R0 has smin=0 smax=0 should have "
            "been in [1, 1]\n");
}

// Which LSM helper each hook and program is offered (check_helper_call's
// order: offered to the type, `allowed`, might_sleep).
TEST_F(LsmHooksTest, HelperOfferPerHook) {
  const uint32_t kLsm = BPF_PROG_TYPE_LSM;
  const auto offered = [](const Load& l) { return l.fd >= 0; };
  const auto line = [](const Load& l) { return l.log; };
  // Inode storage and bprm_opts_set: every LSM hook.
  for (int32_t h : {BPF_FUNC_inode_storage_get, BPF_FUNC_inode_storage_delete,
                    BPF_FUNC_bprm_opts_set}) {
    EXPECT_TRUE(offered(
        LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_permission", h, false)))
        << h;
    // Not to tracing programs.
    const Load t = LoadProg(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, nullptr, h, false);
    EXPECT_EQ(t.fd, -EINVAL) << h;
    EXPECT_NE(t.log.find("program of this type cannot use helper"),
              std::string::npos)
        << t.log;
  }
  // bpf_d_path: an LSM program at a sleepable hook, sleepable or not.
  EXPECT_TRUE(offered(LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_getattr",
                               BPF_FUNC_d_path, false)));
  Load l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_permission",
                    BPF_FUNC_d_path, false);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(line(l), "helper call is not allowed in probe\n");
  // The ima helpers: a sleepable hook, then a sleepable program.
  for (int32_t h : {BPF_FUNC_ima_inode_hash, BPF_FUNC_ima_file_hash}) {
    EXPECT_TRUE(
        offered(LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_file_open", h, true)));
    l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_file_open", h, false);
    EXPECT_EQ(l.fd, -EINVAL);
    EXPECT_EQ(line(l), "helper call might sleep in a non-sleepable prog\n");
    l = LoadProg(kLsm, BPF_LSM_MAC, "bpf_lsm_inode_permission", h, false);
    EXPECT_EQ(l.fd, -EINVAL);
    EXPECT_EQ(line(l), "helper call is not allowed in probe\n");
  }
  // Tracing programs: bpf_d_path from the functions of
  // btf_allowlist_d_path and from iterators only; a SYSCALL program has no
  // attach function.
  EXPECT_TRUE(offered(LoadProg(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY,
                               "vfs_truncate", BPF_FUNC_d_path, false)));
  l = LoadProg(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "do_unlinkat",
               BPF_FUNC_d_path, false);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(line(l), "helper call is not allowed in probe\n");
  l = LoadProg(BPF_PROG_TYPE_SYSCALL, 0, nullptr, BPF_FUNC_d_path, true);
  EXPECT_EQ(l.fd, -EINVAL);
  EXPECT_EQ(line(l), "helper call is not allowed in probe\n");
}

}  // namespace
}  // namespace bpfemu::examples::lsm
