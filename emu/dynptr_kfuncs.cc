// SPDX-License-Identifier: Apache-2.0
// File: dynptr_kfuncs.cc
//
// kernel/bpf/helpers.c bpf_dynptr_copy and bpf_dynptr_memset (6.18), in
// bpfemu's words (dynptr_kfuncs.h).

#include "emu/dynptr_kfuncs.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "emu/dynptr_kern.h"

namespace bpfemu::dynk {

namespace {

std::atomic<const DynptrIo*> dynptr_io{nullptr};

using dynptr::Kern;
// The kernel's chunk buffer: 256 bytes on its stack.
constexpr uint32_t kChunk = 256;

// bpf_dynptr_check_off_len(): [off, off + len) inside the dynptr's size.
bool RangeFits(const void* p, uint32_t off, uint32_t len) {
  const uint32_t size = dynptr::Size(*static_cast<const Kern*>(p));
  return len <= size && off <= size - len;
}

bool Rdonly(const void* p) {
  return dynptr::Rdonly(*static_cast<const Kern*>(p));
}

void NeedDynptr(interp::Vm& vm, uint64_t p, const char* name, int reg) {
  dynptr::Need(vm, p, name, reg);
}

std::atomic<const UserCopyOps*> user_copy{nullptr};
std::atomic<TaskCheck> task_check{nullptr};

// include/uapi/linux/bpf.h BPF_F_PAD_ZEROS.
constexpr uint64_t kPadZeros = 1;

long RawCopy(const interp::Vm* vm, CopyKind kind, void* dst, uint64_t src,
             uint32_t size, const void* task) {
  const UserCopyOps* ops = user_copy.load(std::memory_order_acquire);
  if (ops == nullptr) return -EFAULT;
  return ops->copy(vm, kind, dst, src, size, task);
}

// The copy functions of kernel/trace/bpf_trace.c: data ones answer 0 or
// an error, string ones the bytes copied with the NUL.
long CopyFn(const interp::Vm* vm, DynptrCopy which, void* dst, uint64_t src,
            uint32_t size, const void* task) {
  switch (which) {
    case DynptrCopy::kProbeReadUser:
      return RawCopy(vm, CopyKind::kUserNofault, dst, src, size, nullptr);
    case DynptrCopy::kProbeReadKernel:
      return RawCopy(vm, CopyKind::kKernelNofault, dst, src, size, nullptr);
    case DynptrCopy::kProbeReadUserStr:
      return RawCopy(vm, CopyKind::kUserStrNofault, dst, src, size, nullptr);
    case DynptrCopy::kProbeReadKernelStr:
      return RawCopy(vm, CopyKind::kKernelStrNofault, dst, src, size, nullptr);
    case DynptrCopy::kCopyFromUser:
      return RawCopy(vm, CopyKind::kUser, dst, src, size, nullptr);
    case DynptrCopy::kCopyFromUserTask:
      return RawCopy(vm, CopyKind::kTask, dst, src, size, task);
    case DynptrCopy::kCopyFromUserStr:
    case DynptrCopy::kCopyFromUserTaskStr: {
      // copy_user_str_sleepable().
      if (size == 0) return 0;
      long ret;
      if (which == DynptrCopy::kCopyFromUserTaskStr) {
        ret = RawCopy(vm, CopyKind::kTaskStrRaw, dst, src, size, task);
      } else {
        ret = RawCopy(vm, CopyKind::kUserStrRaw, dst, src, size - 1, nullptr);
        if (ret >= 0) static_cast<char*>(dst)[ret] = '\0';
      }
      return ret < 0 ? ret : ret + 1;
    }
  }
  return -EINVAL;
}

bool IsStr(DynptrCopy which) {
  return which == DynptrCopy::kProbeReadUserStr ||
         which == DynptrCopy::kProbeReadKernelStr ||
         which == DynptrCopy::kCopyFromUserStr ||
         which == DynptrCopy::kCopyFromUserTaskStr;
}

}  // namespace

void SetUserCopyOps(const UserCopyOps* ops) {
  user_copy.store(ops, std::memory_order_release);
}

void SetTaskCheck(TaskCheck fn) {
  task_check.store(fn, std::memory_order_release);
}

int CopyToDynptr(const interp::Vm* vm, DynptrCopy which, void* dptr,
                 uint32_t off, uint32_t size, uint64_t src, const void* task) {
  const DynptrIo* io = dynptr_io.load(std::memory_order_acquire);
  if (io == nullptr) return -EINVAL;
  if (void* to = io->slice(dptr, off, size, true); to != nullptr) {
    return static_cast<int>(CopyFn(vm, which, to, src, size, task));
  }
  if (!RangeFits(dptr, off, size)) return -E2BIG;
  uint8_t buf[kChunk];
  if (!IsStr(which)) {
    for (uint32_t done = 0; done < size;) {
      const uint32_t n = std::min(kChunk, size - done);
      if (long err = CopyFn(vm, which, buf, src + done, n, task); err != 0) {
        return static_cast<int>(err);
      }
      if (long err = io->write(dptr, off + done, buf, n); err != 0) {
        return static_cast<int>(err);
      }
      done += n;
    }
    return 0;
  }
  // Strings: each chunk's NUL is overwritten by the next chunk.
  uint32_t done = 0;
  for (uint32_t n = 0; done < size; done += n - 1) {
    n = std::min(kChunk, size - done);
    const long cnt = CopyFn(vm, which, buf, src + done, n, task);
    if (cnt < 0) return static_cast<int>(cnt);
    if (long err = io->write(dptr, off + done, buf, static_cast<uint32_t>(cnt));
        err != 0) {
      return static_cast<int>(err);
    }
    if (cnt < n || n == 1) return static_cast<int>(done + cnt);
  }
  return static_cast<int>(done);
}

int CopyFromUserStr(const interp::Vm* vm, void* dst, uint32_t size,
                    uint64_t src, uint64_t flags) {
  if ((flags & ~kPadZeros) != 0) return -EINVAL;
  if (size == 0) return 0;
  auto* d = static_cast<char*>(dst);
  const long ret =
      RawCopy(vm, CopyKind::kUserStrRaw, d, src, size - 1, nullptr);
  if (ret < 0) {
    if (flags & kPadZeros) std::memset(d, 0, size);
    return static_cast<int>(ret);
  }
  if (flags & kPadZeros) {
    std::memset(d + ret, 0, size - static_cast<uint32_t>(ret));
  } else {
    d[ret] = '\0';
  }
  return static_cast<int>(ret + 1);
}

int CopyFromUserTaskStr(const interp::Vm* vm, void* dst, uint32_t size,
                        uint64_t src, const void* task, uint64_t flags) {
  if ((flags & ~kPadZeros) != 0) return -EINVAL;
  if (size == 0) return 0;
  auto* d = static_cast<char*>(dst);
  const long ret = RawCopy(vm, CopyKind::kTaskStrRaw, d, src, size, task);
  if (ret < 0) {
    if (flags & kPadZeros) std::memset(d, 0, size);
    return static_cast<int>(ret);
  }
  if (flags & kPadZeros) {
    std::memset(d + ret, 0, size - static_cast<uint32_t>(ret));
  }
  return static_cast<int>(ret + 1);
}

void SetDynptrIo(const DynptrIo* io) {
  dynptr_io.store(io, std::memory_order_release);
}

int Copy(void* dst, uint32_t dst_off, const void* src, uint32_t src_off,
         uint32_t size) {
  const DynptrIo* io = dynptr_io.load(std::memory_order_acquire);
  if (io == nullptr) return -EINVAL;
  const void* from = io->slice(src, src_off, size, false);
  void* to = io->slice(dst, dst_off, size, true);
  if (from != nullptr && to != nullptr) {
    std::memmove(to, from, size);
    return 0;
  }
  // One side contiguous: the other's dynptr write / read does the checks.
  if (from != nullptr) {
    return static_cast<int>(io->write(dst, dst_off, from, size));
  }
  if (to != nullptr) return static_cast<int>(io->read(to, size, src, src_off));
  if (!RangeFits(dst, dst_off, size) || !RangeFits(src, src_off, size)) {
    return -E2BIG;
  }
  uint8_t buf[kChunk];
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min(kChunk, size - done);
    if (long err = io->read(buf, n, src, src_off + done); err != 0) {
      return static_cast<int>(err);
    }
    if (long err = io->write(dst, dst_off + done, buf, n); err != 0) {
      return static_cast<int>(err);
    }
    done += n;
  }
  return 0;
}

int Memset(void* p, uint32_t offset, uint32_t size, uint8_t val) {
  const DynptrIo* io = dynptr_io.load(std::memory_order_acquire);
  if (io == nullptr) return -EINVAL;
  if (void* to = io->slice(p, offset, size, true); to != nullptr) {
    std::memset(to, val, size);
    return 0;
  }
  // Non-contiguous (or refused) memory: the checks, then chunked writes.
  // A null dynptr passes them for size 0 (offset 0) and writes nothing.
  if (Rdonly(p)) return -EINVAL;
  if (!RangeFits(p, offset, size)) return -E2BIG;
  uint8_t buf[kChunk];
  std::memset(buf, val, std::min(kChunk, size));
  for (uint32_t done = 0; done < size;) {
    const uint32_t n = std::min(kChunk, size - done);
    if (long err = io->write(p, offset + done, buf, n); err != 0) {
      return static_cast<int>(err);
    }
    done += n;
  }
  return 0;
}

uint64_t InterpCopy(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                    uint64_t r4, uint64_t r5) {
  NeedDynptr(vm, r1, "bpf_dynptr_copy", 1);
  NeedDynptr(vm, r3, "bpf_dynptr_copy", 3);
  const int ret = Copy(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
                       reinterpret_cast<const void*>(r3),
                       static_cast<uint32_t>(r4), static_cast<uint32_t>(r5));
  // An int return: sign-extended in R0, as the kernel's JITs leave it.
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpMemset(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t) {
  NeedDynptr(vm, r1, "bpf_dynptr_memset", 1);
  const int ret = Memset(reinterpret_cast<void*>(r1), static_cast<uint32_t>(r2),
                         static_cast<uint32_t>(r3), static_cast<uint8_t>(r4));
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

namespace {

const char* CopyName(DynptrCopy which) {
  switch (which) {
    case DynptrCopy::kProbeReadUser:
      return "bpf_probe_read_user_dynptr";
    case DynptrCopy::kProbeReadKernel:
      return "bpf_probe_read_kernel_dynptr";
    case DynptrCopy::kProbeReadUserStr:
      return "bpf_probe_read_user_str_dynptr";
    case DynptrCopy::kProbeReadKernelStr:
      return "bpf_probe_read_kernel_str_dynptr";
    case DynptrCopy::kCopyFromUser:
      return "bpf_copy_from_user_dynptr";
    case DynptrCopy::kCopyFromUserStr:
      return "bpf_copy_from_user_str_dynptr";
    case DynptrCopy::kCopyFromUserTask:
      return "bpf_copy_from_user_task_dynptr";
    case DynptrCopy::kCopyFromUserTaskStr:
      return "bpf_copy_from_user_task_str_dynptr";
  }
  return "?";
}

// KF_TRUSTED_ARGS task arguments: a task_struct the run was handed.
void NeedTask(interp::Vm& vm, uint64_t task, const char* name, int reg) {
  const TaskCheck check = task_check.load(std::memory_order_acquire);
  if (task == 0 ||
      (check != nullptr && !check(reinterpret_cast<void*>(task)))) {
    vm.Fault("%s: R%d must be a trusted task_struct", name, reg);
  }
}

}  // namespace

uint64_t InterpCopyToDynptrOf(DynptrCopy which, interp::Vm& vm, uint64_t r1,
                              uint64_t r2, uint64_t r3, uint64_t r4,
                              uint64_t r5) {
  const char* name = CopyName(which);
  NeedDynptr(vm, r1, name, 1);
  const bool task = which == DynptrCopy::kCopyFromUserTask ||
                    which == DynptrCopy::kCopyFromUserTaskStr;
  if (task) NeedTask(vm, r5, name, 5);
  const int ret =
      CopyToDynptr(&vm, which, reinterpret_cast<void*>(r1),
                   static_cast<uint32_t>(r2), static_cast<uint32_t>(r3), r4,
                   task ? reinterpret_cast<void*>(r5) : nullptr);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

// dst__sz: `size` writable bytes at dst (the verifier's mem / size pair).
uint64_t InterpCopyFromUserStr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t) {
  const auto size = static_cast<uint32_t>(r2);
  if (size != 0 && !vm.Writable(r1, size)) {
    vm.Fault("bpf_copy_from_user_str: R1 is not %u writable bytes", size);
  }
  const int ret =
      CopyFromUserStr(&vm, reinterpret_cast<void*>(r1), size, r3, r4);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

uint64_t InterpCopyFromUserTaskStr(interp::Vm& vm, uint64_t r1, uint64_t r2,
                                   uint64_t r3, uint64_t r4, uint64_t r5) {
  const auto size = static_cast<uint32_t>(r2);
  if (size != 0 && !vm.Writable(r1, size)) {
    vm.Fault("bpf_copy_from_user_task_str: R1 is not %u writable bytes", size);
  }
  NeedTask(vm, r4, "bpf_copy_from_user_task_str", 4);
  const int ret = CopyFromUserTaskStr(&vm, reinterpret_cast<void*>(r1), size,
                                      r3, reinterpret_cast<void*>(r4), r5);
  return static_cast<uint64_t>(static_cast<int64_t>(ret));
}

}  // namespace bpfemu::dynk
