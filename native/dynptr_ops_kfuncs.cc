// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c bpf_dynptr_copy and
// bpf_dynptr_memset (6.18): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. The work is
// emu/dynptr_kfuncs.h's, which the interpreter's bindings (emu/kfunc.cc)
// call too (native/dynptr.cc registers, for both faces, what they need of
// a dynptr).

#include <linux/bpf.h>
#include <linux/types.h>

#include "emu/dynptr_kfuncs.h"

extern "C" {

int bpf_dynptr_copy(struct bpf_dynptr* dst_ptr, __u32 dst_off,
                    struct bpf_dynptr* src_ptr, __u32 src_off, __u32 size) {
  return bpfemu::dynk::Copy(dst_ptr, dst_off, src_ptr, src_off, size);
}

int bpf_dynptr_memset(struct bpf_dynptr* p, __u32 offset, __u32 size,
                      __u8 val) {
  return bpfemu::dynk::Memset(p, offset, size, val);
}

}  // extern "C"
