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
  int NumPossibleCpus() override;
  int PinCpu(int cpu) override;
  int CreateMap(const MapAttr& attr) override;
  int Lookup(int fd, const void* key, void* value, uint64_t flags) override;
  int Update(int fd, const void* key, const void* value,
             uint64_t flags) override;
  int Delete(int fd, const void* key) override;
  int GetNextKey(int fd, const void* key, void* next_key) override;
  int LookupAndDelete(int fd, const void* key, void* value,
                      uint64_t flags) override;
  int LookupBatch(int fd, const void* in_batch, void* out_batch, void* keys,
                  void* values, uint32_t* count, uint64_t elem_flags,
                  uint64_t flags) override;
  int LookupAndDeleteBatch(int fd, const void* in_batch, void* out_batch,
                           void* keys, void* values, uint32_t* count,
                           uint64_t elem_flags, uint64_t flags) override;
  int UpdateBatch(int fd, const void* keys, const void* values, uint32_t* count,
                  uint64_t elem_flags, uint64_t flags) override;
  int DeleteBatch(int fd, const void* keys, uint32_t* count,
                  uint64_t elem_flags, uint64_t flags) override;
  int ProgLookup(int fd, const void* key, uint32_t key_size,
                 uint64_t* value8) override;
  int ProgUpdate(int fd, uint64_t key, uint64_t value) override;
  int Close(int fd) override;
  int Dup(int fd) override;

  // The number after "name:" in /proc/self/fdinfo/<fd> (bpf_map_show_fdinfo),
  // -errno if the file cannot be read, -EINVAL if it has no such line.
  static int64_t FdinfoValue(int fd, const char* name);
  int GetMapInfo(int fd, MapInfo* info) override;
  int GetFdById(uint32_t id, uint32_t open_flags) override;
  int Freeze(int fd) override;
  int Frozen(int fd) override;
  int Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
           void** addr) override;
  int MmapAt(int fd, void* hint, size_t length, int prot, int flags,
             uint64_t offset, void** addr) override;
  int OpenPerfEvent(int cpu, uint64_t config) override;
  int ClosePerfEvent(int fd) override;
  int LoadBtf(const void* blob, uint32_t size) override;

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
