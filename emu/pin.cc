// SPDX-License-Identifier: Apache-2.0
// BPF_OBJ_PIN and BPF_OBJ_GET (kernel/bpf/inode.c bpf_obj_pin_user,
// bpf_obj_get_user) over the emulated bpffs (bpffs.h): paths outside the
// mount point answer as the kernel's path walk does, paths inside are
// resolved below the checked storage directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "emu/bpffs.h"
#include "emu/fd_table.h"
#include "emu/prog.h"
#include "emu/syscall.h"
#include "emu/syscall_internal.h"

namespace bpfemu {
namespace {

// Errors for a path outside the emulated bpffs, as the kernel's path walk
// gives them: a missing file or parent -> ENOENT (and the like), an existing
// one -> `exists_err`.
int OutsideError(const std::string& path, bool want_parent, int exists_err) {
  std::string target = path;
  if (want_parent) {
    const size_t slash = path.rfind('/');
    target = slash == 0 ? "/" : path.substr(0, slash);
  }
  struct stat st;
  if (stat(target.c_str(), &st) != 0) return -errno;
  if (want_parent && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  return exists_err;
}

}  // namespace

int ObjPin(int fd, const char* path) {
  FdEntry e;
  if (FdTable::Get().Find(fd, &e) != 0) {
    std::shared_ptr<const Prog> prog;
    return ProgFromFd(fd, &prog) == 0 ? -EOPNOTSUPP : -EINVAL;
  }
  if (path == nullptr) return -EFAULT;
  if (*path == '\0') return -ENOENT;
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  switch (p.kind) {
    case BpffsPath::kRoot:
      return -EEXIST;
    case BpffsPath::kOutside:
      return OutsideError(p.absolute, /*want_parent=*/true, -EPERM);
    case BpffsPath::kInside:
      break;
  }
  if (p.error != 0) return p.error == -ELOOP ? -ENOENT : p.error;
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (linkat(AT_FDCWD, self.c_str(), p.parent_fd, p.name.c_str(),
             AT_SYMLINK_FOLLOW) == 0) {
    return 0;
  }
  // A memfd-backed region (no usable storage directory) cannot be linked.
  return errno == EXDEV ? -EPERM : -errno;
}

int ObjGet(const char* path, uint32_t file_flags) {
  bool readable, writable;
  if (int err = internal::FileFlags(file_flags, &readable, &writable);
      err != 0) {
    return err;
  }
  if (path == nullptr) return -EFAULT;
  if (*path == '\0') return -ENOENT;
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  switch (p.kind) {
    case BpffsPath::kRoot:
      return -EACCES;
    case BpffsPath::kOutside:
      return OutsideError(p.absolute, /*want_parent=*/false, -EACCES);
    case BpffsPath::kInside:
      break;
  }
  if (p.error != 0) return p.error == -ELOOP ? -EACCES : p.error;
  const int fd = BpffsOpenPinned(p, readable, writable);
  if (fd < 0) return fd;
  if (AttachMapFd(fd, readable, writable) != 0) {
    close(fd);
    return -EACCES;
  }
  return fd;
}

}  // namespace bpfemu
