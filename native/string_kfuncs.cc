// SPDX-License-Identifier: Apache-2.0
// The native face of the 6.18 string kfuncs (kernel/bpf/helpers.c
// bpf_strcmp ... bpf_strnstr): a natively built program's `extern ...
// __ksym` declarations (weak) resolve to these definitions. The work is
// emu/str_kfuncs.h's, which the interpreter's bindings (emu/kfunc.cc) call
// too.
//
// Natively every readable address of this process is kernel memory (the
// program's stack, map values and globals are ordinary process memory),
// as for bpf_probe_read_kernel (native/helpers.cc): the NULL page stays a
// user address (-ERANGE), a kernel-half address passes the check and then
// faults (-EFAULT), and a byte is read without faulting
// (process_vm_readv). bpfemu's BPFEMU_KERNEL version is not checked here:
// the native build links whatever the source declares (the bytecode face
// refuses the kfuncs for 6.1 / 6.12 at load, as those kernels do).

#include <linux/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdint>

#include "emu/str_kfuncs.h"

namespace {

namespace strk = bpfemu::strk;

constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - 4096;

bool NativeAllowed(const void*, uint64_t a) {
  return (a >= 4096 && a < kTaskSizeMax) || strk::KernelHalfAllowed(a);
}

bool NativeRead(const void*, uint64_t a, char* out) {
  if (a >= kTaskSizeMax) return false;
  struct iovec local = {out, 1};
  struct iovec remote = {reinterpret_cast<void*>(a), 1};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

constexpr strk::ByteReader kReader{NativeAllowed, NativeRead, nullptr};

uint64_t A(const void* p) { return reinterpret_cast<uint64_t>(p); }

}  // namespace

extern "C" {

int bpf_strcmp(const char* s1, const char* s2) {
  return strk::Strcmp(kReader, A(s1), A(s2), false);
}

int bpf_strcasecmp(const char* s1, const char* s2) {
  return strk::Strcmp(kReader, A(s1), A(s2), true);
}

int bpf_strchr(const char* s, char c) {
  return strk::Strnchr(kReader, A(s), strk::kStrMax, static_cast<uint8_t>(c));
}

int bpf_strchrnul(const char* s, char c) {
  return strk::Strchrnul(kReader, A(s), static_cast<uint8_t>(c));
}

int bpf_strnchr(const char* s, __SIZE_TYPE__ count, char c) {
  return strk::Strnchr(kReader, A(s), count, static_cast<uint8_t>(c));
}

int bpf_strrchr(const char* s, int c) {
  return strk::Strrchr(kReader, A(s), c);
}

int bpf_strlen(const char* s) {
  return strk::Strnlen(kReader, A(s), strk::kStrMax);
}

int bpf_strnlen(const char* s, __SIZE_TYPE__ count) {
  return strk::Strnlen(kReader, A(s), count);
}

int bpf_strspn(const char* s, const char* accept) {
  return strk::Strspn(kReader, A(s), A(accept), false);
}

int bpf_strcspn(const char* s, const char* reject) {
  return strk::Strspn(kReader, A(s), A(reject), true);
}

int bpf_strstr(const char* s1, const char* s2) {
  return strk::Strnstr(kReader, A(s1), A(s2), strk::kStrMax, false);
}

int bpf_strnstr(const char* s1, const char* s2, __SIZE_TYPE__ len) {
  return strk::Strnstr(kReader, A(s1), A(s2), len, false);
}

}  // extern "C"
