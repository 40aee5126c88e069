// SPDX-License-Identifier: Apache-2.0
// File-system calls for programs running on libbpfemu, so that code written
// for the kernel's bpffs keeps working unchanged:
//   * close(2): a descriptor closed with a plain close() stops being a map or
//     program fd, as in the kernel, so a later file that reuses the number is
//     not mistaken for the map;
//   * mkdir(2), unlink(2), rmdir(2) on paths below the emulated bpffs mount
//     (emu/bpffs.h) act on the emulated filesystem; other paths go to the
//     kernel.
// Linked into libbpfemu.so (and into binaries that ask for it), never into
// the emulator library itself.

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu/bpffs.h"
#include "emu/map_in_map.h"
#include "emu/syscall.h"

namespace {

// Runs `emulated` for paths below the bpffs mount (setting errno from its
// -errno result), else returns -2 so the caller asks the kernel.
template <typename Fn>
int OnBpffs(const char* path, Fn emulated) {
  if (path == nullptr) return -2;
  bpfemu::BpffsPath p;
  bpfemu::ResolveBpffsPath(path, &p);
  if (p.kind == bpfemu::BpffsPath::kOutside) return -2;
  const int ret = emulated();
  if (ret < 0) {
    errno = -ret;
    return -1;
  }
  return 0;
}

}  // namespace

extern "C" {

int close(int fd) {
  bpfemu::ClosingFd closing = bpfemu::ForgetFd(fd);
  const int ret = static_cast<int>(syscall(SYS_close, fd));
  // A map-of-maps no fd, pin or process holds any more puts its inner maps;
  // an inner map no slot holds loses its link (emu/map_in_map.h); a perf
  // event array drops the entries its released file stored.
  const int saved = errno;
  closing.Finish();
  errno = saved;
  return ret;
}

int mkdir(const char* path, mode_t mode) {
  const int r = OnBpffs(path, [&] { return bpfemu::BpffsMkdir(path, mode); });
  if (r != -2) return r;
  return static_cast<int>(syscall(SYS_mkdirat, AT_FDCWD, path, mode));
}

int unlink(const char* path) {
  const int r = OnBpffs(path, [&] { return bpfemu::BpffsUnlink(path); });
  if (r != -2) return r;
  return static_cast<int>(syscall(SYS_unlinkat, AT_FDCWD, path, 0));
}

int rmdir(const char* path) {
  const int r = OnBpffs(path, [&] { return bpfemu::BpffsUnlink(path); });
  if (r != -2) return r;
  return static_cast<int>(syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR));
}

}  // extern "C"
