// SPDX-License-Identifier: Apache-2.0
// File: errno.h
//
// Kernel error codes as bpfemu returns them. Every map operation returns 0 or a
// negative errno exactly as sys_bpf() would; a few of those values are
// kernel-internal codes with no name in user space's <errno.h>.

#ifndef BPFEMU_EMU_ERRNO_H_
#define BPFEMU_EMU_ERRNO_H_

#include <string>

namespace bpfemu {

// include/linux/errno.h: "Defined for the NFSv3 protocol", leaked by BPF as
// -524 from ops a map type does not implement (e.g. lookup_and_delete on an
// ARRAY, NO_PREALLOC on an LRU map). Not EOPNOTSUPP (95).
inline constexpr int kENOTSUPP = 524;

// What the kernel's fd lookups (__bpf_map_get, bpf_prog_get) answer for an
// fd that is not the object they want: -EBADF when it is not open, -EINVAL
// when it is open but something else.
int WrongFdErrno(int fd);

// Symbolic name of a positive or negative errno ("E2BIG", "ENOTSUPP", "OK" for
// 0); unknown values print as their number.
std::string ErrnoName(int err);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_ERRNO_H_
