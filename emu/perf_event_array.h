// SPDX-License-Identifier: Apache-2.0
// File: perf_event_array.h
//
// PerfEventArrayMap mirrors the perf_event_array part of
// kernel/bpf/arraymap.c (Linux 6.18, perf_event_array_map_ops):
// fd_array_map_alloc_check, bpf_fd_array_map_update_elem with
// perf_event_fd_array_get_ptr, fd_array_map_delete_elem,
// array_map_get_next_key and array_map_mem_usage; and the program side,
// kernel/trace/bpf_trace.c bpf_perf_event_output / __bpf_perf_event_output,
// writing into the emulated perf events of emu/perf_event.h
// (kernel/events/core.c, kernel/events/ring_buffer.c).
//
// Layout (after MapHeader): one u64 per slot: the perf event id in the low
// half (0: empty), in the high half the token of the map file the entry
// was stored through (0: none), see "Map files" below.
//
// Semantics (measured on 6.18, docs/semantics.md):
//   * create: value_size 4, key_size 4, max_entries > 0 (0 -> EINVAL: the
//     possible-CPU default is libbpf's, not the kernel's),
//     BPF_F_RDONLY_PROG / WRONLY_PROG / MMAPABLE / INNER_MAP / NO_PREALLOC /
//     ZERO_SEED -> EINVAL; NUMA_NODE, RDONLY, WRONLY and PRESERVE_ELEMS are
//     accepted.
//   * syscall lookup, lookup_and_delete, batch ops and mmap: ENOTSUPP (no
//     map_fd_sys_lookup_elem).
//   * update: flags other than BPF_ANY -> EINVAL, index >= max_entries ->
//     E2BIG, then the value must be a perf event fd (EBADF for any other
//     fd, a map fd included); an inherit event -> EOPNOTSUPP
//     (perf_event_fd_array_get_ptr's perf_event_read_local); any other
//     software event is stored.
//   * delete: out of range -> E2BIG, empty -> ENOENT.
//   * bpf_perf_event_output(ctx, map, flags, data, size): flags outside
//     BPF_F_INDEX_MASK -> -EINVAL; index BPF_F_CURRENT_CPU is the current
//     CPU; index >= max_entries -> -E2BIG; empty slot -> -ENOENT; event not
//     a BPF_OUTPUT software event -> -EINVAL; event on another CPU ->
//     -EOPNOTSUPP; then the ring's answer (PerfEvent::Output).
//
// Map files (perf_event_fd_array_release): the kernel records with each
// entry the file (open file description) of the map fd it was stored
// through, and when that file is released - its last descriptor closed, in
// any process - clears the entries it stored, unless the map has
// BPF_F_PRESERVE_ELEMS. Here a description that stores an entry takes an
// open-file-description read lock (F_OFD_SETLK) on one byte of the map's
// file at kFileTokenBase + token, a random 32-bit token kept with the entry;
// the lock lives exactly as long as the description. When a descriptor of
// the map is closed (ReleaseFile), the closer asks through a fresh
// description of the file (F_OFD_GETLK) which tokens in the slots no
// description holds any more and clears their entries. Entries stored by a
// process that exited without closing are cleared at the next close of any
// descriptor of the map.

#ifndef BPFEMU_EMU_PERF_EVENT_ARRAY_H_
#define BPFEMU_EMU_PERF_EVENT_ARRAY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "emu/array_map.h"
#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class PerfEventArrayMap : public Map {
 public:
  static const MapOps kOps;
  static int AllocCheck(const MapAttr& attr);

  [[nodiscard]] int LookupElem(const void*, void*, uint64_t) override {
    return -kENOTSUPP;
  }
  // The stored id (for tests); the syscall path uses UpdateElemSys.
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElemSys(const void* key, const void* value,
                                  uint64_t flags, int map_fd) override;
  std::function<void()> ReleaseFile(int fd) override;
  // Where the file tokens' lock bytes start (beyond any region's end).
  static constexpr int64_t kFileTokenBase = int64_t{1} << 40;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void*) override { return nullptr; }
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EINVAL;
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EINVAL; }

  uint64_t MemUsage(const BuildProfile& build) const override {
    return ArrayMemUsage(build, max_entries(), sizeof(void*), false, false,
                         nr_cpus());
  }

  // Whether a slot holds the event with `event_id` (the kernel's entry
  // holds a reference to the event's file: bpfemu exec keeps the event
  // while one does).
  bool References(uint32_t event_id) const;

  // bpf_perf_event_output() from a program running on `cur_cpu`.
  long Output(uint64_t flags, const void* data, uint64_t size,
              uint32_t cur_cpu);
  // bpf_perf_event_output() on the calling thread's emulated CPU.
  long Output(uint64_t flags, const void* data, uint64_t size);

  // get_map_perf_counter() (bpf_perf_event_read / _read_value) on the
  // calling thread's emulated CPU: flags outside BPF_F_INDEX_MASK ->
  // -EINVAL, index >= max_entries -> -E2BIG, an empty slot (or an event
  // this process cannot reach) -> -ENOENT, then PerfEvent::ReadLocal.
  long Read(uint64_t flags, uint64_t* value, uint64_t* enabled,
            uint64_t* running);

 private:
  explicit PerfEventArrayMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  // Clears the entries whose file token no description holds, asking
  // through `probe`, a description of this map's file that holds none.
  void ClearReleasedFiles(int probe);

  std::atomic<uint64_t>* slots_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_PERF_EVENT_ARRAY_H_
