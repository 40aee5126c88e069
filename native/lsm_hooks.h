// SPDX-License-Identifier: Apache-2.0
// File: lsm_hooks.h
//
// One call of a BPF LSM hook (BPF_PROG_TYPE_LSM, BPF_LSM_MAC; the
// trampoline that kernel/bpf/bpf_lsm.c's bpf_lsm_<hook> functions carry
// and security/security.c's call_int_hook / call_void_hook around it):
// RunLsmHook gives a program the hook's arguments as the u64 array a
// tracing program reads, runs it, and answers what it returned and what
// the hook decided with it: 0 lets the operation go on, a negative errno
// refuses it with that errno (the hooks of bpf_lsm_get_retval_range's
// -MAX_ERRNO..0 range); a void hook's answer is ignored.
//
// The kernel objects a hook hands over are the model's own, opaque to a
// program, which passes them to the LSM helpers (the kernel's verifier
// keeps their BTF type; here the helpers check the kind):
// - LsmInode: an inode by device and number, the owner
//   BPF_MAP_TYPE_INODE_STORAGE keys (emu/local_storage.h, the fd of the
//   syscall face names the same one);
// - LsmPath: a struct path as d_path (fs/d_path.c) names it: the
//   components below the caller's root, " (deleted)" for an unlinked
//   dentry, or a pseudo file's d_dname name ("pipe:[N]");
// - LsmFile: a struct file (its path and inode);
// - LsmBprm: a struct linux_binprm, with the secureexec bit exec's auxv
//   reports as AT_SECURE.
// The helpers (kernel/bpf/bpf_inode_storage.c, kernel/trace/bpf_trace.c
// bpf_d_path, kernel/bpf/bpf_lsm.c bpf_bprm_opts_set / bpf_ima_inode_hash /
// bpf_ima_file_hash) act on them; called outside a RunLsmHook run, or on a
// pointer that is not the hook's object of the right kind, a native call
// aborts and a bytecode call faults (the verifier would have refused the
// program). The modelled kernel is built without CONFIG_IMA, as the 6.18
// host is: the ima helpers answer -EOPNOTSUPP (security/integrity/ima's
// stubs in include/linux/ima.h).

#ifndef BPFEMU_NATIVE_LSM_HOOKS_H_
#define BPFEMU_NATIVE_LSM_HOOKS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bpfemu::native {

enum class LsmKind : uint32_t {
  kInode = 0x4c534d31,
  kPath = 0x4c534d32,
  kFile = 0x4c534d33,
  kBprm = 0x4c534d34,
};

struct LsmInode {
  LsmKind kind = LsmKind::kInode;
  uint64_t dev = 0, ino = 0;  // st_dev, st_ino
};

struct LsmPath {
  LsmKind kind = LsmKind::kPath;
  // The names from the root down ("/tmp/a" is {"tmp", "a"}; the root
  // itself has none).
  std::vector<std::string> components;
  bool deleted = false;  // d_unlinked(): " (deleted)" follows the name
  // A dentry with d_op->d_dname (pipes, sockets, anonymous inodes): the
  // whole name, written only when it fits (dynamic_dname).
  std::string dname;
};

struct LsmFile {
  LsmKind kind = LsmKind::kFile;
  LsmPath path;
  LsmInode inode;
};

struct LsmBprm {
  LsmKind kind = LsmKind::kBprm;
  bool secureexec = false;
};

// The objects of this process's open descriptor `fd` as the kernel's
// file_inode() / f_path name them (the path as /proc/self/fd/FD shows it,
// which the kernel writes with d_path). False when fd is not open.
bool LsmInodeOfFd(int fd, LsmInode* out);
bool LsmPathOfFd(int fd, LsmPath* out);
bool LsmFileOfFd(int fd, LsmFile* out);
// A path from its absolute name (no symlinks resolved: the name as d_path
// would give it).
LsmPath LsmPathOfName(const std::string& absolute, bool deleted = false);

// The hooks the model knows (a bpf_lsm_<hook> of the 6.18 kernel): whether
// BPF programs may sleep there (kernel/bpf/bpf_lsm.c sleepable_lsm_hooks,
// which also decides bpf_d_path and the ima helpers) and whether the hook
// returns a verdict (a void hook ignores the program's return value).
struct LsmHookInfo {
  bool known = false;
  bool sleepable = false;
  bool returns_int = true;
};
LsmHookInfo LsmHook(const std::string& hook);
// kernel/bpf/bpf_lsm.c bpf_lsm_get_retval_range: what a program at `hook`
// may return, 0..1 for the bool hooks and -MAX_ERRNO..0 for the other int
// hooks; false for a void hook (any value).
bool LsmRetvalRange(const std::string& hook, int32_t* min, int32_t* max);

// The load-time checks of an LSM program (BPF_LSM_MAC) on its attach
// target, in the verifier's order (kernel/bpf/verifier.c
// bpf_check_attach_target, check_attach_btf_id; kernel/bpf/bpf_lsm.c
// bpf_lsm_verify_prog): a btf_id, a FUNC of the kernel BTF, a sleepable
// program at a sleepable hook, a GPL-compatible license, a bpf_lsm_ hook
// that is not disabled. 0 or -EINVAL with the verifier's line in *log
// (when not null). *hook is the hook's name.
int LsmProgCheck(uint32_t attach_btf_id, bool gpl_compatible, bool sleepable,
                 std::string* hook, std::string* log);

struct LsmHookOutput {
  uint32_t ret = 0;  // what the program returned
  // What the hook answers: the return value as an int (0 or -errno),
  // 0 for a void hook.
  int verdict = 0;
};

using LsmProgram = std::function<uint32_t(uint64_t* ctx)>;

// One argument of a hook: an object above (which the helpers then take),
// or a scalar (LsmArg::Scalar: a mode, a mask, a flag).
struct LsmArg {
  LsmArg(const LsmInode* p) : value(Addr(p)), object(p != nullptr) {}
  LsmArg(const LsmPath* p) : value(Addr(p)), object(p != nullptr) {}
  LsmArg(const LsmFile* p) : value(Addr(p)), object(p != nullptr) {}
  LsmArg(const LsmBprm* p) : value(Addr(p)), object(p != nullptr) {}
  static LsmArg Scalar(uint64_t v) { return LsmArg(v); }
  uint64_t value = 0;
  bool object = false;

 private:
  explicit LsmArg(uint64_t v) : value(v) {}
  static uint64_t Addr(const void* p) { return reinterpret_cast<uint64_t>(p); }
};

// Runs `prog` as the hook `hook` with `args` in the hook's order. A hook
// the model does not know aborts.
LsmHookOutput RunLsmHook(const LsmProgram& prog, const std::string& hook,
                         const std::vector<LsmArg>& args);

// A tracing program (fentry) on the kernel function `func` (a FUNC of the
// kernel BTF: vfs_getattr, security_file_open, ... of
// kernel/trace/bpf_trace.c's btf_allowlist_d_path, where bpf_d_path is
// allowed) with the function's arguments: the same objects, the return
// ignored (verdict 0). A function the kernel BTF does not have aborts.
LsmHookOutput RunTracedCall(const LsmProgram& prog, const std::string& func,
                            const std::vector<LsmArg>& args);

// Whether `p` is an object of kind `kind` handed to the LSM hook running
// on this thread (the bytecode face's check of a BTF pointer argument).
bool LsmObjectOfRun(const void* p, LsmKind kind);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_LSM_HOOKS_H_
