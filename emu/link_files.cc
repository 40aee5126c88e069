// SPDX-License-Identifier: Apache-2.0
#include "emu/link_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace bpfemu {

bool FileKeyOf(int fd, FileKey* k) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return false;
  *k = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  return true;
}

bool OtherFdRefersToFile(int fd, const FileKey& k) {
  const int dir =
      static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
                               O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir < 0) return false;
  bool found = false;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n <= 0) break;
    for (long off = 0; off < n && !found;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buf + off);
      off += d->d_reclen;
      char* end = nullptr;
      const long other = strtol(d->d_name, &end, 10);
      if (end == d->d_name || *end != 0 || other == fd || other == dir) {
        continue;
      }
      FileKey ok;
      found = FileKeyOf(static_cast<int>(other), &ok) && ok == k;
    }
    if (found) break;
  }
  syscall(SYS_close, dir);
  return found;
}

}  // namespace bpfemu
