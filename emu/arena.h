// SPDX-License-Identifier: Apache-2.0
// File: arena.h
//
// ArenaMap mirrors kernel/bpf/arena.c (Linux 6.12 source; the type came
// with 6.9) for BPF_MAP_TYPE_ARENA: a sparse memory area of max_entries
// pages shared between BPF programs and the user processes that mmap() it.
//
// Creation (arena_map_alloc, reached after map_create's privilege check):
// key_size or value_size not 0, max_entries 0, no BPF_F_MMAPABLE, or flags
// beyond BPF_F_MMAPABLE | BPF_F_SEGV_ON_FAULT | BPF_F_NO_USER_CONV (the
// access flags and BPF_F_NUMA_NODE included) are EINVAL; a map_extra that is
// not page aligned is EINVAL; more than 4 GiB of pages is E2BIG; a map_extra
// range that crosses a 4 GiB boundary is ERANGE. A target kernel before 6.9
// (version.h HasArenaMap) has no such type: EINVAL.
//
// Element commands: lookup EINVAL (arena_map_lookup_elem's ERR_PTR),
// update, delete and get_next_key EOPNOTSUPP; push/pop/peek EOPNOTSUPP.
// map_mem_usage is 0, so fdinfo's memlock is 0 whatever the size.
//
// User mappings (arena_get_unmapped_area, arena_map_mmap): file offset 0
// only (EINVAL), at most 4 GiB (E2BIG); with a fixed start (map_extra, or
// the first mapping made) every later mapping must be exactly
// [user_vm_start, user_vm_end): a longer one is E2BIG, another length or an
// explicit other address EINVAL, and a mapping that ends up elsewhere
// EBUSY. An address picked by the emulator never lets the range cross a
// 4 GiB boundary, so the lower 32 bits of user pointers are page offsets.
//
// Layout (after MapHeader): Body (user_vm_start / user_vm_end and the
// arena lock, shared by every process), then from kDataOffset the
// max_entries data pages of the memfd. Unallocated pages are holes of the
// memfd: a page exists once a program allocated it (AllocPages, populated
// and zeroed) or a user process touched it (the page fault of tmpfs, as
// arena_vm_fault inserts a page); FreePages punches the hole again
// (MADV_REMOVE), which also drops the page from every user mapping as
// zap_pages does. Which pages exist is read from the page cache (mincore
// on the emulator's own mapping), so every process sees the same set.
//
// Not matched (docs/semantics.md, ARENA): BPF_F_SEGV_ON_FAULT is accepted
// but a user touch of a missing page still allocates it; a partial munmap
// or mremap of an arena mapping, which the kernel refuses (may_split,
// mremap), succeeds; fork() children do not inherit the mapping in the
// kernel (VM_DONTCOPY), which the emulator copies with MADV_DONTFORK.

#ifndef BPFEMU_EMU_ARENA_H_
#define BPFEMU_EMU_ARENA_H_

#include <cstdint>
#include <memory>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// UAPI flags newer than Debian 12's <linux/bpf.h>.
inline constexpr uint32_t kBpfFSegvOnFault = 1U << 17;  // BPF_F_SEGV_ON_FAULT
inline constexpr uint32_t kBpfFNoUserConv = 1U << 18;   // BPF_F_NO_USER_CONV

class ArenaMap final : public Map {
 public:
  static const MapOps kOps;
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kMaxRange = uint64_t{1} << 32;  // SZ_4G
  // The data pages start on their own page of the memfd.
  static constexpr uint64_t kDataOffset = kPage;

  // The type's presence at the target kernel (the kernel has no
  // map_alloc_check for arenas; the attribute checks run in Alloc).
  static int AllocCheck(const MapAttr& attr);

  uint64_t MemUsage(const BuildProfile& build) const override;

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;
  [[nodiscard]] int UpdateElemProg(const void* key, const void* value,
                                   uint64_t flags) override;
  [[nodiscard]] int PushElem(const void* value, uint64_t flags) override;
  [[nodiscard]] int PopElem(void* value) override;
  [[nodiscard]] int PeekElem(void* value) override;

  bool HasMmap() const override { return true; }
  void WritableFileRange(uint64_t* lo, uint64_t* hi) const override;
  int CheckUnmappedArea(uint64_t addr, uint64_t len, uint64_t offset,
                        int flags) const override;
  void* MmapAt(void* addr, int fd, size_t length, int prot, int flags,
               uint64_t offset, int* err) override;
  void* Mmap(int fd, size_t length, int prot, int flags, uint64_t offset,
             int* err) override {
    return MmapAt(nullptr, fd, length, prot, flags, offset, err);
  }

  // bpf_arena_get_user_vm_start() and the end of the user range: 0 until
  // map_extra or the first user mapping fixed them.
  uint64_t user_vm_start() const;
  uint64_t user_vm_end() const;

  // arena_alloc_pages() behind the bpf_arena_alloc_pages kfunc: page_cnt
  // zeroed pages at the user address `uaddr` (0: the lowest free range),
  // returned as a user address, or 0 on any failure (flags not 0, page_cnt
  // 0 or beyond the mapped range, a node other than -1 / 0, a misaligned
  // or out-of-range hint, a page of the range already present, no memory).
  uint64_t AllocPages(uint64_t uaddr, uint32_t page_cnt, int32_t node_id,
                      uint64_t flags);
  // arena_free_pages() behind bpf_arena_free_pages: the pages of
  // [uaddr, uaddr + page_cnt pages) inside the user range, by the lower 32
  // bits of uaddr, return to holes. Nothing happens for page_cnt 0, uaddr 0
  // or a range outside the arena.
  void FreePages(uint64_t uaddr, uint32_t page_cnt);
  // The emulator's address of the page holding user address `uaddr`'s
  // offset (by its lower 32 bits relative to user_vm_start), or nullptr
  // when the page is outside the arena or not allocated.
  uint8_t* PageFor(uint64_t uaddr) const;
  // The emulator's address of [off, off + len) of the kernel window
  // (kern_vm, where a page lives at the lower 32 bits of its user
  // address), off below 4 GiB and len at most a page; nullptr when a page
  // of it is outside the user range or not allocated: what a program's
  // arena access (BPF_PROBE_MEM32) reaches.
  uint8_t* KernAt(uint64_t off, uint64_t len) const;
  // Whether data page `pgoff` exists (allocated by a program or faulted in
  // by a user process).
  bool PagePresent(uint64_t pgoff) const;

 private:
  struct Body {
    uint64_t user_vm_start;
    uint64_t user_vm_end;
    ShmMutex lock;  // arena->lock
    uint32_t pad;
  };

  explicit ArenaMap(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  static int CreateChecks(const MapAttr& attr);
  static uint64_t RegionSize(uint32_t pages) {
    return kDataOffset + uint64_t{pages} * kPage;
  }
  uint64_t PageCountMax() const;  // pages of the user range
  uint8_t* Data(uint64_t pgoff) const {
    return region().base() + kDataOffset + pgoff * kPage;
  }

  Body* body_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_ARENA_H_
