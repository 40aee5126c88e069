// SPDX-License-Identifier: Apache-2.0
// File: xattr_kfuncs.h
//
// bpf_cgroup_read_xattr (Linux 6.17, fs/bpf_fs_kfuncs.c; registered for
// every program type): a cgroup's "user.*" extended attribute read into a
// dynptr. bpfemu's cgroups are the machine's cgroup2 directories (emu/
// cgroup.h handles), so the attribute is the directory's, read with
// getxattr(2) (kernfs_xattr_get's answers: the value's length, -ENODATA
// when absent, -ERANGE when the dynptr is shorter). Before it: a name
// outside "user." is -EPERM, a read-only, null or packet dynptr -EINVAL
// (__bpf_dynptr_data_rw). A handle of a cgroup v1 hierarchy is looked up
// below the cgroup2 mount like any other and is not found there
// (-ENODATA). Shared by the interpreter (emu/kfunc.cc's table) and the
// native face (native/xattr_kfuncs.cc).

#ifndef BPFEMU_EMU_XATTR_KFUNCS_H_
#define BPFEMU_EMU_XATTR_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::xattrk {

// bpf_cgroup_read_xattr(cgroup, name, value_p): the value's length or
// -errno. `cgrp` must be a handle (emu/cgroup.h), `dynptr` a struct
// bpf_dynptr_kern.
int CgroupReadXattr(const void* cgrp, const char* name, void* dynptr);

// The interpreter's binding: R1 a cgroup handle, R2 a readable string, R3
// an initialized dynptr (else the run stops, as the verifier refuses).
uint64_t InterpCgroupReadXattr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t, uint64_t);

}  // namespace bpfemu::xattrk

#endif  // BPFEMU_EMU_XATTR_KFUNCS_H_
