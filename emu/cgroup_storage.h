// SPDX-License-Identifier: Apache-2.0
// File: cgroup_storage.h
//
// CgroupStorageMap mirrors kernel/bpf/local_storage.c (Linux 6.18):
// BPF_MAP_TYPE_CGROUP_STORAGE (cgroup_storage_map_ops) and
// BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE (the same ops; the per-CPU copy and
// update of kernel/bpf/syscall.c), and the storages a test run gives a
// program (net/bpf/test_run.c bpf_test_run: bpf_cgroup_storage_alloc per
// storage type, for the whole run, freed after it), read through
// bpf_get_local_storage (kernel/bpf/cgroup.c).
//
// A storage joins the map only when a program using the map is attached to
// a cgroup (kernel/bpf/cgroup.c bpf_cgroup_storages_alloc and
// bpf_cgroup_storages_link, BPF_PROG_ATTACH; emu/cgroup_attach.h): it is
// keyed by the cgroup's id and the attach type (a map with 8-byte keys
// shares one storage between a cgroup's attach types), found again by a
// later attach with the same key, and lives until the map goes (the
// kernel's also goes with the cgroup: bpfemu does not see cgroups go).
// The storages are this process's (the region is the header alone), as
// the attachments are: under `bpfemu exec` the supervisor's.
//
// Semantics (kernel/bpf/local_storage.c, measured on 6.18):
//   * create (cgroup_storage_map_alloc, in order): key_size must be
//     sizeof(struct bpf_cgroup_storage_key) (16: a u64 and a u32, padded)
//     or sizeof(__u64) (8)
//     -> EINVAL; value_size 0 -> EINVAL; value_size above
//     BPF_LOCAL_STORAGE_MAX_VALUE_SIZE (U16_MAX less the local storage
//     element, 65407), and for the per-CPU type above PCPU_MIN_UNIT_SIZE
//     (32768) -> E2BIG; flags other than NUMA_NODE and the access flags,
//     or RDONLY_PROG with WRONLY_PROG -> EINVAL; max_entries not 0 ->
//     EINVAL. CGROUP_STORAGE values may hold a bpf_spin_lock.
//   * lookup of a key no attach linked -> ENOENT; update: CGROUP_STORAGE
//     takes BPF_ANY, BPF_EXIST and BPF_F_LOCK (others EINVAL),
//     PERCPU_CGROUP_STORAGE BPF_ANY and BPF_EXIST (others EINVAL), then
//     -> ENOENT without a storage (update never creates); delete ->
//     EINVAL; get_next_key walks the storages newest first (list_add);
//     batch ops ENOTSUPP.
//   * memlock (cgroup_storage_map_usage): sizeof(struct
//     bpf_cgroup_storage_map) only.
//   * bpf_get_local_storage(map, 0) during a test run: the run's storage
//     for the map, zeroed when the run starts and kept across its repeats
//     (CgroupStorageRun); for PERCPU_CGROUP_STORAGE the current CPU's copy.

#ifndef BPFEMU_EMU_CGROUP_STORAGE_H_
#define BPFEMU_EMU_CGROUP_STORAGE_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

class CgroupStorageMap final : public Map {
 public:
  static const MapOps kOps;
  static const MapOps kPercpuOps;

  // The checks of cgroup_storage_map_alloc(), in its order.
  static int AllocCheck(const MapAttr& attr);

  bool percpu() const { return type() == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE; }
  uint32_t SyscallValueSize() const override {
    return percpu()
               ? static_cast<uint32_t>(RoundUp(value_size(), 8) * nr_cpus())
               : value_size();
  }
  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  // cgroup_storage_delete_elem: storages go with their attachment.
  [[nodiscard]] int DeleteElem(const void*) override { return -EINVAL; }
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  // The verifier admits these maps to bpf_get_local_storage only.
  void* LookupElemProg(const void*) override { return nullptr; }
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EINVAL;
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EINVAL; }
  uint64_t MemUsage(const BuildProfile& build) const override;
  ~CgroupStorageMap() override;

 private:
  explicit CgroupStorageMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
};

// bpf_cgroup_storages_alloc() and bpf_cgroup_storages_link() for one map
// a program uses: the storage of (cgroup_id, attach_type) found, or a
// zeroed one linked at the head of the map's list. `map` must be a
// CGROUP_STORAGE or PERCPU_CGROUP_STORAGE map.
void CgroupStorageLink(const Map& map, uint64_t cgroup_id,
                       uint32_t attach_type);
// The storages linked into maps of this process, in all (a leak check).
size_t CgroupStoragesLinked();

// The storages of one test run on this thread (bpf_test_run's
// item.cgroup_storage): created zeroed on a program's first
// bpf_get_local_storage of a map and freed when the outermost run ends.
// Runs nest (a repeat loop around single runs): inner ones join the outer.
class CgroupStorageRun {
 public:
  CgroupStorageRun();
  ~CgroupStorageRun();
  CgroupStorageRun(const CgroupStorageRun&) = delete;
  CgroupStorageRun& operator=(const CgroupStorageRun&) = delete;
};

// bpf_get_local_storage(map, flags): the current run's storage of `map`
// (a CGROUP_STORAGE or PERCPU_CGROUP_STORAGE; for the latter the current
// CPU's copy), or nullptr for any other map or nonzero flags (the verifier
// refuses both). Outside any CgroupStorageRun, the storage lives until the
// thread's next run starts.
void* GetLocalStorage(Map& map, uint64_t flags);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_CGROUP_STORAGE_H_
