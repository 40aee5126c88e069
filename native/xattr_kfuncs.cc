// SPDX-License-Identifier: Apache-2.0
// The native face of bpf_cgroup_read_xattr (fs/bpf_fs_kfuncs.c,
// emu/xattr_kfuncs.h): a natively built program's `extern ... __ksym`
// declaration (weak) resolves to this definition.

#include "emu/xattr_kfuncs.h"

extern "C" {

struct cgroup;
struct bpf_dynptr;

int bpf_cgroup_read_xattr(struct cgroup* cgroup, const char* name__str,
                          struct bpf_dynptr* value_p) {
  return bpfemu::xattrk::CgroupReadXattr(cgroup, name__str, value_p);
}

}  // extern "C"
