// SPDX-License-Identifier: Apache-2.0
// File: cpumap.h
//
// CpuMap mirrors kernel/bpf/cpumap.c (Linux 6.12 and 6.18) for
// BPF_MAP_TYPE_CPUMAP: an array indexed by CPU number whose entries are
// struct bpf_cpumap_val {u32 qsize; union {int fd; u32 id;} bpf_prog;}, the
// queue size of the CPU's redirect queue and an optional BPF_XDP_CPUMAP
// program. bpf_redirect_map on it sends the packet to that CPU; the
// emulator records the choice (no kthread runs, nothing is queued).
//
// Semantics (measured on 6.18 by the conformance suite):
//   * create (cpu_map_alloc; there is no alloc_check): max_entries 0,
//     key_size != 4, value_size other than 4 (qsize) and 8 (qsize + program
//     fd), flags other than BPF_F_NUMA_NODE -> EINVAL; max_entries above
//     NR_CPUS -> E2BIG (the host kernel's CONFIG_NR_CPUS, cpu.h HostNrCpus:
//     256 on this machine's 6.18).
//   * update (cpu_map_update_elem): flags above BPF_EXIST -> EINVAL, key >=
//     max_entries -> E2BIG, BPF_NOEXIST -> EEXIST, qsize above 16384 ->
//     EOVERFLOW, a key that is not a possible CPU (the map's CPU count) ->
//     ENODEV; qsize 0 clears the entry (as delete does); a program fd > 0
//     that is not an XDP program with expected_attach_type BPF_XDP_CPUMAP
//     -> ENOMEM (__cpu_map_entry_alloc turns __cpu_map_load_bpf_program's
//     failure into a NULL entry).
//   * lookup: {qsize, program id}; ENOENT when empty.
//   * delete: key >= max_entries -> EINVAL; otherwise 0, empty or not.
//   * get_next_key by index (cpu_map_get_next_key).
//   * memlock (cpu_map_mem_usage): sizeof(struct bpf_cpu_map) and one
//     pointer per slot; entries are not counted.
//   * lookup_and_delete and the batch commands -> ENOTSUPP.
//
// Layout (after MapHeader): DevmapShared (the writers' lock), then
// max_entries u64 slots: qsize | prog id << 32 (0: empty; qsize is never 0
// in a used slot).

#ifndef BPFEMU_EMU_CPUMAP_H_
#define BPFEMU_EMU_CPUMAP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/devmap.h"
#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class CpuMap final : public Map {
 public:
  static const MapOps kOps;

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EOPNOTSUPP;  // the verifier refuses it
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EOPNOTSUPP; }
  uint64_t MemUsage(const BuildProfile& build) const override;

  // cpu_map_redirect: the CPU in slot `key`; no broadcast flags.
  bool IsRedirectMap() const override { return true; }
  bool RedirectLookup(uint32_t key, RedirectTarget* out) const override;

 private:
  explicit CpuMap(ShmRegion region);
  static int AllocCheck(const MapAttr& attr);
  static uint64_t RegionSize(uint32_t max_entries);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);

  DevmapShared* shared_;
  std::atomic<uint64_t>* slots_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CPUMAP_H_
