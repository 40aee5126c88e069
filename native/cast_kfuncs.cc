// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c bpf_cast_to_kern_ctx and
// bpf_rdonly_cast: a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. The kernel context is
// emu/cast_kfuncs.h's snapshot, laid out as the running kernel's BTF says
// (a source built against that kernel's vmlinux.h reads it right; the
// host compiler has no CO-RE to relocate another layout); a program type
// bpfemu does not model gives NULL. bpf_rdonly_cast is the object itself.

#include <linux/types.h>

#include <cstdint>

#include "emu/cast_kfuncs.h"
#include "emu/prog.h"

extern "C" {

void* bpf_cast_to_kern_ctx(void* obj) {
  uint32_t size = 0;
  return const_cast<void*>(
      bpfemu::castk::KernCtx(obj, bpfemu::RunningProgType(), &size));
}

void* bpf_rdonly_cast(const void* obj__ign, __u32 btf_id__k) {
  (void)btf_id__k;
  return const_cast<void*>(obj__ign);
}

}  // extern "C"
