// SPDX-License-Identifier: Apache-2.0
// File: kernel_backend.h
//
// KernelBackend: the Backend interface over real kernel maps. Element
// commands go through libbpf 1.x (<bpf/bpf.h>), which returns -errno exactly
// as the kernel reports it. BPF_MAP_CREATE is issued as a raw bpf(2) call so
// the 16 name bytes reach the kernel verbatim (libbpf's bpf_map_create
// truncates and NUL-terminates names, which would hide the kernel's name
// check).
//
// Unavailable() probes bpf() once: without permission (EPERM, ENOSYS, inside
// Bazel's sandbox) every kernel case skips with that one-line reason.

#ifndef BPFEMU_KERNEL_COMPARE_KERNEL_BACKEND_H_
#define BPFEMU_KERNEL_COMPARE_KERNEL_BACKEND_H_

#include <map>
#include <string>

#include "testing/backend.h"

namespace bpfemu {

class KernelBackend : public Backend {
 public:
  static KernelBackend& Get();

  const char* name() const override { return "kernel"; }
  std::string Unavailable() override;
  BPFEMU_BACKEND_OVERRIDES

  // The number after "name:" in /proc/self/fdinfo/<fd> (bpf_map_show_fdinfo),
  // -errno if the file cannot be read, -EINVAL if it has no such line.
  static int64_t FdinfoValue(int fd, const char* name);

 private:
  // The cached lookup program of map `fd`, loaded on first use.
  int LookupProgram(int fd);

  // The cached update program of map `fd` (or the load's -errno).
  int UpdateProgram(int fd);

  int result_fd_ = -1;               // ProgLookup's one-slot result array
  std::map<int, int> lookup_progs_;  // map fd -> program fd
  std::map<int, int> update_progs_;  // map fd -> program fd
};

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_KERNEL_BACKEND_H_
