// SPDX-License-Identifier: Apache-2.0
#include "emu/syscall.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/array_map.h"
#include "emu/bpffs.h"
#include "emu/cpu.h"
#include "emu/errno.h"
#include "emu/fd_array.h"
#include "emu/fd_table.h"
#include "emu/hash_map.h"
#include "emu/local_mutex.h"
#include "emu/map_in_map.h"
#include "emu/prog.h"
#include "emu/queue_stack_map.h"
#include "emu/ringbuf.h"
#include "emu/sock_map.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

// The per-type operation tables (kernel: include/linux/bpf_types.h). A type
// without an entry is answered as a kernel built without it: EINVAL.
const MapOps* OpsFor(uint32_t map_type) {
  switch (map_type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      return &HashMap::kOps;
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return &ArrayMap::kOps;
    case BPF_MAP_TYPE_RINGBUF:
      return &RingbufMap::kOps;
    case BPF_MAP_TYPE_HASH_OF_MAPS:
    case BPF_MAP_TYPE_SOCKHASH:
      return &HashMap::kOps;
    case BPF_MAP_TYPE_SOCKMAP:
      return &SockMap::kOps;
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      return &FdArrayMap::kOps;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return &QueueStackMap::kOps;
    default:
      return nullptr;
  }
}

// bpf_obj_name_cpy(): alphanumerics, '_' and '.', NUL-terminated in 16 bytes.
bool NameOk(const char (&name)[BPF_OBJ_NAME_LEN]) {
  for (char c : name) {
    if (c == '\0') return true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
      return false;
    }
  }
  return false;
}

// map_check_btf() for the one special field bpfemu models: attr.spin_lock_off
// stands in for a value BTF holding a struct bpf_spin_lock. Other BTF is not
// emulated: a value type id is refused.
int CheckSpinLock(const MapAttr& attr) {
  if (attr.btf_value_type_id != 0) return -EINVAL;
  if (attr.spin_lock_off < 0) return 0;
  // btf_parse_fields(): a 4-aligned field inside the value.
  if (attr.spin_lock_off % 4 != 0 ||
      uint64_t(attr.spin_lock_off) + kSpinLockSize > attr.value_size) {
    return -EINVAL;
  }
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EACCES;
  if (attr.map_type != BPF_MAP_TYPE_HASH &&
      attr.map_type != BPF_MAP_TYPE_ARRAY) {
    return -EOPNOTSUPP;
  }
  return 0;
}

// Pending injected faults, per map object (process-local).
struct Faults {
  uint32_t ops = 0;
  int remaining = 0;
  int err = 0;
};

class FaultTable {
 public:
  static FaultTable& Get() {
    static auto* table = new FaultTable;
    return *table;
  }
  void Set(const Map* map, Faults f) {
    LocalMutexLock l(&mu_);
    if (f.remaining <= 0) {
      faults_.erase(map);
    } else {
      faults_[map] = f;
    }
  }
  // The injected error for an op of kind `op` on `map`, or 0.
  int Take(const Map* map, uint32_t op) {
    if (!any_.load(std::memory_order_relaxed)) return 0;
    return TakeSlow(map, op);
  }
  void MarkAny() { any_.store(true, std::memory_order_relaxed); }

 private:
  ABSL_ATTRIBUTE_NOINLINE int TakeSlow(const Map* map, uint32_t op) {
    LocalMutexLock l(&mu_);
    auto it = faults_.find(map);
    if (it == faults_.end() || !(it->second.ops & op)) return 0;
    const int err = it->second.err;
    if (--it->second.remaining == 0) faults_.erase(it);
    any_.store(!faults_.empty(), std::memory_order_relaxed);
    return err;
  }

  LocalMutex mu_;
  std::atomic<bool> any_{false};  // keeps the fast path lock-free
  absl::flat_hash_map<const Map*, Faults> faults_ ABSL_GUARDED_BY(mu_);
};

bool IsSockMap(uint32_t type) {
  return type == BPF_MAP_TYPE_SOCKMAP || type == BPF_MAP_TYPE_SOCKHASH;
}

bool IsMapOfMaps(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH_OF_MAPS ||
         type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

// The kernel produces a result into its own buffer and copies it out only
// after the operation succeeded: an operation error wins over a bad (here:
// NULL) output buffer, which then reports EFAULT. `op` writes `size` bytes.
template <typename Op>
int CopyOut(void* user, size_t size, Op op) {
  if (user != nullptr) return op(user);
  std::unique_ptr<uint8_t[]> scratch(new uint8_t[size]);
  if (int err = op(scratch.get()); err != 0) return err;
  return -EFAULT;
}

// __bpf_copy_key(): a map without keys (key_size 0) takes only a NULL key;
// otherwise a NULL key cannot be copied (EFAULT).
int CheckKey(const Map& map, const void* key) {
  if (map.key_size() == 0) return key != nullptr ? -EINVAL : 0;
  return key == nullptr ? -EFAULT : 0;
}

// map_get_sys_perms(): the fd's access mode, without write access once the
// map is frozen (map->frozen overrides every fd's FMODE_CAN_WRITE).
inline bool SysWritable(const FdEntry& e) {
  return e.writable && !e.map->frozen();
}

// Borrows fd's entry and checks the access mode the command needs.
[[gnu::always_inline]] inline int GetMap(int fd, bool need_read,
                                         bool need_write, FdRef* e) {
  if (int err = FdTable::Get().Borrow(fd, e); err != 0) return err;
  if ((need_read && !(*e)->readable) || (need_write && !SysWritable(**e))) {
    return -EPERM;
  }
  return 0;
}

}  // namespace

int MapCreate(const MapAttr& in) {
  MapAttr attr = in;
  // kBpfFTokenFd is remembered and cleared before any per-type check.
  const bool token_flag = attr.map_flags & kBpfFTokenFd;
  attr.map_flags &= ~kBpfFTokenFd;
  if (attr.btf_vmlinux_value_type_id != 0) {
    if (attr.map_type != BPF_MAP_TYPE_STRUCT_OPS || attr.btf_key_type_id != 0 ||
        attr.btf_value_type_id != 0) {
      return -EINVAL;
    }
  } else if (attr.btf_key_type_id != 0 && attr.btf_value_type_id == 0) {
    return -EINVAL;
  }
  if (attr.map_type != BPF_MAP_TYPE_BLOOM_FILTER &&
      attr.map_type != kBpfMapTypeArena && attr.map_extra != 0) {
    return -EINVAL;
  }
  // bpf_get_file_flag().
  if ((attr.map_flags & BPF_F_RDONLY) && (attr.map_flags & BPF_F_WRONLY)) {
    return -EINVAL;
  }
  // One emulated NUMA node (node 0).
  if ((attr.map_flags & BPF_F_NUMA_NODE) && attr.numa_node >= 1) {
    return -EINVAL;
  }
  const MapOps* ops = OpsFor(attr.map_type);
  if (ops == nullptr) return -EINVAL;
  if (int err = ops->alloc_check(attr); err != 0) return err;
  MapHeader::InnerMeta inner = {};
  if (IsMapOfMaps(attr.map_type)) {
    if (int err = MapMetaFromFd(static_cast<int>(attr.inner_map_fd), &inner);
        err != 0) {
      return err;
    }
  }
  // Device offload: no emulated netdevs, so the offload alloc fails.
  if (attr.map_ifindex != 0) return -EINVAL;
  // bpfemu has no BPF tokens: bpf_token_get_from_fd() fails on any fd.
  if (token_flag) return -EINVAL;
  // kernel.unprivileged_bpf_disabled blocks map creation for non-root.
  if (!CallerPrivileged()) return -EPERM;

  // More possible CPUs than any kernel build supports (a misconfigured
  // SetNumPossibleCpus): no region could be attached again.
  if (NumPossibleCpus() > static_cast<int>(kMaxCpus)) return -EINVAL;
  int fd;
  std::unique_ptr<Map> map;
  if (int err =
          ops->alloc(attr, static_cast<uint32_t>(NumPossibleCpus()), &fd, &map);
      err != 0) {
    return err;
  }
  // The name is checked after allocation, as in the kernel.
  if (!NameOk(attr.map_name)) {
    map.reset();
    close(fd);
    return -EINVAL;
  }
  if (int err = CheckSpinLock(attr); err != 0) {
    map.reset();
    close(fd);
    return err;
  }
  if (inner.present) map->SetInnerMeta(inner);
  if (int err = FdTable::Get().Insert(
          fd, FdEntry{std::move(map), !(attr.map_flags & BPF_F_WRONLY),
                      !(attr.map_flags & BPF_F_RDONLY)});
      err != 0) {
    close(fd);
    return err;
  }
  return fd;
}

int MapLookupElem(int fd, const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  FdRef e;
  if (int err = GetMap(fd, /*need_read=*/true, false, &e); err != 0) {
    return err;
  }
  if ((flags & BPF_F_LOCK) && !e->map->HasSpinLock()) return -EINVAL;
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultLookup)) return err;
  if (IsSockMap(e->map->type())) {
    // sock_map_lookup_sys / sock_hash_lookup_sys: the socket's cookie.
    if (e->map->value_size() != sizeof(uint64_t)) return -ENOSPC;
    return CopyOut(value, sizeof(uint64_t), [&](void* out) {
      uint8_t stored[8] = {};
      if (int err = e->map->LookupElem(key, stored, 0); err != 0) return err;
      uint32_t handle;
      std::memcpy(&handle, stored, sizeof(handle));
      SocketRef s;
      if (!FindSocket(handle, &s)) return -ENOENT;
      std::memcpy(out, &s.cookie, sizeof(s.cookie));
      return 0;
    });
  }
  return CopyOut(value, e->map->SyscallValueSize(), [&](void* out) {
    return e->map->LookupElem(key, out, flags);
  });
}

namespace {

// The types whose syscall update resolves an fd here. Map-in-map types do
// it in their own UpdateElemSys (map_in_map.h), the map-ops hook the
// batch update shares.
bool FdValued(uint32_t type) {
  return type == BPF_MAP_TYPE_PROG_ARRAY || IsSockMap(type);
}

// sock_map_update_elem_sys(): the socket's checks, then the map's; the
// slot's previous socket is released once replaced.
int UpdateSockMap(Map& map, const void* key, const void* value,
                  uint64_t flags) {
  uint64_t ufd = 0;
  std::memcpy(&ufd, value, map.value_size() == 8 ? 8 : 4);
  const int64_t handle = AcquireSocket(ufd);
  if (handle < 0) return static_cast<int>(handle);
  uint8_t old[8] = {};
  (void)map.LookupElem(key, old, 0);
  uint8_t stored[8] = {};
  const uint32_t h = static_cast<uint32_t>(handle);
  std::memcpy(stored, &h, sizeof(h));
  const int err = map.UpdateElem(key, stored, flags);
  uint32_t previous;
  std::memcpy(&previous, old, sizeof(previous));
  ReleaseSocket(err == 0 ? previous : h);
  return err;
}

// bpf_fd_array_map_update_elem for PROG_ARRAY (prog_fd_array_get_ptr), and
// sock_map_update_elem_sys: the value is an fd, stored as its program's id
// or its socket's handle.
int UpdateFdValued(Map& map, const void* key, const void* value,
                   uint64_t flags) {
  if (IsSockMap(map.type())) return UpdateSockMap(map, key, value, flags);
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  auto& array = static_cast<FdArrayMap&>(map);
  if (int err = array.CheckUpdate(key, flags); err != 0) return err;
  std::shared_ptr<const Prog> prog;
  if (int err = ProgFromFd(ufd, &prog); err != 0) return err;
  if (prog->type == BPF_PROG_TYPE_EXT || !array.Compatible(*prog)) {
    return -EINVAL;
  }
  const uint32_t id = prog->id;
  ProgSlotAcquire(id);
  uint32_t old = 0;
  (void)map.LookupElem(key, &old, 0);
  const int err = map.UpdateElem(key, &id, flags);
  ProgSlotRelease(err == 0 ? old : id);
  return err;
}

}  // namespace

int MapUpdateElem(int fd, const void* key, const void* value, uint64_t flags) {
  FdRef e;
  if (int err = GetMap(fd, false, /*need_write=*/true, &e); err != 0) {
    return err;
  }
  if ((flags & BPF_F_LOCK) && !e->map->HasSpinLock()) return -EINVAL;
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (value == nullptr && e->map->SyscallValueSize() != 0) return -EFAULT;
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultUpdate)) return err;
  if (FdValued(e->map->type())) {
    return UpdateFdValued(*e->map, key, value, flags);
  }
  return e->map->UpdateElemSys(key, value, flags);
}

int MapDeleteElem(int fd, const void* key) {
  FdRef e;
  if (int err = GetMap(fd, false, /*need_write=*/true, &e); err != 0) {
    return err;
  }
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultDelete)) return err;
  // Map-in-map types drop the slot's inner map in their DeleteElem
  // (map_fd_put_ptr, map_in_map.h), as the kernel's delete ops do.
  if (!IsSockMap(e->map->type()) && e->map->type() != BPF_MAP_TYPE_PROG_ARRAY) {
    return e->map->DeleteElem(key);
  }
  // The slot's reference to its socket or program goes with it.
  uint8_t old[8] = {};
  (void)e->map->LookupElem(key, old, 0);
  const int err = e->map->DeleteElem(key);
  uint32_t id;
  std::memcpy(&id, old, sizeof(id));
  if (err == 0 && IsSockMap(e->map->type())) {
    ReleaseSocket(id);
  } else if (err == 0) {
    ProgSlotRelease(id);
  }
  return err;
}

int MapGetNextKey(int fd, const void* key, void* next_key) {
  FdRef e;
  if (int err = GetMap(fd, /*need_read=*/true, false, &e); err != 0) {
    return err;
  }
  if (key != nullptr) {
    if (int err = CheckKey(*e->map, key); err != 0) return err;
  }
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultGetNextKey)) {
    return err;
  }
  return CopyOut(next_key, e->map->key_size(),
                 [&](void* out) { return e->map->GetNextKey(key, out); });
}

int MapLookupAndDeleteElem(int fd, const void* key, void* value,
                           uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  FdRef e;
  if (int err = GetMap(fd, /*need_read=*/true, /*need_write=*/true, &e);
      err != 0) {
    return err;
  }
  if ((flags & BPF_F_LOCK) && !e->map->HasSpinLock()) return -EINVAL;
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultLookupAndDelete)) {
    return err;
  }
  // As in the kernel, the element is deleted before the value is copied out:
  // a NULL value buffer loses it and reports EFAULT.
  return CopyOut(value, e->map->SyscallValueSize(), [&](void* out) {
    return e->map->LookupAndDeleteElem(key, out, flags);
  });
}

namespace {

enum class BatchCmd { kLookup, kLookupAndDelete, kUpdate, kDelete };

// bpf_map_do_batch(): fd, then read permission for the lookups and write
// permission for everything but LOOKUP_BATCH, then the type's op (ENOTSUPP
// when it has none).
int DoBatch(BatchCmd cmd, int fd, BatchArgs args, uint32_t* count) {
  if (count == nullptr) return -EFAULT;
  const bool has_read =
      cmd == BatchCmd::kLookup || cmd == BatchCmd::kLookupAndDelete;
  const bool has_write = cmd != BatchCmd::kLookup;
  FdRef e;
  if (int err = GetMap(fd, has_read, has_write, &e); err != 0) return err;
  args.count = *count;
  if (int err = FaultTable::Get().Take(e->map.get(), kFaultBatch)) return err;
  int err;
  switch (cmd) {
    case BatchCmd::kLookup:
      err = e->map->LookupBatch(args);
      break;
    case BatchCmd::kLookupAndDelete:
      err = e->map->LookupAndDeleteBatch(args);
      break;
    case BatchCmd::kUpdate:
      err = e->map->UpdateBatch(args);
      break;
    case BatchCmd::kDelete:
      err = e->map->DeleteBatch(args);
      break;
  }
  *count = args.count;
  return err;
}

}  // namespace

int MapLookupBatch(int fd, const void* in_batch, void* out_batch, void* keys,
                   void* values, uint32_t* count, uint64_t elem_flags,
                   uint64_t flags) {
  return DoBatch(BatchCmd::kLookup, fd,
                 {in_batch, out_batch, keys, values, 0, elem_flags, flags},
                 count);
}

int MapLookupAndDeleteBatch(int fd, const void* in_batch, void* out_batch,
                            void* keys, void* values, uint32_t* count,
                            uint64_t elem_flags, uint64_t flags) {
  return DoBatch(BatchCmd::kLookupAndDelete, fd,
                 {in_batch, out_batch, keys, values, 0, elem_flags, flags},
                 count);
}

int MapUpdateBatch(int fd, const void* keys, const void* values,
                   uint32_t* count, uint64_t elem_flags, uint64_t flags) {
  return DoBatch(BatchCmd::kUpdate, fd,
                 {nullptr, nullptr, const_cast<void*>(keys),
                  const_cast<void*>(values), 0, elem_flags, flags},
                 count);
}

int MapDeleteBatch(int fd, const void* keys, uint32_t* count,
                   uint64_t elem_flags, uint64_t flags) {
  return DoBatch(BatchCmd::kDelete, fd,
                 {nullptr, nullptr, const_cast<void*>(keys), nullptr, 0,
                  elem_flags, flags},
                 count);
}

namespace {

constexpr uint64_t kPage = 4096;

// The file offsets at which a user mapping may be writable, [lo, hi): an
// array's value area, a ring buffer's consumer page (file page 1, ringbuf.h).
// The emulator's own mappings of the region start at file offset 0 (and a
// ring's mirrored data area is at file page 3), outside these ranges.
void WritableRange(const Map& map, uint64_t* lo, uint64_t* hi) {
  if (const auto* array = dynamic_cast<const ArrayMap*>(&map)) {
    *lo = array->values_offset();
    *hi = map.header().region_size;
  } else {
    *lo = kPage;
    *hi = 2 * kPage;
  }
}

// Whether the VMA starting at `start` in /proc/<pid>/smaps has VM_MAYWRITE
// ("mw" in VmFlags): a writable mapping later mprotect()ed read-only.
bool VmaMayWrite(const std::string& pid, unsigned long start) {
  std::FILE* f = std::fopen(("/proc/" + pid + "/smaps").c_str(), "re");
  if (f == nullptr) return false;
  char line[512];
  bool in_vma = false, may_write = false;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned long lo, hi;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
        std::strchr(line, ':') != nullptr &&
        std::isxdigit(static_cast<unsigned char>(line[0]))) {
      in_vma = lo == start;
      continue;
    }
    if (in_vma && std::strncmp(line, "VmFlags:", 8) == 0) {
      may_write = std::strstr(line, " mw") != nullptr;
      break;
    }
  }
  std::fclose(f);
  return may_write;
}

// bpf_map_write_active() for mappings: whether any process (this one, a
// fork child, another holder of the fd) has a user mapping of the map that
// is or may become writable (VM_MAYWRITE). The kernel counts these in
// map->writecnt from bpf_map_mmap / bpf_map_mmap_open / bpf_map_mmap_close;
// munmap() cannot be observed here, so the mappings are looked up in
// /proc/<pid>/maps (processes whose maps this one may read), and only when a
// writable mapping was ever made. Syscall writes in flight, which also
// count in the kernel, are not modelled.
bool WritableMappingExists(const Map& map, int fd) {
  if (map.writable_mmaps() == 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  uint64_t lo, hi;
  WritableRange(map, &lo, &hi);
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool found = false;
  while (dirent* d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0]))) continue;
    const std::string pid = d->d_name;
    std::FILE* f = std::fopen(("/proc/" + pid + "/maps").c_str(), "re");
    if (f == nullptr) continue;
    char line[512];
    while (!found && std::fgets(line, sizeof(line), f) != nullptr) {
      unsigned long start, end, off, ino;
      unsigned int dev_major, dev_minor;
      char perms[5];
      if (std::sscanf(line, "%lx-%lx %4s %lx %x:%x %lu", &start, &end, perms,
                      &off, &dev_major, &dev_minor, &ino) != 7) {
        continue;
      }
      if (ino != st.st_ino || dev_major != major(st.st_dev) ||
          dev_minor != minor(st.st_dev) || perms[3] != 's' || off < lo ||
          off >= hi) {
        continue;
      }
      found = perms[1] == 'w' || VmaMayWrite(pid, start);
    }
    std::fclose(f);
    if (found) break;
  }
  closedir(proc);
  return found;
}

}  // namespace

int MapFreeze(int fd) {
  FdRef e;
  if (int err = FdTable::Get().Borrow(fd, &e); err != 0) return err;
  Map& map = *e->map;
  const bool checks_fd = FreezeChecksFdAccess(map.kernel_version());
  if (checks_fd) {
    // map->record: a value with a spin lock (the only BTF record emulated).
    if (map.HasSpinLock()) return -kENOTSUPP;
    // A frozen map gives no fd write access, so a second freeze ends here.
    if (!SysWritable(*e)) return -EPERM;
  }
  // Its sections only read, or set `frozen` in one store: a dead holder
  // leaves nothing to repair.
  ShmMutexLock l(map.freeze_mutex());
  LockPointReached(LockPoint::kFreezeLocked);
  if (WritableMappingExists(map, fd)) return -EBUSY;
  if (map.frozen()) return -EBUSY;
  if (!checks_fd && !CallerPrivileged()) return -EPERM;  // 6.1: bpf_capable()
  map.SetFrozen();
  return 0;
}

int MapFrozen(int fd) {
  FdRef e;
  if (int err = FdTable::Get().Borrow(fd, &e); err != 0) return err;
  return e->map->frozen() ? 1 : 0;
}

void* MapMmap(int fd, size_t length, int prot, int flags, uint64_t offset,
              int* err) {
  auto fail = [err](int e) -> void* {
    *err = e;
    return nullptr;
  };
  FdEntry e;
  if (int r = FdTable::Get().Find(fd, &e); r != 0) {
    return fail(r == -EINVAL ? -ENODEV : r);  // mmap of a non-map file
  }
  // ksys_mmap_pgoff() and do_mmap() (mm/mmap.c), in their order.
  if (offset % kPage != 0 || length == 0) return fail(-EINVAL);
  bool shared;
  switch (flags & MAP_TYPE) {
    case MAP_SHARED:
    case MAP_SHARED_VALIDATE:
      shared = true;
      break;
    case MAP_PRIVATE:
      shared = false;
      break;
    default:
      return fail(-EINVAL);
  }
  if (shared && (prot & PROT_WRITE) && !e.writable) return fail(-EACCES);
  if (!e.readable) return fail(-EACCES);
  // Map files live on the anonymous-inode mount, which is noexec.
  if (prot & PROT_EXEC) return fail(-EPERM);
  // bpf_map_mmap() (kernel/bpf/syscall.c).
  Map& map = *e.map;
  auto* ring = dynamic_cast<RingbufMap*>(&map);
  auto* array = map.type() == BPF_MAP_TYPE_ARRAY ? dynamic_cast<ArrayMap*>(&map)
                                                 : nullptr;
  if ((ring == nullptr && array == nullptr) || map.HasSpinLock()) {
    return fail(-kENOTSUPP);  // no map_mmap op, or a BTF record
  }
  // do_mmap() drops VM_SHARED for a file opened without write access.
  if (!shared || !e.writable) return fail(-EINVAL);
  ShmMutexLock l(map.freeze_mutex());
  if (prot & PROT_WRITE) {
    if (map.frozen()) return fail(-EPERM);
    if (map.map_flags() & BPF_F_RDONLY_PROG) return fail(-EACCES);
  }
  void* addr = ring != nullptr
                   ? ring->Mmap(fd, length, prot, flags, offset, err)
                   : array->Mmap(fd, length, prot, offset, err);
  if (addr != nullptr && (prot & PROT_WRITE)) map.CountWritableMmap();
  return addr;
}

int InjectFaults(int fd, uint32_t ops, int count, int err) {
  FdEntry e;
  if (int r = FdTable::Get().Find(fd, &e); r != 0) return r;
  FaultTable::Get().Set(e.map.get(), Faults{ops, count, err});
  if (count > 0) FaultTable::Get().MarkAny();
  return 0;
}

namespace {

// bpf_get_file_flag(): the access mode of a new fd.
int FileFlags(uint32_t flags, bool* readable, bool* writable) {
  if (flags & ~uint32_t{BPF_F_RDONLY | BPF_F_WRONLY}) return -EINVAL;
  if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) return -EINVAL;
  *readable = !(flags & BPF_F_WRONLY);
  *writable = !(flags & BPF_F_RDONLY);
  return 0;
}

// Errors for a path outside the emulated bpffs, as the kernel's path walk
// gives them: a missing file or parent -> ENOENT (and the like), an existing
// one -> `exists_err`.
int OutsideError(const std::string& path, bool want_parent, int exists_err) {
  std::string target = path;
  if (want_parent) {
    const size_t slash = path.rfind('/');
    target = slash == 0 ? "/" : path.substr(0, slash);
  }
  struct stat st;
  if (stat(target.c_str(), &st) != 0) return -errno;
  if (want_parent && !S_ISDIR(st.st_mode)) return -ENOTDIR;
  return exists_err;
}

}  // namespace

int ObjPin(int fd, const char* path) {
  FdEntry e;
  if (FdTable::Get().Find(fd, &e) != 0) {
    std::shared_ptr<const Prog> prog;
    return ProgFromFd(fd, &prog) == 0 ? -EOPNOTSUPP : -EINVAL;
  }
  if (path == nullptr) return -EFAULT;
  if (*path == '\0') return -ENOENT;
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  switch (p.kind) {
    case BpffsPath::kRoot:
      return -EEXIST;
    case BpffsPath::kOutside:
      return OutsideError(p.absolute, /*want_parent=*/true, -EPERM);
    case BpffsPath::kInside:
      break;
  }
  if (p.error != 0) return p.error == -ELOOP ? -ENOENT : p.error;
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (linkat(AT_FDCWD, self.c_str(), p.parent_fd, p.name.c_str(),
             AT_SYMLINK_FOLLOW) == 0) {
    return 0;
  }
  // A memfd-backed region (no usable storage directory) cannot be linked.
  return errno == EXDEV ? -EPERM : -errno;
}

int ObjGet(const char* path, uint32_t file_flags) {
  bool readable, writable;
  if (int err = FileFlags(file_flags, &readable, &writable); err != 0) {
    return err;
  }
  if (path == nullptr) return -EFAULT;
  if (*path == '\0') return -ENOENT;
  BpffsPath p;
  ResolveBpffsPath(path, &p);
  switch (p.kind) {
    case BpffsPath::kRoot:
      return -EACCES;
    case BpffsPath::kOutside:
      return OutsideError(p.absolute, /*want_parent=*/false, -EACCES);
    case BpffsPath::kInside:
      break;
  }
  if (p.error != 0) return p.error == -ELOOP ? -EACCES : p.error;
  const int fd = BpffsOpenPinned(p, readable, writable);
  if (fd < 0) return fd;
  if (AttachMapFd(fd, readable, writable) != 0) {
    close(fd);
    return -EACCES;
  }
  return fd;
}

std::shared_ptr<Map> MapFromId(uint32_t id) {
  if (std::shared_ptr<Map> m = InnerMapFromId(id)) return m;
  int fd;
  FdEntry e;
  return FdTable::Get().FindById(id, &fd, &e) ? e.map : nullptr;
}

int MapGetInfoByFd(int fd, void* info, uint32_t* info_len) {
  FdEntry e;
  // bpf_obj_get_info_by_fd(): no open file -> EBADFD (77), not EBADF.
  if (int err = FdTable::Get().Find(fd, &e); err != 0) {
    return err == -EBADF ? -EBADFD : err;
  }
  if (info == nullptr || info_len == nullptr) return -EFAULT;
  const uint32_t len = *info_len;
  // bpf_check_uarg_tail_zero().
  for (uint32_t i = sizeof(BpfMapInfo); i < len; ++i) {
    if (static_cast<const uint8_t*>(info)[i] != 0) return -E2BIG;
  }
  const uint32_t n = std::min<uint32_t>(len, sizeof(BpfMapInfo));
  BpfMapInfo in = {};
  std::memcpy(&in, info, n);
  if (in.hash != 0) return -EINVAL;  // no map_get_hash for emulated types
  BpfMapInfo out = {};
  const MapHeader& h = e.map->header();
  out.type = h.map_type;
  out.id = h.id;
  out.key_size = h.key_size;
  out.value_size = h.value_size;
  out.max_entries = h.max_entries;
  out.map_flags = h.map_flags;
  std::memcpy(out.name, h.name, sizeof(out.name));
  out.map_extra = h.map_extra;
  std::memcpy(info, &out, n);
  *info_len = n;
  return 0;
}

int MapGetFdById(uint32_t id, uint32_t open_flags) {
  bool readable, writable;
  if (int err = FileFlags(open_flags, &readable, &writable); err != 0) {
    return err;
  }
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  int fd;
  FdEntry e;
  if (!FdTable::Get().FindById(id, &fd, &e)) {
    // A map only a map-in-map slot holds.
    e.map = InnerMapFromId(id, &fd);
    if (e.map == nullptr || fd < 0) return -ENOENT;
  }
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return -errno;
  if (int err = FdTable::Get().Insert(copy, FdEntry{e.map, readable, writable});
      err != 0) {
    close(copy);
    return err;
  }
  return copy;
}

int MapGetNextId(uint32_t start_id, uint32_t* next_id) {
  if (start_id >= INT32_MAX) return -EINVAL;
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  if (next_id == nullptr) return -EFAULT;
  const uint32_t id = FdTable::Get().NextId(start_id);
  if (id == 0) return -ENOENT;
  *next_id = id;
  return 0;
}

int64_t MapMemlock(int fd) {
  FdEntry e;
  if (int err = FdTable::Get().Find(fd, &e); err != 0) return err;
  return static_cast<int64_t>(e.map->Memlock());
}

void ForgetFd(int fd) {
  FdEntry e;
  if (FdTable::Get().Find(fd, &e) == 0) {
    FaultTable::Get().Set(e.map.get(), Faults{});  // drop pending faults
  }
  FdTable::Get().Erase(fd);
  ForgetProgFd(fd);
}

int CloseFd(int fd) {
  ForgetFd(fd);
  return close(fd) == 0 ? 0 : -errno;
}

std::shared_ptr<Map> MapFromFd(int fd) {
  FdEntry e;
  if (FdTable::Get().Find(fd, &e) != 0) return nullptr;
  return e.map;
}

int DupMapFd(int fd, int min_fd) {
  FdEntry e;
  if (int err = FdTable::Get().Find(fd, &e); err != 0) return err;
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
  if (copy < 0) return -errno;
  if (int err = FdTable::Get().Insert(copy, std::move(e)); err != 0) {
    close(copy);
    return err;
  }
  return copy;
}

// A region is validated completely before any operation runs on it (see
// docs/reliability.md, "Attaching a region"): another process, or anyone who
// can write the file, may have crafted it. Here only the type is read, once,
// to pick the family; the family's Attach takes the process-local header
// copy (Map::header()), runs the generic checks and the type's alloc_check
// on it, recomputes its body's geometry as creation does and requires every
// stored offset and size to match. A region that fails is EINVAL.
int AttachMapFd(int fd, bool readable, bool writable) {
  if (fd < 0 || fcntl(fd, F_GETFD) == -1) return -EBADF;
  ShmRegion region;
  if (ShmRegion::Attach(fd, &region) != 0) return -EINVAL;
  if (region.size() < kBodyOffset) return -EINVAL;
  const auto* hdr = region.At<MapHeader>(0);
  if (__atomic_load_n(&hdr->magic, __ATOMIC_RELAXED) != MapHeader::kMagic) {
    return -EINVAL;
  }
  const uint32_t type = __atomic_load_n(&hdr->map_type, __ATOMIC_RELAXED);
  const MapOps* ops = OpsFor(type);
  if (ops == nullptr) return -EINVAL;
  if (type == BPF_MAP_TYPE_RINGBUF) {
    // Remap with the data area mirrored, as RingbufMap expects; its Attach
    // checks that the mirror matches the size in its header copy.
    const uint64_t data_size =
        __atomic_load_n(&hdr->max_entries, __ATOMIC_RELAXED);
    if (ShmRegion::Attach(fd, &region, data_size) != 0) return -EINVAL;
  }
  std::unique_ptr<Map> map;
  if (int err = ops->attach(std::move(region), &map); err != 0) return err;
  // The copy the family validated must still name one of its types.
  if (OpsFor(map->type()) != ops) return -EINVAL;
  return FdTable::Get().Insert(fd, FdEntry{std::move(map), readable, writable});
}

}  // namespace bpfemu
