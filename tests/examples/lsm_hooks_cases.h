// SPDX-License-Identifier: Apache-2.0
// File: lsm_hooks_cases.h
//
// tests/examples/lsm_hooks.bpf.c's configuration and records, the files
// its scenario acts on, and the scenario's hook calls on bpfemu through
// native::RunLsmHook (lsm_hooks_test checks them against the kernel
// source's answers; lsm_hooks_compare_test against the kernel's own hook
// calls). The scenario, in the order the hooks run:
//   open(D/a, O_CREAT)  inode_create(D)  file_open(a)
//   open(D/b, O_CREAT)  inode_create(D), deleting D's storage; file_open(b)
//   open(D/c, O_CREAT)  inode_create(D) refuses: -EACCES
//   open(D/d, O_CREAT)  inode_create(D)  file_open(d)
//   stat(D/a)           fentry/security_inode_getattr, inode_getattr(D/a)
//   unlink(D/b), fstat(b)  the same on D/b, deleted
//   fstat(pipe)         the same on pipe:[N]
//   stat("/")           the same on /
//   stat(D/a)           the same on D/a, inode_getattr refusing: -EPERM
//   three execs         bprm_creds_for_exec: SECUREEXEC; 0; refused -EACCES

#ifndef BPFEMU_TESTS_EXAMPLES_LSM_HOOKS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_LSM_HOOKS_CASES_H_

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "native/lsm_hooks.h"

namespace bpfemu::examples::lsm {

inline constexpr int kCalls = 8;
inline constexpr int kPaths = 6;
inline constexpr int kPathLen = 64;
inline constexpr int kRecs = 32;
enum Hook : uint32_t {
  kCreate = 1,
  kGetattr = 2,
  kFileOpen = 3,
  kExec = 4,
  kFentryGetattr = 5
};

struct Cfg {  // struct cfg of lsm_hooks.bpf.c
  uint64_t pid_tgid;
  uint64_t exec_pid_tgid;
  int32_t create_verdict[kCalls];
  int32_t getattr_verdict[kCalls];
  uint32_t delete_on[kCalls];
  uint32_t sizes[kPaths];
  uint64_t bprm_flags;
  int32_t exec_verdict;
  uint32_t pad;
};

struct Rec {  // struct rec
  uint32_t hook, n;
  int64_t ret[12];
  uint64_t val[4];
  char path[kPaths + 1][kPathLen];
};

struct SVal {  // struct sval, the inode storage's value
  uint64_t count, first;
};

// What the exec children are told: flags for bpf_bprm_opts_set and the
// verdict, per exec.
struct ExecCase {
  uint64_t flags;
  int32_t verdict;
};
inline const ExecCase kExecs[] = {
    {BPF_F_BPRM_SECUREEXEC, 0}, {0, 0}, {BPF_F_BPRM_SECUREEXEC, -EACCES}};

// The scenario's configuration (the pids are the caller's).
inline Cfg ScenarioCfg(size_t a_path_len) {
  Cfg c = {};
  c.create_verdict[2] = -EACCES;
  c.getattr_verdict[4] = -EPERM;
  c.delete_on[1] = 1;
  const uint32_t exact = static_cast<uint32_t>(a_path_len) + 1;
  const uint32_t sizes[kPaths] = {63, exact, exact - 1, 5, 1, 0};
  std::memcpy(c.sizes, sizes, sizeof(sizes));
  return c;
}

// The files of the scenario: a fresh directory D under /tmp (short
// names, so the d_path buffers hold them).
struct Scene {
  std::string dir;
  int dirfd = -1;
  int fd[3] = {-1, -1, -1};  // a, b, d as the scenario opened them
  int pipefd[2] = {-1, -1};
  bool Make() {
    char tmpl[] = "/tmp/lsm49-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return false;
    dir = tmpl;
    dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    return dirfd >= 0 && pipe(pipefd) == 0;
  }
  std::string Name(const char* leaf) const { return dir + "/" + leaf; }
  ~Scene() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
    for (int f : pipefd) {
      if (f >= 0) close(f);
    }
    if (dirfd >= 0) close(dirfd);
    if (!dir.empty()) {
      for (const char* leaf : {"a", "b", "c", "d"}) unlink(Name(leaf).c_str());
      rmdir(dir.c_str());
    }
  }
};

// The scenario on bpfemu: the hook calls above through RunLsmHook on the
// scene's files (already made: a, d open and linked, b open and
// unlinked), the records read back in order, each call's verdict, each
// exec's secureexec.
struct ModelRun {
  std::vector<Rec> recs;
  std::vector<int> verdicts;  // per hook call, in order
  std::vector<int> secureexec;
  int lookup_err = 0;  // the storage of D through the syscall face
  SVal dir_value = {};
};

inline ModelRun RunScenario(const native::Object& obj, const Scene& sc,
                            const Cfg& cfg_in) {
  ModelRun out;
  const uint32_t zero = 0;
  Cfg cfg = cfg_in;
  const uint64_t me = (uint64_t{static_cast<uint32_t>(getpid())} << 32) |
                      static_cast<uint32_t>(gettid());
  cfg.pid_tgid = me;
  cfg.exec_pid_tgid = me;
  const uint32_t counts[6] = {};
  for (uint32_t i = 0; i < 6; ++i) {
    EXPECT_EQ(MapUpdateElem(obj.MapFd("count"), &i, &counts[i], BPF_ANY), 0);
  }
  EXPECT_EQ(MapUpdateElem(obj.MapFd("cfg"), &zero, &cfg, BPF_ANY), 0);
  const native::Program* create = obj.FindProgram("create");
  const native::Program* getattr = obj.FindProgram("getattr");
  const native::Program* open_file = obj.FindProgram("open_file");
  const native::Program* exec = obj.FindProgram("exec");
  const native::Program* fgetattr = obj.FindProgram("fgetattr");
  EXPECT_TRUE(create && getattr && open_file && exec && fgetattr);
  if (!(create && getattr && open_file && exec && fgetattr)) return out;
  auto run = [&](const native::Program* p, const char* hook,
                 native::LsmArg arg) {
    const native::LsmHookOutput o =
        native::RunLsmHook([p](uint64_t* ctx) { return p->Run(ctx); }, hook,
                           std::vector<native::LsmArg>(1, arg));
    out.verdicts.push_back(o.verdict);
  };
  native::LsmInode dir;
  native::LsmFile files[3];
  native::LsmPath paths[4];
  EXPECT_TRUE(native::LsmInodeOfFd(sc.dirfd, &dir));
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(native::LsmFileOfFd(sc.fd[i], &files[i]));
  }
  EXPECT_TRUE(native::LsmPathOfFd(sc.fd[0], &paths[0]));
  EXPECT_TRUE(native::LsmPathOfFd(sc.fd[1], &paths[1]));
  EXPECT_TRUE(native::LsmPathOfFd(sc.pipefd[0], &paths[2]));
  paths[3] = native::LsmPathOfName("/");
  run(create, "inode_create", &dir);
  run(open_file, "file_open", &files[0]);
  run(create, "inode_create", &dir);
  run(open_file, "file_open", &files[1]);
  run(create, "inode_create", &dir);
  run(create, "inode_create", &dir);
  run(open_file, "file_open", &files[2]);
  // A stat: security_inode_getattr's fentry program, then the LSM hook
  // it calls.
  auto stat_call = [&](const native::LsmPath* p) {
    const native::LsmHookOutput o = native::RunTracedCall(
        [fgetattr](uint64_t* ctx) { return fgetattr->Run(ctx); },
        "security_inode_getattr", std::vector<native::LsmArg>(1, p));
    out.verdicts.push_back(o.verdict);
    run(getattr, "inode_getattr", p);
  };
  for (const native::LsmPath& p : paths) stat_call(&p);
  stat_call(&paths[0]);
  for (const ExecCase& e : kExecs) {
    cfg.bprm_flags = e.flags;
    cfg.exec_verdict = e.verdict;
    EXPECT_EQ(MapUpdateElem(obj.MapFd("cfg"), &zero, &cfg, BPF_ANY), 0);
    native::LsmBprm bprm;
    run(exec, "bprm_creds_for_exec", &bprm);
    out.secureexec.push_back(bprm.secureexec ? 1 : 0);
  }
  uint32_t total = 0;
  EXPECT_EQ(MapLookupElem(obj.MapFd("count"), &zero, &total), 0);
  for (uint32_t i = 0; i < total && i < kRecs; ++i) {
    Rec r = {};
    EXPECT_EQ(MapLookupElem(obj.MapFd("recs"), &i, &r), 0);
    out.recs.push_back(r);
  }
  out.lookup_err =
      MapLookupElem(obj.MapFd("istore"), &sc.dirfd, &out.dir_value);
  return out;
}

// A record as text, for comparisons that show the field.
inline std::string ShowRec(const Rec& r) {
  std::string s =
      "hook " + std::to_string(r.hook) + " n " + std::to_string(r.n) + " ret";
  for (int64_t v : r.ret) s += " " + std::to_string(v);
  s += " val";
  for (uint64_t v : r.val) s += " " + std::to_string(v);
  for (int i = 0; i <= kPaths; ++i) {
    s += "\n path" + std::to_string(i) + ":";
    for (int j = 0; j < kPathLen; ++j) {
      const unsigned char c = static_cast<unsigned char>(r.path[i][j]);
      if (c >= 0x20 && c < 0x7f) {
        s += static_cast<char>(c);
      } else {
        s += "\\" + std::to_string(c);
      }
    }
  }
  return s;
}

}  // namespace bpfemu::examples::lsm

#endif  // BPFEMU_TESTS_EXAMPLES_LSM_HOOKS_CASES_H_
