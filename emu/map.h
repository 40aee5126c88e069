// SPDX-License-Identifier: Apache-2.0
// File: map.h
//
// The emulated map: attributes, the self-describing shared-memory layout every
// map starts with, and the Map base class that each map family implements.
//
// Region layout (offsets from the region base; no pointers are stored):
//
//   0            MapHeader    magic, type, sizes, flags, CPU count, seed, name
//   kBodyOffset  family body  e.g. HashMap: buckets, free lists, elements
//
// A process that holds (or inherits through fork()) the map's memfd can map
// the region and rebuild the Map object from the header alone (AttachMap in
// syscall.h), so the same map is visible from parents, children and, once
// pinned, other processes.
//
// Who calls what. The fd-level functions in syscall.h mirror kernel/bpf/
// syscall.c: they run the generic checks (flags, fd permissions, NULL
// pointers) in the kernel's order and then call the Map's syscall face below,
// which mirrors the type's bpf_map_ops. A later program face (BPF helpers)
// will call separate entry points, as the kernel does.

#ifndef BPFEMU_EMU_MAP_H_
#define BPFEMU_EMU_MAP_H_

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/shm.h"
#include "emu/version.h"

namespace bpfemu {

// bpf_obj_name_cpy()'s character rule (kernel/bpf/syscall.c): isalnum(),
// '_' or '.'. The kernel's isalnum() reads lib/ctype.c's table, which is
// Latin-1: besides [A-Za-z0-9], 0xc0-0xff are letters except 0xd7 (x) and
// 0xf7 (division sign). Measured on 6.18 (CreateConformance.MapNames).
inline bool ObjNameCharOk(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9') || c == '_' || c == '.') {
    return true;
  }
  return c >= 0xc0 && c != 0xd7 && c != 0xf7;
}

// UAPI values newer than the 6.1 <linux/bpf.h> Debian 12 ships.
inline constexpr uint32_t kBpfFTokenFd = 1U << 16;      // BPF_F_TOKEN_FD, 6.9
inline constexpr uint32_t kBpfMapTypeCgrpStorage = 32;  // 6.2
inline constexpr uint32_t kBpfMapTypeArena = 33;        // BPF_MAP_TYPE_ARENA
// include/linux/slab.h KMALLOC_MAX_SIZE on x86-64 (4 KiB pages, page order
// 10): the bound of several create checks.
inline constexpr uint64_t kKmallocMaxSize = uint64_t{1} << 22;
// Kernel-internal: include/linux/bpf.h BPF_F_ACCESS_MASK.
inline constexpr uint32_t kBpfFAccessMask =
    BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

// The BPF_MAP_CREATE part of union bpf_attr (include/uapi/linux/bpf.h), with
// the name as the raw 16 bytes the kernel receives.
struct MapAttr {
  uint32_t map_type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t inner_map_fd = 0;
  uint32_t numa_node = 0;
  char map_name[BPF_OBJ_NAME_LEN] = {};
  uint32_t map_ifindex = 0;
  uint32_t btf_fd = 0;
  uint32_t btf_key_type_id = 0;
  uint32_t btf_value_type_id = 0;
  uint32_t btf_vmlinux_value_type_id = 0;
  uint64_t map_extra = 0;
  // 6.9: the BTF object (a module's) holding btf_vmlinux_value_type_id,
  // read with BPF_F_VTYPE_BTF_OBJ_FD (STRUCT_OPS).
  int32_t value_type_btf_obj_fd = 0;
  int32_t map_token_fd = 0;
  // bpfemu extension, standing in for the value's BTF: the offset of a
  // struct bpf_spin_lock in the value, or -1. The kernel learns it from
  // btf_value_type_id (map_check_btf); the kernel backend turns it into BTF.
  int32_t spin_lock_off = -1;
  // bpfemu extension, as spin_lock_off: the offset of a struct bpf_timer in
  // the value, or -1 (found in the value's BTF when that is given).
  int32_t timer_off = -1;
  // bpfemu extension, as timer_off: the `__kptr` / `__percpu_kptr` pointer
  // members of the value (btf_parse_fields' BPF_KPTR_REF, _UNREF and
  // _PERCPU), `nkptrs` of them at kptr_off[], bit i of kptr_percpu set for
  // a `__percpu_kptr`. Found in the value's BTF when nkptrs is 0.
  uint32_t nkptrs = 0;
  int32_t kptr_off[8] = {};
  uint32_t kptr_percpu = 0;
  // bpfemu extension, as timer_off (kfuncB47): the offset of a struct
  // bpf_wq in the value, or -1 (found in the value's BTF).
  int32_t wq_off = -1;
  // bpfemu extension, as wq_off (tw50): the offset of a struct
  // bpf_task_work in the value, or -1 (found in the value's BTF).
  int32_t task_work_off = -1;
};

// The most kptr fields bpfemu records in a value (the kernel's whole record
// holds BTF_FIELDS_MAX = 11 special fields).
inline constexpr uint32_t kMaxKptrs = 8;
// A kptr field: one pointer.
inline constexpr uint32_t kKptrSize = 8;

// The batch part of union bpf_attr (BPF_MAP_*_BATCH). `count` is in/out: it
// holds the caller's capacity on entry, and the batch code overwrites it
// exactly where the kernel writes attr->batch.count.
struct BatchArgs {
  const void* in_batch = nullptr;
  void* out_batch = nullptr;
  void* keys = nullptr;
  void* values = nullptr;
  uint32_t count = 0;
  uint64_t elem_flags = 0;
  uint64_t flags = 0;
  int map_fd = -1;  // the descriptor the command came through
};

// What a redirect map's entry points at (Map::RedirectLookup): the device
// (DEVMAP, DEVMAP_HASH) or CPU (CPUMAP) a packet goes to, and the id of the
// program the entry runs on the way (0 for none).
struct RedirectTarget {
  uint32_t ifindex = 0;
  uint32_t cpu = 0;
  uint32_t prog_id = 0;
};

struct TimerSite;  // emu/timer.h

// sizeof(struct bpf_timer) (include/uapi/linux/bpf.h).
inline constexpr uint32_t kTimerSize = 16;

// Header at offset 0 of every map region.
struct MapHeader {
  static constexpr uint64_t kMagic = 0x31554d4546504221ULL;  // "!BPFEMU1"
  uint64_t magic;
  uint32_t layout_version;
  uint32_t map_type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;     // as the kernel reports it (after its adjustments)
  uint32_t map_flags;       // permanent flags (no BPF_F_RDONLY / BPF_F_WRONLY)
  uint32_t nr_cpus;         // possible CPUs the map was built for
  uint32_t seed;            // hashrnd: 0 with BPF_F_ZERO_SEED
  int32_t spin_lock_off;    // struct bpf_spin_lock in the value, or -1
  uint32_t kernel_version;  // KernelVersion the map imitates (version.h)
  char name[BPF_OBJ_NAME_LEN];
  uint64_t region_size;
  uint32_t id;  // system-wide map id (bpffs.h NextObjectId)
  // map->frozen (kernel/bpf/syscall.c map_freeze): set once by BPF_MAP_FREEZE,
  // read with atomic loads by every process that maps the region.
  uint32_t frozen;
  uint64_t map_extra;
  // HASH_OF_MAPS / ARRAY_OF_MAPS: the inner map template taken from
  // inner_map_fd at creation (bpf_map_meta_alloc).
  struct InnerMeta {
    uint32_t present;
    uint32_t map_type, key_size, value_size, max_entries, map_flags;
    int32_t spin_lock_off;
    // On a map that is not a map-in-map (present == 0; an outer map can
    // never be stored in a slot): the number of outer-map slots, in every
    // process, that hold this map (map_in_map.h), changed under the by-id
    // directory's lock.
    uint32_t slot_refs;
  } inner;
  // map->freeze_mutex: serializes BPF_MAP_FREEZE with the creation of
  // writable mmaps (bpf_map_mmap), across processes.
  ShmMutex freeze_mu;
  // Writable user mmaps ever created (never decremented): 0 lets a freeze
  // skip the search for live writable mappings (syscall.cc MapFreeze).
  uint32_t writable_mmaps;
  // map->record->timer_off: struct bpf_timer in the value, or -1.
  int32_t timer_off;
  // The value's kptr fields (MapAttr::nkptrs, kptr_off, kptr_percpu): zero
  // in regions of bpfemu builds before them, which had none.
  uint32_t nkptrs;
  int32_t kptr_off[8];
  uint32_t kptr_percpu;
  // map->record->wq_off + 1 (kfuncB47): 0 for no struct bpf_wq, as in
  // regions of bpfemu builds before it, whose reserved bytes were zero.
  int32_t wq_off_plus1;
  // map->record->task_work_off + 1 (tw50): 0 for no struct bpf_task_work,
  // as in regions of older bpfemu builds, whose reserved bytes were zero.
  int32_t task_work_off_plus1;
  uint8_t reserved[12];
};
static_assert(sizeof(MapHeader) == 192);

// The region layout's version. 2: hash bucket seq counts; 3: per-CPU spares
// on own lines; 4: frozen, freeze_mu, page-rounded mmapable arrays; 5: hash
// intent records, recover_lock, LRU marks; 6: ring buffer reservations; 7:
// LRU list intent records; 8: perf event array slots name their map file;
// 9: value lock generations; 10: the header grows to 192 bytes, with
// timer_off; 11: a BPF_F_MMAPABLE array's file is head-at-end (shm.h), its
// values from file offset 0; 12: ring buffers are head-at-end too, their
// data area stored twice (ringbuf.h).
inline constexpr uint32_t kLayoutVersion = 12;
// The family body starts on its own cache line.
inline constexpr uint64_t kBodyOffset = RoundUp(sizeof(MapHeader), 64);

class Map {
 public:
  // Frees the timers armed through this object (bpf_obj_free_fields at map
  // free, emu/timer.h).
  virtual ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  // The header as this process validated it at attach (or wrote it at
  // creation): a process-local copy, so that nothing that decides memory
  // layout is re-read from shared memory another process can rewrite. The
  // fields that legitimately change (frozen, writable_mmaps, freeze_mu) are
  // read live through the accessors below.
  const MapHeader& header() const { return snap_; }
  uint32_t type() const { return snap_.map_type; }
  uint32_t key_size() const { return snap_.key_size; }
  uint32_t value_size() const { return snap_.value_size; }
  uint32_t max_entries() const { return snap_.max_entries; }
  uint32_t map_flags() const { return snap_.map_flags; }
  uint32_t nr_cpus() const { return snap_.nr_cpus; }
  uint32_t id() const { return snap_.id; }
  // Records the inner map template of a map-in-map (at creation only).
  void SetInnerMeta(const MapHeader::InnerMeta& meta) {
    hdr_->inner = meta;
    snap_.inner = meta;
  }
  KernelVersion kernel_version() const {
    return static_cast<KernelVersion>(snap_.kernel_version);
  }
  std::string name() const;
  // map->frozen: BPF_MAP_FREEZE was called on the map (from any process).
  bool frozen() const {
    return __atomic_load_n(&hdr_->frozen, __ATOMIC_ACQUIRE) != 0;
  }
  void SetFrozen() { __atomic_store_n(&hdr_->frozen, 1u, __ATOMIC_RELEASE); }
  // The region is mapped PROT_READ (ShmRegion::Attach with read_only): this
  // process may only read it. The syscall layer gives such a map no write
  // access, hands it to no program or outer map, and the read paths
  // (lookup, get_next_key, lookup batch, peek) take no lock and write
  // nothing: they read under the sequence counts or re-check the lock
  // words, and answer EBUSY where a writer that died mid-change left the
  // structure for a writer to repair (docs/reliability.md).
  bool read_only() const { return region_.read_only(); }
  // The map's file shows what a user mapping of the map shows, from file
  // offset 0 (a head-at-end region, shm.h: BPF_F_MMAPABLE arrays), so a
  // process may mmap() the fd itself once bpf_map_mmap's checks pass (the
  // `bpfemu exec` supervisor lets such a call proceed).
  bool FileShowsMmapView() const { return region_.head_at_end(); }
  // map->freeze_mutex, and the count of writable mmaps ever made under it.
  ShmMutex* freeze_mutex() const { return &hdr_->freeze_mu; }
  uint32_t writable_mmaps() const {
    return __atomic_load_n(&hdr_->writable_mmaps, __ATOMIC_ACQUIRE);
  }
  void CountWritableMmap() {
    __atomic_fetch_add(&hdr_->writable_mmaps, 1u, __ATOMIC_ACQ_REL);
  }

  // bpf_map_value_size(): bytes a syscall caller passes or receives as one
  // value (per-CPU maps: one round_up(value_size, 8) slot per possible CPU).
  virtual uint32_t SyscallValueSize() const { return value_size(); }
  // Whether the value holds a struct bpf_spin_lock (BPF_F_LOCK allowed).
  bool HasSpinLock() const { return snap_.spin_lock_off >= 0; }
  // map->record->timer_off: the struct bpf_timer in the value, or -1.
  int32_t timer_off() const { return snap_.timer_off; }
  // map->record->wq_off: the struct bpf_wq in the value, or -1.
  int32_t wq_off() const { return snap_.wq_off_plus1 - 1; }
  // map->record->task_work_off: the struct bpf_task_work, or -1.
  int32_t task_work_off() const { return snap_.task_work_off_plus1 - 1; }
  // The kptr fields of the value (MapAttr::nkptrs, kptr_off).
  uint32_t nkptrs() const { return snap_.nkptrs; }
  int32_t kptr_off(uint32_t i) const { return snap_.kptr_off[i]; }
  // The byte offset of `p`, an address in this process's mapping, in the
  // region.
  uint64_t RegionOffset(const void* p) const {
    return static_cast<uint64_t>(static_cast<const uint8_t*>(p) -
                                 region_.base());
  }
  // For the types whose values may hold a struct bpf_timer (ARRAY, HASH,
  // LRU_HASH): whether `value` starts an element's value in this process's
  // mapping, and the key bpf_timer_cb() hands the callback: an array's
  // index in *index (*key left null), a hash element's key in *key.
  virtual bool ValueKey(const uint8_t* value, uint32_t* index,
                        const uint8_t** key) const {
    (void)value;
    (void)index;
    (void)key;
    return false;
  }
  // Whether `timer` is the struct bpf_timer field of one of this map's
  // values in this process's mapping (the verifier's check that
  // bpf_timer_init's map argument is the timer's own map), and where.
  bool TimerSiteOf(uint8_t* timer, TimerSite* site) const;
  // The same for a struct bpf_wq field (kfuncB47: bpf_wq_init's check, the
  // verifier's process_wq_func), whose state lives in the timer table.
  bool WqSiteOf(uint8_t* wq, TimerSite* site) const;
  // The same for a struct bpf_task_work field (tw50: the verifier's check
  // that the kfunc's map holds the field; emu/task_work.h).
  bool TaskWorkSiteOf(uint8_t* tw, TimerSite* site) const;

  // The syscall face: the type's bpf_map_ops as sys_bpf() calls them, after
  // syscall.cc has validated the generic parts. `key` and `value` are
  // non-NULL buffers of key_size() / SyscallValueSize() bytes. Each returns 0
  // or a negative errno.
  [[nodiscard]] virtual int LookupElem(const void* key, void* value,
                                       uint64_t flags) = 0;
  [[nodiscard]] virtual int UpdateElem(const void* key, const void* value,
                                       uint64_t flags) = 0;
  [[nodiscard]] virtual int DeleteElem(const void* key) = 0;
  // `key` may be NULL: the first key.
  [[nodiscard]] virtual int GetNextKey(const void* key, void* next_key) = 0;
  // bpf_map_update_value() (kernel/bpf/syscall.c): what BPF_MAP_UPDATE_ELEM
  // and generic_map_update_batch run for one element. The fd-valued
  // map-in-map types override it (bpf_fd_htab_map_update_elem,
  // bpf_fd_array_map_update_elem): `value` is the caller's u32 inner map
  // fd, resolved and checked by map_fd_get_ptr (map_in_map.h), and the
  // inner map a replaced slot held is put. Everyone else stores `value`.
  // `map_fd` is the descriptor the command came through (the kernel's
  // map_file, which perf_event_fd_array_get_ptr records with the entry).
  [[nodiscard]] virtual int UpdateElemSys(const void* key, const void* value,
                                          uint64_t flags, int map_fd) {
    (void)map_fd;
    return UpdateElem(key, value, flags);
  }
  // The map's map_release(map, map_file) (bpf_map_release): `fd`, one
  // descriptor of this map, is about to be closed (CloseFd, libbpfemu's
  // close()). Returns the work to run once it is closed, when its file may
  // have been released, or an empty function.
  virtual std::function<void()> ReleaseFile(int fd) {
    (void)fd;
    return {};
  }
  // Whether BPF_MAP_LOOKUP_ELEM's value buffer is the caller's input rather
  // than the output (the bloom filter: map_lookup_elem copies it in, EFAULT
  // when it cannot, and copies nothing out).
  virtual bool LookupTakesValue() const { return false; }
  // What BPF_MAP_LOOKUP_ELEM copies out (bpf_map_copy_value): the stored
  // value, except for the fd-valued types that translate it
  // (map_lookup_elem_sys_only: a socket map answers the socket's cookie).
  [[nodiscard]] virtual int LookupElemSys(const void* key, void* value,
                                          uint64_t flags) {
    return LookupElem(key, value, flags);
  }
  // The program face's lookup (bpf_map_lookup_elem called from BPF): a
  // pointer into the map, or nullptr. The helper layer builds on it.
  virtual void* LookupElemProg(const void* key) = 0;
  // The program face's update and delete (bpf_map_update_elem /
  // bpf_map_delete_elem called from BPF): `value` is value_size() bytes.
  // The kernel's helpers call the same map ops as the syscall, except that
  // no syscall-layer check runs first and per-CPU types write only the
  // current CPU's slot (the overriding types).
  [[nodiscard]] virtual int UpdateElemProg(const void* key, const void* value,
                                           uint64_t flags);
  [[nodiscard]] virtual int DeleteElemProg(const void* key) {
    return DeleteElem(key);
  }

  // The bytes the kernel charges this map, as fdinfo's "memlock:" and
  // bpftool report them (docs/semantics.md, memlock). From 6.4 on
  // (kernel/bpf/syscall.c bpf_map_memory_usage), the type's map_mem_usage()
  // with the struct sizes of the build profile in force (build_profile.h);
  // before, bpf_map_memory_footprint(): max_entries slots of
  // round_up(key_size + bpf_map_value_size, 8) bytes, page-rounded.
  uint64_t Memlock() const;
  // map->ops->map_mem_usage(): the type's formula, with the kernel struct
  // sizes taken from `build`.
  virtual uint64_t MemUsage(const BuildProfile& build) const = 0;

  // map_push_elem / map_pop_elem / map_peek_elem: the queue, stack (and
  // bloom filter) ops that the syscall layer's update, lookup_and_delete
  // and lookup reach on those types, and the bpf_map_push_elem /
  // pop / peek helpers on any type the verifier lets through. EINVAL for
  // types without them (the verifier refuses such programs).
  [[nodiscard]] virtual int PushElem(const void* /*value*/,
                                     uint64_t /*flags*/) {
    return -EINVAL;
  }
  [[nodiscard]] virtual int PopElem(void* /*value*/) { return -EINVAL; }
  [[nodiscard]] virtual int PeekElem(void* /*value*/) { return -EINVAL; }

  // ops->map_mmap (bpf_map_mmap in kernel/bpf/syscall.c): whether the type
  // has one (ENOTSUPP otherwise), the range of file offsets [*lo, *hi) where
  // a user mapping may be writable (for BPF_MAP_FREEZE's search of writable
  // mappings), and the mapping itself, after syscall.cc's generic checks.
  virtual bool HasMmap() const { return false; }
  virtual void WritableFileRange(uint64_t* lo, uint64_t* hi) const {
    *lo = *hi = 0;
  }
  virtual void* Mmap(int /*fd*/, size_t /*length*/, int /*prot*/, int /*flags*/,
                     uint64_t /*offset*/, int* err) {
    *err = -kENOTSUPP;
    return nullptr;
  }
  // ops->map_get_unmapped_area, which the kernel's mmap() runs before its
  // generic checks: 0, or the -errno the type refuses the request with
  // (ARENA: arena.h). `len` is page-rounded; `addr` is the caller's hint.
  virtual int CheckUnmappedArea(uint64_t /*addr*/, uint64_t /*len*/,
                                uint64_t /*offset*/, int /*flags*/) const {
    return 0;
  }
  // Mmap with the caller's address hint (MAP_FIXED in `flags` makes it the
  // address): only the types whose user address matters (ARENA) use it.
  virtual void* MmapAt(void* /*addr*/, int fd, size_t length, int prot,
                       int flags, uint64_t offset, int* err) {
    return Mmap(fd, length, prot, flags, offset, err);
  }

  // ops->map_redirect, the lookup half of bpf_redirect_map (net/core/
  // filter.c __bpf_xdp_redirect_map): the redirect maps (DEVMAP,
  // DEVMAP_HASH, CPUMAP) answer true to IsRedirectMap, name the flags
  // their redirect accepts beyond the fallback action (BPF_F_BROADCAST and
  // BPF_F_EXCLUDE_INGRESS for the device maps), find the entry for `key`,
  // and list every entry in the order a broadcast visits them.
  virtual bool IsRedirectMap() const { return false; }
  virtual uint64_t RedirectFlagMask() const { return 0; }
  virtual bool RedirectLookup(uint32_t /*key*/, RedirectTarget* /*out*/) const {
    return false;
  }
  virtual std::vector<RedirectTarget> RedirectBroadcast() const { return {}; }

  // map_freeze()'s refusal of the type (STRUCT_OPS: ENOTSUPP).
  virtual bool RefusesFreeze() const { return false; }
  // map->btf_vmlinux_value_type_id (STRUCT_OPS: the kernel BTF id of the
  // value struct; 0 for every other type).
  virtual uint32_t VmlinuxValueTypeId() const { return 0; }

  // Only the hash family implements it; sys_bpf answers ENOTSUPP otherwise.
  [[nodiscard]] virtual int LookupAndDeleteElem(const void* key, void* value,
                                                uint64_t flags);

  // Batch ops (map_*_batch): ENOTSUPP unless the type's ops table names
  // one, as in the kernel. Types opt into the generic versions below.
  [[nodiscard]] virtual int LookupBatch(BatchArgs& args);
  [[nodiscard]] virtual int LookupAndDeleteBatch(BatchArgs& args);
  [[nodiscard]] virtual int UpdateBatch(BatchArgs& args);
  [[nodiscard]] virtual int DeleteBatch(BatchArgs& args);

 protected:
  // Takes the process-local copy of the header (header()). The region must
  // hold at least a MapHeader (AttachMapFd checks it before any family code
  // runs).
  explicit Map(ShmRegion region);

  // The checks every family's Attach runs on the header copy before it
  // looks at its body (docs/reliability.md, "Attaching a region"): the
  // layout version, the region size the header states equal to the file's,
  // nr_cpus in [1, kMaxCpus], a spin lock field inside the value. 0 or
  // -EINVAL.
  [[nodiscard]] int CheckAttachHeader() const;

  // Fills the header of a freshly created region.
  static void InitHeader(const MapAttr& attr, uint32_t max_entries,
                         uint32_t nr_cpus, uint32_t seed, uint64_t region_size,
                         MapHeader* hdr);

  const ShmRegion& region() const { return region_; }

  // bpf_obj_free_fields() for the value at `value` (an element deleted,
  // replaced or overwritten): cancels and frees its timer, if any, and
  // drops the objects its kptr fields hold (emu/graph_obj.h KptrRelease).
  void FreeValueFields(const uint8_t* value) const {
    if (snap_.timer_off >= 0 || snap_.wq_off_plus1 > 0 ||
        snap_.task_work_off_plus1 > 0) [[unlikely]] {
      FreeTimer(value);
    }
    if (snap_.nkptrs != 0) [[unlikely]] {
      FreeKptrs(value);
    }
  }
  void FreeTimer(const uint8_t* value) const;
  void FreeKptrs(const uint8_t* value) const;
  // Whether the value has a field copy_map_value skips (a spin lock, a
  // timer, a kptr).
  bool HasSpecialFields() const {
    return snap_.spin_lock_off >= 0 || snap_.timer_off >= 0 ||
           snap_.wq_off_plus1 > 0 || snap_.task_work_off_plus1 > 0 ||
           snap_.nkptrs != 0;
  }
  // CopyValueIn's copy of every byte but the special fields'.
  void CopyAroundFields(uint8_t* map_value, const uint8_t* in) const;
  // The special fields of a value copied out read as zero.
  void ZeroFieldsOut(void* dst) const;
  // CopyValueOut for a value holding a spin lock or a timer.
  void CopyLockedValueOut(void* dst, const uint8_t* map_value,
                          bool locked) const;
  // The kernel's generic batch ops (kernel/bpf/syscall.c): lookup walks
  // get_next_key with a key cursor; update (UpdateElemSys) and delete
  // (DeleteElem) apply single-element ops until the first error.
  int GenericLookupBatch(BatchArgs& args);
  int GenericUpdateBatch(BatchArgs& args);
  int GenericDeleteBatch(BatchArgs& args);

  // copy_map_value / copy_map_value_locked (include/linux/bpf.h) for a
  // non-per-CPU value: caller's bytes into map memory, never touching the
  // spin lock word; under the element's spin lock if `locked`.
  void CopyValueIn(uint8_t* map_value, const void* src, bool locked) const;
  // The other direction; the spin lock word reads as zero
  // (check_and_init_map_value).
  void CopyValueOut(void* dst, const uint8_t* map_value, bool locked) const {
    if (!HasSpecialFields()) {
      CopyFromMap(dst, map_value, value_size());
    } else {
      CopyLockedValueOut(dst, map_value, locked);
    }
  }
  // The start every batch op shares: elem_flags may only be BPF_F_LOCK, and
  // only on a value with a spin lock (EINVAL); with check_flags, batch.flags
  // must be 0 (the hash walker checks it, the generic ops do not); a count
  // of 0 ends the op with nothing written; otherwise the count is reset to 0
  // and *max_count holds the capacity. Returns false when the op is over,
  // with its result in *ret.
  bool BeginBatch(BatchArgs& args, bool check_flags, uint32_t* max_count,
                  int* ret) const;

 private:
  ShmRegion region_;
  MapHeader* const hdr_;  // shared: only the live fields are read through it
  MapHeader snap_{};      // process-local copy of the immutable fields
};

// The most possible CPUs a map region may be built for: CONFIG_NR_CPUS's
// ceiling on x86-64 (MAXSMP, arch/x86/Kconfig NR_CPUS_RANGE_END). Creation
// refuses more (syscall.cc MapCreate) and attach refuses a region that
// claims more (Map::CheckAttachHeader).
inline constexpr uint32_t kMaxCpus = 8192;

// The creation attributes a header records, for re-running the type's
// alloc_check on a region being attached (AttachMapFd).
MapAttr AttrFromHeader(const MapHeader& h);

// bpf_for_each_map_elem's callback as a map's walk calls it (MapOps::
// for_each_callback): the element's key and value (for per-CPU types the
// current CPU's slot); non-zero stops the walk.
using ForEachCallback = uint64_t (*)(void* arg, void* key, void* value);

// A map type's operations table, like the kernel's struct bpf_map_ops
// (include/linux/bpf.h) as include/linux/bpf_types.h registers one per type:
// the type-specific steps of BPF_MAP_CREATE and of attaching an existing
// region. The element, batch, fd-value and mmap operations are the Map's
// virtual functions, so the syscall layer (syscall.cc) dispatches on neither
// the type nor the class. emu/map_types.cc registers one table per type.
struct MapOps {
  // ops->map_alloc_check: attribute checks that need no allocation.
  int (*alloc_check)(const MapAttr& attr);
  // ops->map_alloc: builds a new region. On success *fd is the new map fd.
  int (*alloc)(const MapAttr& attr, uint32_t nr_cpus, int* fd,
               std::unique_ptr<Map>* out);
  // Rebuilds the Map over an existing region whose header names this type.
  int (*attach)(ShmRegion region, std::unique_ptr<Map>* out);
  // bpf_map_meta_alloc() of the map-in-map types (map_in_map.h): the inner
  // map template from attr.inner_map_fd, taken after alloc_check. Null for
  // every other type.
  int (*meta_alloc)(const MapAttr& attr, MapHeader::InnerMeta* meta) = nullptr;
  // map_check_btf(): whether a value of this type may hold a struct
  // bpf_spin_lock (HASH and ARRAY of the emulated types); others answer
  // EOPNOTSUPP at create and are refused at attach.
  bool value_spin_lock = false;
  // ops->map_for_each_callback, the body of bpf_for_each_map_elem
  // (kernel/bpf/bpf_iter.c): flags other than 0 are -EINVAL; otherwise the
  // elements are walked in the kernel's order, `fn(arg, key, value)` called
  // on each until it returns non-zero, and the number of calls made is
  // returned. Null for the types whose programs the verifier refuses
  // (check_map_func_compatibility): only the array and hash families have
  // it.
  long (*for_each_callback)(Map& map, ForEachCallback fn, void* arg,
                            uint64_t flags) = nullptr;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_MAP_H_
