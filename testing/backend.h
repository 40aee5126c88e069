// SPDX-License-Identifier: Apache-2.0
// File: backend.h
//
// Backend: the bpf() map commands behind one interface, implemented by the
// emulator (EmuBackend, emu_backend.h) and by the real kernel through libbpf
// (KernelBackend, testing/kernel_backend.h). Conformance suites are
// written once against it (typed tests, one instantiation per backend), and
// the differential runner drives two of them in lockstep.
//
// Every call returns what sys_bpf() returns: a new fd or 0, or -errno.

#ifndef BPFEMU_TESTS_CONFORMANCE_BACKEND_H_
#define BPFEMU_TESTS_CONFORMANCE_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "emu/map.h"

namespace bpfemu {

// What BPF_OBJ_GET_INFO_BY_FD reports about a map (the fields compared).
struct MapInfo {
  uint32_t type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  uint32_t id = 0;  // the map's id (what a map-in-map lookup returns)
  // STRUCT_OPS: the value struct's id in the kernel BTF, and (6.9+) the id
  // of the BTF object holding it; 0 for other maps.
  uint32_t btf_vmlinux_value_type_id = 0;
  uint32_t btf_vmlinux_id = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const char* name() const = 0;
  // Empty when the backend can run; otherwise a one-line reason to skip.
  virtual std::string Unavailable() = 0;
  virtual int NumPossibleCpus() = 0;
  // Runs the calling thread's following operations on CPU `cpu` (the
  // emulated CPU, or the real one through sched_setaffinity); -1 unpins.
  // Returns 0 or -errno.
  virtual int PinCpu(int cpu) = 0;

  virtual int CreateMap(const MapAttr& attr) = 0;
  virtual int Lookup(int fd, const void* key, void* value, uint64_t flags) = 0;
  virtual int Update(int fd, const void* key, const void* value,
                     uint64_t flags) = 0;
  virtual int Delete(int fd, const void* key) = 0;
  virtual int GetNextKey(int fd, const void* key, void* next_key) = 0;
  virtual int LookupAndDelete(int fd, const void* key, void* value,
                              uint64_t flags) = 0;
  // bpf_map_lookup_elem() called from a BPF program on the current CPU
  // (kernel: a small program run with BPF_PROG_TEST_RUN). Unlike the
  // syscall lookup it marks LRU elements referenced. Copies the first 8
  // bytes of the value (this CPU's slot for per-CPU maps) into *value8.
  // Returns 0, or -ENOENT when the key is missing. Keys up to 8 bytes,
  // values of at least 8 bytes.
  virtual int ProgLookup(int fd, const void* key, uint32_t key_size,
                         uint64_t* value8) = 0;

  // Batch commands, shaped like libbpf's bpf_map_*_batch(): *count is in/out.
  virtual int LookupBatch(int fd, const void* in_batch, void* out_batch,
                          void* keys, void* values, uint32_t* count,
                          uint64_t elem_flags, uint64_t flags) = 0;
  virtual int LookupAndDeleteBatch(int fd, const void* in_batch,
                                   void* out_batch, void* keys, void* values,
                                   uint32_t* count, uint64_t elem_flags,
                                   uint64_t flags) = 0;
  virtual int UpdateBatch(int fd, const void* keys, const void* values,
                          uint32_t* count, uint64_t elem_flags,
                          uint64_t flags) = 0;
  virtual int DeleteBatch(int fd, const void* keys, uint32_t* count,
                          uint64_t elem_flags, uint64_t flags) = 0;
  // bpf_map_update_elem() called from a BPF program with 8-byte key and
  // value (kernel: a program run with BPF_PROG_TEST_RUN). Returns the
  // helper's result, or the program load's -errno.
  virtual int ProgUpdate(int fd, uint64_t key, uint64_t value) = 0;
  virtual int Close(int fd) = 0;
  // dup(2) of a map fd: a second descriptor of the same file, or -errno.
  virtual int Dup(int fd) = 0;
  // bpf_map_get_info_by_fd(): 0 or -errno.
  virtual int GetMapInfo(int fd, MapInfo* info) = 0;
  // BPF_MAP_GET_FD_BY_ID with open_flags: a new fd or -errno.
  virtual int GetFdById(uint32_t id, uint32_t open_flags) = 0;
  // BPF_MAP_FREEZE: 0 or -errno.
  virtual int Freeze(int fd) = 0;
  // fdinfo's "frozen:" field (1 or 0), or -errno.
  virtual int Frozen(int fd) = 0;
  // mmap(NULL, length, prot, flags, fd, offset): 0 with *addr set, or
  // -errno. Unmap with munmap().
  virtual int Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
                   void** addr) = 0;
  // mmap(hint, ...): Mmap with the caller's address (a hint, or with
  // MAP_FIXED the address), which an ARENA map's user range depends on.
  virtual int MmapAt(int fd, void* hint, size_t length, int prot, int flags,
                     uint64_t offset, void** addr) = 0;
  // perf_event_open() of a PERF_TYPE_SOFTWARE event `config` (sample_type
  // PERF_SAMPLE_RAW, wakeup_events 1) on `cpu` (pid -1), or on the calling
  // task (pid 0) when cpu is -1: an fd or -errno. The emulator's events are
  // emu/perf_event.h's. Close with ClosePerfEvent.
  virtual int OpenPerfEvent(int cpu, uint64_t config) = 0;
  virtual int ClosePerfEvent(int fd) = 0;
  // BPF_BTF_LOAD of a raw BTF blob (the maps that require value BTF: local
  // storage): a new fd, closed with Close, or -errno.
  virtual int LoadBtf(const void* blob, uint32_t size) = 0;
};

// The declarations of Backend's commands (all but name() and
// Unavailable()) with `override`, for the classes that implement every one
// of them (EmuBackend, KernelBackend): one list, so that a command added to
// Backend is declared alike in both.
#define BPFEMU_BACKEND_OVERRIDES                                               \
  int NumPossibleCpus() override;                                              \
  int PinCpu(int cpu) override;                                                \
  int CreateMap(const MapAttr& attr) override;                                 \
  int Lookup(int fd, const void* key, void* value, uint64_t flags) override;   \
  int Update(int fd, const void* key, const void* value, uint64_t flags)       \
      override;                                                                \
  int Delete(int fd, const void* key) override;                                \
  int GetNextKey(int fd, const void* key, void* next_key) override;            \
  int LookupAndDelete(int fd, const void* key, void* value, uint64_t flags)    \
      override;                                                                \
  int LookupBatch(int fd, const void* in_batch, void* out_batch, void* keys,   \
                  void* values, uint32_t* count, uint64_t elem_flags,          \
                  uint64_t flags) override;                                    \
  int LookupAndDeleteBatch(int fd, const void* in_batch, void* out_batch,      \
                           void* keys, void* values, uint32_t* count,          \
                           uint64_t elem_flags, uint64_t flags) override;      \
  int UpdateBatch(int fd, const void* keys, const void* values,                \
                  uint32_t* count, uint64_t elem_flags, uint64_t flags)        \
      override;                                                                \
  int DeleteBatch(int fd, const void* keys, uint32_t* count,                   \
                  uint64_t elem_flags, uint64_t flags) override;               \
  int ProgLookup(int fd, const void* key, uint32_t key_size, uint64_t* value8) \
      override;                                                                \
  int ProgUpdate(int fd, uint64_t key, uint64_t value) override;               \
  int Close(int fd) override;                                                  \
  int Dup(int fd) override;                                                    \
  int GetMapInfo(int fd, MapInfo* info) override;                              \
  int GetFdById(uint32_t id, uint32_t open_flags) override;                    \
  int Freeze(int fd) override;                                                 \
  int Frozen(int fd) override;                                                 \
  int Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,        \
           void** addr) override;                                              \
  int MmapAt(int fd, void* hint, size_t length, int prot, int flags,           \
             uint64_t offset, void** addr) override;                           \
  int OpenPerfEvent(int cpu, uint64_t config) override;                        \
  int ClosePerfEvent(int fd) override;                                         \
  int LoadBtf(const void* blob, uint32_t size) override;

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_BACKEND_H_
