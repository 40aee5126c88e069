// SPDX-License-Identifier: Apache-2.0
// BPF_MAP_FREEZE (kernel/bpf/syscall.c map_freeze) and mmap() of a map fd
// (bpf_map_mmap): the generic checks in the kernel's order, the search for
// writable user mappings that bpf_map_write_active() counts, and the type's
// Map::Mmap.

#include "emu/map.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/shm.h"
#include "emu/syscall.h"
#include "emu/syscall_internal.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

constexpr uint64_t kPage = 4096;

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
  // The file offsets at which a user mapping may be writable, [lo, hi)
  // (Map::WritableFileRange). The emulator's own mappings of the region
  // start at file offset 0 (and a ring's mirrored data area is at file
  // page 3), outside these ranges - except in a head-at-end file (an
  // mmapable array, shm.h), whose values the emulator maps from offset 0
  // right after its mapping of the file's last page: such a VMA is skipped
  // (a user mapping of the last page is refused, so none is followed so).
  uint64_t lo, hi;
  map.WritableFileRange(&lo, &hi);
  const bool head_at_end = map.FileShowsMmapView();
  // The file offset of its last page (its head) in a head-at-end file.
  uint64_t region_bytes = static_cast<uint64_t>(st.st_size);
  ShmRegion::HeadAtEnd(fd, &region_bytes);
  const uint64_t head_off = region_bytes - kHeadAtEndBytes;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool found = false;
  while (dirent* d = readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0]))) continue;
    const std::string pid = d->d_name;
    std::FILE* f = std::fopen(("/proc/" + pid + "/maps").c_str(), "re");
    if (f == nullptr) continue;
    char line[512];
    unsigned long head_end = 0;  // end of the last VMA of the file's head
    while (!found && std::fgets(line, sizeof(line), f) != nullptr) {
      unsigned long start, end, off, ino;
      unsigned int dev_major, dev_minor;
      char perms[5];
      if (std::sscanf(line, "%lx-%lx %4s %lx %x:%x %lu", &start, &end, perms,
                      &off, &dev_major, &dev_minor, &ino) != 7) {
        continue;
      }
      if (ino != st.st_ino || dev_major != major(st.st_dev) ||
          dev_minor != minor(st.st_dev)) {
        continue;
      }
      const bool own_values = head_at_end && off == 0 && start == head_end;
      head_end = head_at_end && off == head_off ? end : 0;
      if (perms[3] != 's' || off < lo || off >= hi || own_values) continue;
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
  // map_freeze(): STRUCT_OPS maps cannot be frozen (every version).
  if (map.RefusesFreeze()) return -kENOTSUPP;
  if (checks_fd) {
    // map->record: a value with a spin lock (the only BTF record emulated).
    if (map.HasSpinLock()) return -kENOTSUPP;
    // A frozen map gives no fd write access, so a second freeze ends here.
    if (!internal::SysWritable(*e)) return -EPERM;
  }
  // A region this process mapped read-only cannot record a freeze (6.1,
  // which checks no fd access, would let a privileged caller freeze).
  if (map.read_only()) return -EPERM;
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
  return MapMmapAt(fd, nullptr, length, prot, flags, offset, err);
}

void* MapMmapAt(int fd, void* addr, size_t length, int prot, int flags,
                uint64_t offset, int* err) {
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
  // do_mmap() asks the file for an address (get_unmapped_area) before it
  // looks at the mapping type and the file's access.
  if (int r = e.map->CheckUnmappedArea(reinterpret_cast<uint64_t>(addr),
                                       RoundUp(uint64_t{length}, kPage), offset,
                                       flags);
      r != 0) {
    return fail(r);
  }
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
  if (!map.HasMmap() || map.HasSpinLock()) {
    return fail(-kENOTSUPP);  // no map_mmap op, or a BTF record
  }
  // do_mmap() drops VM_SHARED for a file opened without write access.
  if (!shared || !e.writable) return fail(-EINVAL);
  ShmMutexLock l(map.freeze_mutex());
  if (prot & PROT_WRITE) {
    if (map.frozen()) return fail(-EPERM);
    if (map.map_flags() & BPF_F_RDONLY_PROG) return fail(-EACCES);
  }
  void* got = map.MmapAt(addr, fd, length, prot, flags, offset, err);
  if (got != nullptr && (prot & PROT_WRITE)) map.CountWritableMmap();
  return got;
}

}  // namespace bpfemu
