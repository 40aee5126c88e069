// SPDX-License-Identifier: Apache-2.0
// File: emu_backend.h
//
// EmuBackend: the Backend interface over bpfemu's emulated bpf() (emu/
// syscall.h). Always available, for any user.

#ifndef BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_
#define BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_

#include <string>

#include "testing/backend.h"

namespace bpfemu {

class EmuBackend : public Backend {
 public:
  static EmuBackend& Get();

  const char* name() const override { return "emu"; }
  std::string Unavailable() override { return ""; }
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
};

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_
