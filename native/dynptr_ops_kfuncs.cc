// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/bpf/helpers.c bpf_dynptr_copy and
// bpf_dynptr_memset (6.18): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. The work is
// emu/dynptr_kfuncs.h's, which the interpreter's bindings (emu/kfunc.cc)
// call too (native/dynptr.cc registers, for both faces, what they need of
// a dynptr).

#include <linux/bpf.h>
#include <linux/types.h>

#include <cstdint>

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

// The user and kernel memory copies (kernel/trace/bpf_trace.c,
// kernel/bpf/helpers.c): natively the whole process is both memories.
namespace {
namespace dynk = bpfemu::dynk;
uint64_t A(const void* p) { return reinterpret_cast<uint64_t>(p); }
}  // namespace

int bpf_probe_read_user_dynptr(struct bpf_dynptr* dptr, __u32 off, __u32 size,
                               const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kProbeReadUser, dptr,
                            off, size, A(unsafe_ptr__ign), nullptr);
}

int bpf_probe_read_kernel_dynptr(struct bpf_dynptr* dptr, __u32 off, __u32 size,
                                 const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kProbeReadKernel, dptr,
                            off, size, A(unsafe_ptr__ign), nullptr);
}

int bpf_probe_read_user_str_dynptr(struct bpf_dynptr* dptr, __u32 off,
                                   __u32 size, const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kProbeReadUserStr, dptr,
                            off, size, A(unsafe_ptr__ign), nullptr);
}

int bpf_probe_read_kernel_str_dynptr(struct bpf_dynptr* dptr, __u32 off,
                                     __u32 size, const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kProbeReadKernelStr,
                            dptr, off, size, A(unsafe_ptr__ign), nullptr);
}

int bpf_copy_from_user_dynptr(struct bpf_dynptr* dptr, __u32 off, __u32 size,
                              const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kCopyFromUser, dptr, off,
                            size, A(unsafe_ptr__ign), nullptr);
}

int bpf_copy_from_user_str_dynptr(struct bpf_dynptr* dptr, __u32 off,
                                  __u32 size, const void* unsafe_ptr__ign) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kCopyFromUserStr, dptr,
                            off, size, A(unsafe_ptr__ign), nullptr);
}

int bpf_copy_from_user_task_dynptr(struct bpf_dynptr* dptr, __u32 off,
                                   __u32 size, const void* unsafe_ptr__ign,
                                   void* tsk) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kCopyFromUserTask, dptr,
                            off, size, A(unsafe_ptr__ign), tsk);
}

int bpf_copy_from_user_task_str_dynptr(struct bpf_dynptr* dptr, __u32 off,
                                       __u32 size, const void* unsafe_ptr__ign,
                                       void* tsk) {
  return dynk::CopyToDynptr(nullptr, dynk::DynptrCopy::kCopyFromUserTaskStr,
                            dptr, off, size, A(unsafe_ptr__ign), tsk);
}

int bpf_copy_from_user_str(void* dst, __u32 dst__sz,
                           const void* unsafe_ptr__ign, __u64 flags) {
  return dynk::CopyFromUserStr(nullptr, dst, dst__sz, A(unsafe_ptr__ign),
                               flags);
}

int bpf_copy_from_user_task_str(void* dst, __u32 dst__sz,
                                const void* unsafe_ptr__ign, void* tsk,
                                __u64 flags) {
  return dynk::CopyFromUserTaskStr(nullptr, dst, dst__sz, A(unsafe_ptr__ign),
                                   tsk, flags);
}

}  // extern "C"
