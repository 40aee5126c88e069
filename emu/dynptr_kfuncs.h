// SPDX-License-Identifier: Apache-2.0
// File: dynptr_kfuncs.h
//
// The dynptr kfuncs that move bytes between dynptrs, or fill one (Linux
// 6.18, kernel/bpf/helpers.c bpf_dynptr_copy and bpf_dynptr_memset), shared
// by the interpreter (the table in emu/kfunc.cc) and the native face
// (native/dynptr_ops_kfuncs.cc).
//
// Both take the kernel's path through a dynptr: first a direct slice of the
// memory (bpf_dynptr_slice / bpf_dynptr_slice_rdwr with no buffer: local
// and ring buffer memory, a linear packet), else the dynptr read / write
// (__bpf_dynptr_read / __bpf_dynptr_write) through a 256-byte buffer, after
// the range check (bpf_dynptr_check_off_len, -E2BIG). The dynptr work of
// each type (the packet's bytes, the read-only bit) is the face's, which it
// registers here (SetDynptrIo); without it both kfuncs answer -EINVAL.

#ifndef BPFEMU_EMU_DYNPTR_KFUNCS_H_
#define BPFEMU_EMU_DYNPTR_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::dynk {

// What the kfuncs need of a dynptr (struct bpf_dynptr_kern, 16 bytes).
struct DynptrIo {
  // bpf_dynptr_slice (rdwr false) / bpf_dynptr_slice_rdwr (true) with a
  // NULL buffer: a pointer to `len` contiguous bytes at `off`, or nullptr.
  void* (*slice)(const void* ptr, uint32_t off, uint32_t len, bool rdwr);
  // __bpf_dynptr_read(dst, len, src, off, 0): 0 or -errno.
  long (*read)(void* dst, uint32_t len, const void* src, uint32_t off);
  // __bpf_dynptr_write(dst, off, src, len, 0): 0 or -errno.
  long (*write)(const void* dst, uint32_t off, const void* src, uint32_t len);
};
void SetDynptrIo(const DynptrIo* io);

// bpf_dynptr_copy(dst, dst_off, src, src_off, size).
int Copy(void* dst, uint32_t dst_off, const void* src, uint32_t src_off,
         uint32_t size);
// bpf_dynptr_memset(p, offset, size, val).
int Memset(void* p, uint32_t offset, uint32_t size, uint8_t val);

// The user and kernel memory copies of kernel/trace/bpf_trace.c (6.16):
// bpf_probe_read_{user,kernel}{,_str}_dynptr,
// bpf_copy_from_user{,_str}_dynptr, bpf_copy_from_user_task{,_str}_dynptr;
// and kernel/bpf/helpers.c bpf_copy_from_user_str (6.12) and
// bpf_copy_from_user_task_str (6.15). The memory itself is the face's:
// native/dynptr.cc registers the reads over native/helpers.h ProbeRead
// (the run's own memory is kernel memory to them, the rest of the process
// user memory) and the task model's.
enum class CopyKind : uint8_t {
  kUserNofault,       // copy_from_user_nofault: 0 or -EFAULT
  kKernelNofault,     // copy_from_kernel_nofault: 0, -ERANGE or -EFAULT
  kUserStrNofault,    // strncpy_from_user_nofault: bytes with the NUL
  kKernelStrNofault,  // strncpy_from_kernel_nofault: likewise
  kUser,              // copy_from_user: the bytes not copied (zeroed)
  kUserStrRaw,        // strncpy_from_user: the length, at most `size`
  kTask,              // access_process_vm of all `size` bytes: 0 or -EFAULT
  kTaskStrRaw,        // copy_remote_vm_str: the length without the NUL
};
struct UserCopyOps {
  // `size` bytes (at most) at `src` into `dst` as the run `vm` (nullptr:
  // natively) sees memory; `task` for the task kinds (nullptr: none the
  // face knows, -EFAULT). What each kind answers is listed above.
  long (*copy)(const interp::Vm* vm, CopyKind kind, void* dst, uint64_t src,
               uint32_t size, const void* task);
};
void SetUserCopyOps(const UserCopyOps* ops);

// __bpf_dynptr_copy / __bpf_dynptr_copy_str with the copy function of
// `kfunc`, one of the eight dynptr kfuncs above by name (its last part:
// "probe_read_user", "probe_read_kernel_str", "copy_from_user_task", ...).
enum class DynptrCopy : uint8_t {
  kProbeReadUser,
  kProbeReadKernel,
  kProbeReadUserStr,
  kProbeReadKernelStr,
  kCopyFromUser,
  kCopyFromUserStr,
  kCopyFromUserTask,
  kCopyFromUserTaskStr,
};
int CopyToDynptr(const interp::Vm* vm, DynptrCopy which, void* dptr,
                 uint32_t off, uint32_t size, uint64_t src, const void* task);
// bpf_copy_from_user_str(dst, dst__sz, src, flags) and
// bpf_copy_from_user_task_str(dst, dst__sz, src, task, flags).
int CopyFromUserStr(const interp::Vm* vm, void* dst, uint32_t size,
                    uint64_t src, uint64_t flags);
int CopyFromUserTaskStr(const interp::Vm* vm, void* dst, uint32_t size,
                        uint64_t src, const void* task, uint64_t flags);

// The interpreter's bindings: each dynptr argument must be one a helper or
// kfunc initialized (the verifier's is_dynptr_reg_valid_init), else the run
// stops.
uint64_t InterpCopy(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                    uint64_t r4, uint64_t r5);
uint64_t InterpMemset(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);
// The eight copies into a dynptr: one binding, `which` picking the copy.
uint64_t InterpCopyToDynptrOf(DynptrCopy which, interp::Vm& vm, uint64_t r1,
                              uint64_t r2, uint64_t r3, uint64_t r4,
                              uint64_t r5);
template <DynptrCopy kWhich>
uint64_t InterpCopyToDynptr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                            uint64_t r3, uint64_t r4, uint64_t r5) {
  return InterpCopyToDynptrOf(kWhich, vm, r1, r2, r3, r4, r5);
}
uint64_t InterpCopyFromUserStr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpCopyFromUserTaskStr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                   uint64_t r3, uint64_t r4, uint64_t r5);
// Whether `task` is a task_struct the run may pass (the face's task
// views); registered with the copies (nullptr: every non-null pointer).
using TaskCheck = bool (*)(const void* task);
void SetTaskCheck(TaskCheck fn);

}  // namespace bpfemu::dynk

#endif  // BPFEMU_EMU_DYNPTR_KFUNCS_H_
