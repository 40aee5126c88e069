// SPDX-License-Identifier: Apache-2.0
#include "emu/syscall.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emu/bpf_iter.h"
#include "emu/bpffs.h"
#include "emu/btf.h"
#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/map.h"
#include "emu/map_in_map.h"
#include "emu/map_types.h"
#include "emu/prog.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall_internal.h"
#include "emu/timer.h"
#include "emu/trampoline.h"

namespace bpfemu {
namespace {

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

using internal::SysWritable;
using internal::TakeInjectedFault;

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

int MapLookupElem(int fd, const void* key, void* value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  FdRef e;
  if (int err = GetMap(fd, /*need_read=*/true, false, &e); err != 0) {
    return err;
  }
  if ((flags & BPF_F_LOCK) && !e->map->HasSpinLock()) return -EINVAL;
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (int err = TakeInjectedFault(e->map.get(), kFaultLookup)) return err;
  // A buffer to write: both kinds below call LookupElemSys on it, and
  // neither virtual call is needed (a lookup's fixed cost).
  if (value != nullptr) return e->map->LookupElemSys(key, value, flags);
  if (e->map->LookupTakesValue()) return -EFAULT;
  return CopyOut(value, e->map->SyscallValueSize(), [&](void* out) {
    return e->map->LookupElemSys(key, out, flags);
  });
}

int MapUpdateElem(int fd, const void* key, const void* value, uint64_t flags) {
  FdRef e;
  if (int err = GetMap(fd, false, /*need_write=*/true, &e); err != 0) {
    return err;
  }
  if ((flags & BPF_F_LOCK) && !e->map->HasSpinLock()) return -EINVAL;
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (value == nullptr && e->map->SyscallValueSize() != 0) return -EFAULT;
  if (int err = TakeInjectedFault(e->map.get(), kFaultUpdate)) return err;
  // The fd-valued types resolve the caller's fd in their UpdateElemSys
  // (map_fd_get_ptr), as bpf_map_update_value calls them.
  OuterOpGuard slots(*e->map, fd);
  return e->map->UpdateElemSys(key, value, flags, fd);
}

int MapDeleteElem(int fd, const void* key) {
  FdRef e;
  if (int err = GetMap(fd, false, /*need_write=*/true, &e); err != 0) {
    return err;
  }
  if (int err = CheckKey(*e->map, key); err != 0) return err;
  if (int err = TakeInjectedFault(e->map.get(), kFaultDelete)) return err;
  // Types whose values hold references (inner maps, programs, sockets)
  // drop them in their DeleteElem, as the kernel's delete ops do.
  OuterOpGuard slots(*e->map, fd);
  return e->map->DeleteElem(key);
}

int MapGetNextKey(int fd, const void* key, void* next_key) {
  FdRef e;
  if (int err = GetMap(fd, /*need_read=*/true, false, &e); err != 0) {
    return err;
  }
  if (key != nullptr) {
    if (int err = CheckKey(*e->map, key); err != 0) return err;
  }
  if (int err = TakeInjectedFault(e->map.get(), kFaultGetNextKey)) {
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
  if (int err = TakeInjectedFault(e->map.get(), kFaultLookupAndDelete)) {
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
  args.map_fd = fd;
  if (int err = TakeInjectedFault(e->map.get(), kFaultBatch)) return err;
  OuterOpGuard slots(*e->map, fd);
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

std::shared_ptr<Map> MapFromId(uint32_t id) {
  if (std::shared_ptr<Map> m = InnerMapFromId(id)) return m;
  int fd;
  FdEntry e;
  if (FdTable::Get().FindById(id, &fd, &e)) return e.map;
  // A map some slot holds through the by-id directory, perhaps stored by
  // another process: attached once, then cached until this process drops a
  // slot reference to it.
  if (std::shared_ptr<Map> m = CachedInnerMap(id)) return m;
  fd = OpenInnerById(id);
  if (fd < 0) return nullptr;
  std::unique_ptr<Map> map;
  const int err = internal::AttachMapObject(fd, &map);
  close(fd);  // the mapping keeps the region
  if (err != 0 || map->id() != id) return nullptr;
  std::shared_ptr<Map> shared = std::move(map);
  CacheInnerMap(id, shared);
  return shared;
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
  // map->btf: recorded at creation, by this process or another.
  MapBtfIdsOut btf;
  if (MapBtf(fd, h.id, &btf)) {
    out.btf_id = btf.btf_id;
    out.btf_key_type_id = btf.key_type_id;
    out.btf_value_type_id = btf.value_type_id;
  }
  out.btf_vmlinux_value_type_id = e.map->VmlinuxValueTypeId();
  // bpf_map_struct_ops_info_fill() (6.9 on): the kernel BTF's object id,
  // 1 as the first BTF object a kernel registers.
  if (out.btf_vmlinux_value_type_id != 0 &&
      e.map->kernel_version() > KernelVersion::k6_1) {
    out.btf_vmlinux_id = 1;
  }
  std::memcpy(info, &out, n);
  *info_len = n;
  return 0;
}

int MapGetFdById(uint32_t id, uint32_t open_flags) {
  bool readable, writable;
  if (int err = internal::FileFlags(open_flags, &readable, &writable);
      err != 0) {
    return err;
  }
  if (!CallerPrivileged()) return -EPERM;  // CAP_SYS_ADMIN
  int fd;
  FdEntry e;
  if (!FdTable::Get().FindById(id, &fd, &e)) {
    // A map only a map-in-map slot holds: a process-local reference (a
    // memfd region), or the by-id directory, whichever process stored it.
    e.map = InnerMapFromId(id, &fd);
    if (e.map == nullptr || fd < 0) {
      const int byid = OpenInnerById(id);
      if (byid < 0) return -ENOENT;
      if (int err = AttachMapFd(byid, readable, writable); err != 0) {
        close(byid);
        return -ENOENT;
      }
      FdEntry got;
      if (FdTable::Get().Find(byid, &got) != 0 || got.map->id() != id) {
        CloseFd(byid);
        return -ENOENT;
      }
      return byid;
    }
  }
  // A new file, as the kernel opens one for the id (bpf_map_new_fd): its own
  // open file description, whose release a perf event array sees
  // (Map::ReleaseFile), read-write when the file allows it - the access
  // mode is the entry's. A map mapped read-only (a BPF_F_RDONLY get) is
  // attached again when write access is asked for.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  int file = open(self.c_str(), O_RDWR | O_CLOEXEC);
  if (file < 0 && !writable) file = open(self.c_str(), O_RDONLY | O_CLOEXEC);
  if (file < 0) return -errno;
  if (e.map->read_only() && writable) {
    if (int err = AttachMapFd(file, readable, writable); err != 0) {
      close(file);
      return err;
    }
    return file;
  }
  if (int err = FdTable::Get().Insert(file, FdEntry{e.map, readable, writable});
      err != 0) {
    close(file);
    return err;
  }
  HoldMap(file);  // this description holds the map (map_in_map.h)
  return file;
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

namespace {
constexpr int kMaxForgetters = 4;
std::atomic<bool (*)(int)> forgetters[kMaxForgetters];
}  // namespace

void AddFdForgetter(bool (*forget)(int fd)) {
  for (auto& slot : forgetters) {
    bool (*empty)(int) = nullptr;
    if (slot.load() == forget || slot.compare_exchange_strong(empty, forget)) {
      return;
    }
  }
  std::abort();  // more tables than kMaxForgetters
}

ClosingFd ForgetFd(int fd) {
  ClosingFd closing;
  std::shared_ptr<Map> timers;  // a map with timers, unless named
  {
    FdEntry e;
    if (FdTable::Get().Find(fd, &e) == 0) {
      internal::ClearInjectedFaults(e.map.get());
      // A map with a name (a pin, a by-id link) may be released by this
      // close (map_in_map.h ReleaseIfUnheld).
      struct stat st;
      const bool named = fstat(fd, &st) == 0 && st.st_nlink > 0;
      if (named) closing.linked = e.map->id();
      if (!named && e.map->timer_off() >= 0) timers = e.map;
      if (std::function<void()> work = e.map->ReleaseFile(fd)) {
        // The work runs after the close: it keeps the map.
        closing.release = [map = e.map, work = std::move(work)] { work(); };
      }
    }
  }
  FdTable::Get().Erase(fd);
  // bpf_map_put_uref(): the last user reference gone, the map's timers are
  // cancelled and freed (map_release_uref) though programs still hold it;
  // here the last fd of an unpinned map in this process (emu/timer.h).
  if (timers != nullptr) {
    int other;
    FdEntry oe;
    if (!FdTable::Get().FindById(timers->id(), &other, &oe)) {
      TimerFreeMap(timers.get());
    }
  }
  ForgetProgFd(fd);
  ForgetBtfFd(fd);
  ForgetIterLinkFd(fd);
  ForgetTracingLinkFd(fd);
  ForgetStructOpsLinkFd(fd);
  for (auto& slot : forgetters) {
    if (bool (*forget)(int) = slot.load()) forget(fd);
  }
  return closing;
}

void ClosingFd::Finish() {
  if (release) release();
  if (linked != 0) ReleaseIfUnheld(linked);
}

int CloseFd(int fd) {
  ClosingFd closing = ForgetFd(fd);
  const int ret = close(fd) == 0 ? 0 : -errno;
  closing.Finish();
  return ret;
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
//
// The region is mapped read-write when this process may write the file: an
// fd opened read-write, or one that reopens read-write through /proc (the
// file's own permission check). An O_RDONLY fd the caller cannot reopen for
// writing (a BPF_F_RDONLY get of a pin it may only read) gets a read-only
// mapping, and the map takes its no-write read paths (Map::read_only).
int AttachMapFd(int fd, bool readable, bool writable) {
  if (fd < 0 || fcntl(fd, F_GETFD) == -1) return -EBADF;
  std::unique_ptr<Map> map;
  if (int err = internal::AttachMapObject(fd, &map); err != 0) return err;
  if (int err = FdTable::Get().Insert(
          fd, FdEntry{std::move(map), readable, writable});
      err != 0) {
    return err;
  }
  // This description holds the map (map_in_map.h).
  HoldMap(fd);
  return 0;
}

int internal::AttachMapObject(int fd, std::unique_ptr<Map>* out) {
  const int acc = fcntl(fd, F_GETFL) & O_ACCMODE;
  int map_fd = fd;
  int reopened = -1;
  bool read_only = false;
  if (acc != O_RDWR) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    reopened = open(self.c_str(), O_RDWR | O_CLOEXEC);
    if (reopened >= 0) {
      map_fd = reopened;
    } else if (acc == O_RDONLY) {
      read_only = true;
    } else {
      return -EACCES;  // write-only: nothing to map the region from
    }
  }
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) close(fd);
    }
  } closer{reopened};
  ShmRegion region;
  if (ShmRegion::Attach(map_fd, &region, 0, read_only) != 0) return -EINVAL;
  if (region.size() < kBodyOffset) return -EINVAL;
  const auto* hdr = region.At<MapHeader>(0);
  if (__atomic_load_n(&hdr->magic, __ATOMIC_RELAXED) != MapHeader::kMagic) {
    return -EINVAL;
  }
  const uint32_t type = __atomic_load_n(&hdr->map_type, __ATOMIC_RELAXED);
  const MapOps* ops = MapOpsFor(type);
  if (ops == nullptr) return -EINVAL;
  std::unique_ptr<Map> map;
  if (int err = ops->attach(std::move(region), &map); err != 0) return err;
  // The copy the family validated must still name one of its types, and a
  // spin lock only where the type allows one (map_check_btf).
  if (MapOpsFor(map->type()) != ops) return -EINVAL;
  if (map->HasSpinLock() && !ops->value_spin_lock) return -EINVAL;
  *out = std::move(map);
  return 0;
}

namespace {

// map_in_map.h's view of an outer map's slots, for the release of a dead
// outer map: the inner map ids it holds, read through its own ops (bounded
// by max_entries + 1 steps of get_next_key).
bool ReadOuterSlots(int fd, std::vector<uint32_t>* ids) {
  std::unique_ptr<Map> map;
  if (internal::AttachMapObject(fd, &map) != 0) return false;
  if (!map->header().inner.present || map->value_size() != sizeof(uint32_t)) {
    return false;
  }
  std::vector<uint8_t> key(map->key_size()), next(map->key_size());
  const void* prev = nullptr;
  for (uint64_t n = 0; n <= map->max_entries(); ++n) {
    if (map->GetNextKey(prev, next.data()) != 0) break;
    uint32_t id = 0;
    if (map->LookupElem(next.data(), &id, 0) == 0 && id != 0) {
      ids->push_back(id);
    }
    key.swap(next);
    prev = key.data();
  }
  return true;
}

[[maybe_unused]] const bool g_registered = [] {
  SetOuterSlotsReader(&ReadOuterSlots);
  SetBpffsUnlinkHook(&SweepByIdDirectory);
  return true;
}();

}  // namespace

}  // namespace bpfemu
