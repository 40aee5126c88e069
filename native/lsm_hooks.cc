// SPDX-License-Identifier: Apache-2.0
// File: lsm_hooks.cc
//
// The LSM hook model and the LSM helpers: kernel/bpf/bpf_inode_storage.c
// (bpf_inode_storage_get, bpf_inode_storage_delete), kernel/trace/
// bpf_trace.c bpf_d_path over fs/d_path.c (d_path, prepend, prepend_path,
// dynamic_dname), kernel/bpf/bpf_lsm.c (bpf_bprm_opts_set,
// bpf_ima_inode_hash, bpf_ima_file_hash, sleepable_lsm_hooks,
// bpf_lsm_get_retval_range). See lsm_hooks.h.

#include "native/lsm_hooks.h"

#include <errno.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

#include "bpfemu/native_abi.h"
#include "emu/kernel_btf.h"
#include "emu/local_storage.h"
#include "native/bound_map.h"

namespace bpfemu::native {
namespace {

// The hook running on this thread and the objects it handed over.
struct Run {
  std::string hook;
  const std::vector<LsmArg>* args = nullptr;
};
thread_local Run* current = nullptr;

// kernel/bpf/bpf_lsm.c sleepable_lsm_hooks (CONFIG_SECURITY_PATH and
// CONFIG_SECURITY_NETWORK set, as on the 6.18 host): the hooks a
// sleepable program may attach to, and where bpf_d_path and the ima
// helpers are allowed.
const std::set<std::string_view>& SleepableHooks() {
  static const std::set<std::string_view> kHooks = {
      "bpf",
      "bpf_map",
      "bpf_map_create",
      "bpf_map_free",
      "bpf_prog",
      "bpf_prog_load",
      "bpf_token_create",
      "bpf_token_free",
      "bpf_token_cmd",
      "bpf_token_capable",
      "bprm_check_security",
      "bprm_committed_creds",
      "bprm_committing_creds",
      "bprm_creds_for_exec",
      "bprm_creds_from_file",
      "capget",
      "capset",
      "cred_prepare",
      "file_ioctl",
      "file_lock",
      "file_open",
      "file_post_open",
      "file_receive",
      "inode_create",
      "inode_free_security",
      "inode_getattr",
      "inode_getxattr",
      "inode_mknod",
      "inode_need_killpriv",
      "inode_post_setxattr",
      "inode_readlink",
      "inode_rename",
      "inode_rmdir",
      "inode_setattr",
      "inode_setxattr",
      "inode_symlink",
      "inode_unlink",
      "kernel_module_request",
      "kernel_read_file",
      "kernfs_init_security",
      "path_unlink",
      "path_mkdir",
      "path_rmdir",
      "path_truncate",
      "path_symlink",
      "path_link",
      "path_rename",
      "path_chmod",
      "path_chown",
      "mmap_file",
      "netlink_send",
      "path_notify",
      "release_secctx",
      "sb_alloc_security",
      "sb_eat_lsm_opts",
      "sb_kern_mount",
      "sb_mount",
      "sb_remount",
      "sb_set_mnt_opts",
      "sb_show_options",
      "sb_statfs",
      "sb_umount",
      "settime",
      "socket_accept",
      "socket_bind",
      "socket_connect",
      "socket_create",
      "socket_getpeername",
      "socket_getpeersec_dgram",
      "socket_getsockname",
      "socket_getsockopt",
      "socket_listen",
      "socket_post_create",
      "socket_recvmsg",
      "socket_sendmsg",
      "socket_shutdown",
      "socket_socketpair",
      "syslog",
      "task_alloc",
      "current_getsecid_subj",
      "task_getsecid_obj",
      "task_prctl",
      "task_setscheduler",
      "userns_create",
  };
  return kHooks;
}

// The void hooks among those the model runs without a kernel BTF.
const std::set<std::string_view>& VoidHooks() {
  static const std::set<std::string_view> kHooks = {
      "bprm_committing_creds", "bprm_committed_creds",
      "inode_free_security",   "task_free",
      "file_free_security",    "cred_free"};
  return kHooks;
}

[[noreturn]] void Die(const char* helper, const char* why) {
  std::fprintf(stderr, "bpfemu: %s: %s (native/lsm_hooks.h RunLsmHook)\n",
               helper, why);
  std::abort();
}

// The hook's object `p` of kind `kind`, or an abort: the verifier passes
// only the hook's BTF pointers of the helper's type (or NULL where it
// says _OR_NULL, which the callers check first).
template <typename T>
T* Object(void* p, LsmKind kind, const char* helper) {
  if (current == nullptr) Die(helper, "called outside an LSM hook");
  if (!LsmObjectOfRun(p, kind)) {
    Die(helper, "the pointer is not the hook's object of the helper's type");
  }
  return static_cast<T*>(p);
}

LocalStorageMap* InodeStorage(void* map, const char* helper) {
  internal::BoundMap* b = map != nullptr ? internal::BoundOf(map) : nullptr;
  auto* ls =
      b != nullptr ? dynamic_cast<LocalStorageMap*>(b->map.get()) : nullptr;
  if (ls == nullptr || ls->kind() != LocalStorageMap::OwnerKind::kInode) {
    Die(helper, "the map is not a BPF_MAP_TYPE_INODE_STORAGE");
  }
  return ls;
}

// fs/d_path.c's prepend buffer: filled from the end, `len` the room left
// (-1 once something did not fit).
struct Prepend {
  char* buf;  // the first byte written so far
  int len;
  // prepend(): the whole string, or as much of its end as fits.
  bool Str(const char* s, int n) {
    if (len < 0) return false;
    if (len < n) {
      buf -= len;
      std::memcpy(buf, s + (n - len), static_cast<size_t>(len));
      len = -1;
      return false;
    }
    len -= n;
    buf -= n;
    std::memcpy(buf, s, static_cast<size_t>(n));
    return true;
  }
  // prepend_char().
  bool Char(char c) {
    if (len > 0) {
      --len;
      *--buf = c;
      return true;
    }
    len = -1;
    return false;
  }
};

}  // namespace

bool LsmInodeOfFd(int fd, LsmInode* out) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  return true;
}

LsmPath LsmPathOfName(const std::string& absolute, bool deleted) {
  LsmPath p;
  p.deleted = deleted;
  size_t i = 0;
  while (i < absolute.size()) {
    const size_t slash = absolute.find('/', i);
    const size_t end = slash == std::string::npos ? absolute.size() : slash;
    if (end > i) p.components.push_back(absolute.substr(i, end - i));
    i = end + 1;
  }
  return p;
}

bool LsmPathOfFd(int fd, LsmPath* out) {
  char name[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = readlink(link.c_str(), name, sizeof(name) - 1);
  if (n < 0) return false;
  std::string s(name, static_cast<size_t>(n));
  if (s.empty() || s[0] != '/') {  // d_dname: "pipe:[N]", "socket:[N]"
    *out = LsmPath();
    out->dname = s;
    return true;
  }
  static constexpr std::string_view kDeleted = " (deleted)";
  bool deleted = false;
  if (s.size() > kDeleted.size() && s.ends_with(kDeleted)) {
    struct stat st;
    // A name that merely ends so is not deleted: the inode still linked.
    if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
      deleted = true;
      s.resize(s.size() - kDeleted.size());
    }
  }
  *out = LsmPathOfName(s, deleted);
  return true;
}

bool LsmFileOfFd(int fd, LsmFile* out) {
  return LsmPathOfFd(fd, &out->path) && LsmInodeOfFd(fd, &out->inode);
}

LsmHookInfo LsmHook(const std::string& hook) {
  LsmHookInfo info;
  info.sleepable = SleepableHooks().contains(hook);
  if (const KernelBtf* btf = KernelBtf::Get(); btf != nullptr) {
    const int32_t id = btf->FindByNameKind("bpf_lsm_" + hook, BTF_KIND_FUNC);
    if (id <= 0) return info;
    info.known = true;
    const btf_type* fn = btf->Type(static_cast<uint32_t>(id));
    const btf_type* proto = fn != nullptr ? btf->Type(fn->type) : nullptr;
    info.returns_int = proto != nullptr && proto->type != 0;
    return info;
  }
  info.known = true;
  info.returns_int = !VoidHooks().contains(hook);
  return info;
}

int LsmProgCheck(uint32_t attach_btf_id, bool gpl_compatible, bool sleepable,
                 std::string* hook, std::string* log) {
  auto refuse = [log](const std::string& line) {
    if (log != nullptr) *log += line + "\n";
    return -EINVAL;
  };
  if (attach_btf_id == 0) return refuse("Tracing programs must provide btf_id");
  const KernelBtf* btf = KernelBtf::Get();
  const std::string id = std::to_string(attach_btf_id);
  if (btf == nullptr || btf->Type(attach_btf_id) == nullptr) {
    return refuse("attach_btf_id " + id + " is invalid");
  }
  const std::string name(btf->Name(attach_btf_id));
  if (name.empty()) {
    return refuse("attach_btf_id " + id + " doesn't have a name");
  }
  if (btf->Kind(attach_btf_id) != BTF_KIND_FUNC) {
    return refuse("attach_btf_id " + id + " is not a function");
  }
  constexpr std::string_view kPrefix = "bpf_lsm_";
  const std::string h =
      name.starts_with(kPrefix) ? name.substr(kPrefix.size()) : std::string();
  if (sleepable && !SleepableHooks().contains(h)) {
    return refuse(name + " is not sleepable");
  }
  if (!gpl_compatible) {
    return refuse("LSM programs must have a GPL compatible license");
  }
  // bpf_lsm_disabled_hooks (CONFIG_KEYS, CONFIG_AUDIT and
  // CONFIG_SECURITY_NETWORK_XFRM set).
  static const std::set<std::string_view> kDisabled = {
      "vm_enough_memory",   "inode_need_killpriv", "inode_getsecurity",
      "inode_listsecurity", "inode_copy_up_xattr", "getselfattr",
      "getprocattr",        "setprocattr",         "key_getsecurity",
      "audit_rule_match",   "xfrm_decode_session", "ismaclabel"};
  if (kDisabled.contains(h)) {
    return refuse("attach_btf_id " + id + " points to disabled hook " + name);
  }
  // bpf_lsm_hooks: the LSM_HOOK list's bpf_lsm_<hook> functions, not
  // bpf_lsm.c's own.
  static const std::set<std::string_view> kNotHooks = {
      "find_cgroup_shim", "verify_prog",      "is_sleepable_hook",
      "is_trusted",       "get_retval_range", "func_proto"};
  if (h.empty() || kNotHooks.contains(h)) {
    return refuse("attach_btf_id " + id + " points to wrong type name " + name);
  }
  if (hook != nullptr) *hook = h;
  return 0;
}

bool LsmRetvalRange(const std::string& hook, int32_t* min, int32_t* max) {
  if (!LsmHook(hook).returns_int) return false;
  // bool_lsm_hooks (CONFIG_SECURITY_NETWORK_XFRM and CONFIG_AUDIT set).
  static const std::set<std::string_view> kBool = {
      "xfrm_state_pol_flow_match", "audit_rule_known", "inode_xattr_skipcap"};
  const bool b = kBool.contains(hook);
  *min = b ? 0 : -4095;  // -MAX_ERRNO
  *max = b ? 1 : 0;
  return true;
}

bool LsmObjectOfRun(const void* p, LsmKind kind) {
  if (current == nullptr || p == nullptr) return false;
  for (const LsmArg& a : *current->args) {
    if (!a.object) continue;
    LsmKind k;
    std::memcpy(&k, reinterpret_cast<const void*>(a.value), sizeof(k));
    if (a.value == reinterpret_cast<uint64_t>(p)) return k == kind;
    // A file's path and inode are its members (&file->f_path, f_inode).
    if (k == LsmKind::kFile) {
      const auto* f = reinterpret_cast<const LsmFile*>(a.value);
      if ((kind == LsmKind::kPath && p == &f->path) ||
          (kind == LsmKind::kInode && p == &f->inode)) {
        return true;
      }
    }
  }
  return false;
}

namespace {

// Runs `prog` on `args` with the objects bound for the helpers.
uint32_t RunWith(const LsmProgram& prog, const std::string& name,
                 const std::vector<LsmArg>& args) {
  Run run;
  run.hook = name;
  run.args = &args;
  // MAX_BPF_FUNC_ARGS u64 slots, the hook's arguments first.
  std::vector<uint64_t> ctx(12, 0);
  for (size_t i = 0; i < args.size() && i < ctx.size(); ++i) {
    ctx[i] = args[i].value;
  }
  Run* saved = current;
  current = &run;
  const uint32_t ret = prog(ctx.data());
  current = saved;
  return ret;
}

}  // namespace

LsmHookOutput RunLsmHook(const LsmProgram& prog, const std::string& hook,
                         const std::vector<LsmArg>& args) {
  const LsmHookInfo info = LsmHook(hook);
  if (!info.known) {
    std::fprintf(stderr, "bpfemu: no LSM hook bpf_lsm_%s\n", hook.c_str());
    std::abort();
  }
  LsmHookOutput out;
  out.ret = RunWith(prog, hook, args);
  // security/security.c call_int_hook: the BPF LSM's int answer; a void
  // hook has none.
  out.verdict = info.returns_int ? static_cast<int32_t>(out.ret) : 0;
  return out;
}

LsmHookOutput RunTracedCall(const LsmProgram& prog, const std::string& func,
                            const std::vector<LsmArg>& args) {
  const KernelBtf* btf = KernelBtf::Get();
  if (btf == nullptr || btf->FindByNameKind(func, BTF_KIND_FUNC) <= 0) {
    std::fprintf(stderr, "bpfemu: no kernel function %s\n", func.c_str());
    std::abort();
  }
  LsmHookOutput out;
  out.ret = RunWith(prog, func, args);
  return out;
}

}  // namespace bpfemu::native

using bpfemu::native::LsmBprm;
using bpfemu::native::LsmFile;
using bpfemu::native::LsmInode;
using bpfemu::native::LsmKind;
using bpfemu::native::LsmPath;

// bpf_inode_storage_get(): NULL for flags other than
// BPF_LOCAL_STORAGE_GET_F_CREATE or a NULL inode; the inode's element,
// else with the flag a new one holding `value` (zeroes when NULL; NULL
// when it cannot be made).
void* bpfemu_inode_storage_get(void* map, void* inode, void* value,
                               __u64 flags) {
  bpfemu::LocalStorageMap* ls =
      bpfemu::native::InodeStorage(map, "bpf_inode_storage_get");
  if (flags & ~uint64_t{BPF_LOCAL_STORAGE_GET_F_CREATE}) return nullptr;
  if (inode == nullptr) return nullptr;
  const auto* i = bpfemu::native::Object<LsmInode>(inode, LsmKind::kInode,
                                                   "bpf_inode_storage_get");
  const bpfemu::LocalStorageMap::Owner owner{i->dev, i->ino};
  if (void* v = ls->GetByOwner(owner, nullptr, false)) return v;
  if (!(flags & BPF_LOCAL_STORAGE_GET_F_CREATE)) return nullptr;
  return ls->GetByOwner(owner, value, true);
}

// bpf_inode_storage_delete(): -EINVAL for a NULL inode, -ENOENT without an
// element.
long bpfemu_inode_storage_delete(void* map, void* inode) {
  bpfemu::LocalStorageMap* ls =
      bpfemu::native::InodeStorage(map, "bpf_inode_storage_delete");
  if (inode == nullptr) return -EINVAL;
  const auto* i = bpfemu::native::Object<LsmInode>(inode, LsmKind::kInode,
                                                   "bpf_inode_storage_delete");
  return ls->DeleteByOwner(bpfemu::LocalStorageMap::Owner{i->dev, i->ino});
}

// bpf_d_path(): 0 for a zero size; else d_path's name moved to the start
// of `buf` and its length with the NUL, or -ENAMETOOLONG with what
// d_path wrote before it ran out of room (the end of the name, at the end
// of the buffer).
long bpfemu_d_path(void* path, char* buf, __u32 sz) {
  const auto* p =
      bpfemu::native::Object<LsmPath>(path, LsmKind::kPath, "bpf_d_path");
  if (sz == 0) return 0;
  const int buflen = static_cast<int>(sz);
  if (!p->dname.empty()) {
    // dynamic_dname(): the whole name (at most 64 bytes) at the buffer's
    // end, or nothing; bpf_d_path moves it to the start, the end keeping
    // what was there.
    const int n = static_cast<int>(p->dname.size()) + 1;
    if (n > 64 || n > buflen) return -ENAMETOOLONG;
    char* at = buf + (buflen - n);
    std::memcpy(at, p->dname.c_str(), static_cast<size_t>(n));
    std::memmove(buf, at, static_cast<size_t>(n));
    return n;
  }
  bpfemu::native::Prepend b{buf + buflen, buflen};
  if (p->deleted) {
    b.Str(" (deleted)", 11);  // with its NUL
  } else {
    b.Char('\0');
  }
  const int start = b.len;
  for (auto it = p->components.rbegin(); it != p->components.rend(); ++it) {
    if (!b.Str(it->data(), static_cast<int>(it->size())) || !b.Char('/')) {
      break;
    }
  }
  if (b.len == start) b.Char('/');
  if (b.len < 0) return -ENAMETOOLONG;
  const long n = buf + buflen - b.buf;
  std::memmove(buf, b.buf, static_cast<size_t>(n));
  return n;
}

// bpf_bprm_opts_set(): -EINVAL for a flag other than
// BPF_F_BPRM_SECUREEXEC; else secureexec becomes the flag (set or
// cleared).
long bpfemu_bprm_opts_set(void* bprm, __u64 flags) {
  auto* b = bpfemu::native::Object<LsmBprm>(bprm, LsmKind::kBprm,
                                            "bpf_bprm_opts_set");
  if (flags & ~uint64_t{BPF_F_BPRM_SECUREEXEC}) return -EINVAL;
  b->secureexec = (flags & BPF_F_BPRM_SECUREEXEC) != 0;
  return 0;
}

// bpf_ima_inode_hash() / bpf_ima_file_hash(): without CONFIG_IMA,
// ima_inode_hash() and ima_file_hash() answer -EOPNOTSUPP.
long bpfemu_ima_inode_hash(void* inode, void*, __u32) {
  (void)bpfemu::native::Object<LsmInode>(inode, LsmKind::kInode,
                                         "bpf_ima_inode_hash");
  return -EOPNOTSUPP;
}

long bpfemu_ima_file_hash(void* file, void*, __u32) {
  (void)bpfemu::native::Object<LsmFile>(file, LsmKind::kFile,
                                        "bpf_ima_file_hash");
  return -EOPNOTSUPP;
}
