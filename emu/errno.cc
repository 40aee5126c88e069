// SPDX-License-Identifier: Apache-2.0
#include "emu/errno.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace bpfemu {

std::string ErrnoName(int err) {
  switch (std::abs(err)) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case E2BIG:
      return "E2BIG";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case EINVAL:
      return "EINVAL";
    case ENOSPC:
      return "ENOSPC";
    case ENOSYS:
      return "ENOSYS";
    case EDEADLK:
      return "EDEADLK";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EBADFD:
      return "EBADFD";
    case kENOTSUPP:
      return "ENOTSUPP";
    default:
      return std::to_string(std::abs(err));
  }
}

int WrongFdErrno(int fd) {
  return fd >= 0 && fcntl(fd, F_GETFD) != -1 ? -EINVAL : -EBADF;
}

}  // namespace bpfemu
