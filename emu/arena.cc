// SPDX-License-Identifier: Apache-2.0
// ArenaMap: kernel/bpf/arena.c (arena_map_alloc, arena_map_mmap,
// arena_get_unmapped_area, arena_alloc_pages, arena_free_pages), see
// arena.h.
#include "emu/arena.h"

#include <linux/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "emu/build_profile.h"
#include "emu/errno.h"
#include "emu/version.h"

namespace bpfemu {
namespace {

constexpr uint32_t kArenaFlagMask =
    BPF_F_MMAPABLE | kBpfFSegvOnFault | kBpfFNoUserConv;
constexpr uint64_t kLow32 = 0xffffffffULL;
// NUMA_NO_NODE; the emulator has one node, 0.
constexpr int32_t kNumaNoNode = -1;
// Pages asked of mincore() at a time.
constexpr uint64_t kScanChunk = 1 << 16;

}  // namespace

const MapOps ArenaMap::kOps = {&ArenaMap::AllocCheck, &ArenaMap::Alloc,
                               &ArenaMap::Attach};

int ArenaMap::AllocCheck(const MapAttr& /*attr*/) {
  // Before 6.9 bpf_map_types[] has no entry for the type.
  return HasArenaMap(TargetKernel()) ? 0 : -EINVAL;
}

int ArenaMap::CreateChecks(const MapAttr& attr) {
  if (attr.key_size != 0 || attr.value_size != 0 || attr.max_entries == 0 ||
      !(attr.map_flags & BPF_F_MMAPABLE) ||
      (attr.map_flags & ~kArenaFlagMask) != 0) {
    return -EINVAL;
  }
  // A non-zero map_extra is the user range's start: a page address.
  if (attr.map_extra % kPage != 0) return -EINVAL;
  const uint64_t range = uint64_t{attr.max_entries} * kPage;
  if (range > kMaxRange) return -E2BIG;
  // The user range may not cross a 4 GiB boundary.
  if ((attr.map_extra >> 32) != ((attr.map_extra + range - 1) >> 32)) {
    return -ERANGE;
  }
  return 0;
}

ArenaMap::ArenaMap(ShmRegion region) : Map(std::move(region)) {
  body_ = this->region().At<Body>(kBodyOffset);
}

int ArenaMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                    std::unique_ptr<Map>* out) {
  if (int err = CreateChecks(attr); err != 0) return err;
  // The kernel reserves a 4 GiB kernel window whatever max_entries is, and
  // a user mapping's length is bounded only by 4 GiB: the memfd is that
  // large, and sparse (only the header page is backed).
  const uint64_t size = RegionSize(kMaxRange / kPage);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-arena", size, &map_fd, &region,
                                  /*mirror_tail=*/0, /*reserve=*/kDataOffset);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, 0, size, region.At<MapHeader>(0));
  auto* body = region.At<Body>(kBodyOffset);
  body->user_vm_start = attr.map_extra;
  if (attr.map_extra != 0) {
    body->user_vm_end = attr.map_extra + uint64_t{attr.max_entries} * kPage;
  }
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new ArenaMap(std::move(region)));
  return 0;
}

int ArenaMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  if (region.size() < RegionSize(kMaxRange / kPage)) return -EINVAL;
  auto map = std::unique_ptr<ArenaMap>(new ArenaMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapAttr attr = AttrFromHeader(map->header());
  if (CreateChecks(attr) != 0) return -EINVAL;
  if (map->header().region_size != RegionSize(kMaxRange / kPage)) {
    return -EINVAL;
  }
  // The user range is shared and may have been written by anyone: a range
  // longer than 4 GiB or crossing a 4 GiB boundary would let the page
  // arithmetic leave the region.
  const uint64_t start = map->user_vm_start(), end = map->user_vm_end();
  if (end != 0 && (end < start || end - start > kMaxRange ||
                   (start >> 32) != ((end - 1) >> 32))) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

uint64_t ArenaMap::MemUsage(const BuildProfile& /*build*/) const {
  return 0;  // arena_map_mem_usage()
}

int ArenaMap::LookupElem(const void*, void*, uint64_t) { return -EINVAL; }
int ArenaMap::UpdateElem(const void*, const void*, uint64_t) {
  return -EOPNOTSUPP;
}
int ArenaMap::DeleteElem(const void*) { return -EOPNOTSUPP; }
int ArenaMap::GetNextKey(const void*, void*) { return -EOPNOTSUPP; }
void* ArenaMap::LookupElemProg(const void*) { return nullptr; }
int ArenaMap::UpdateElemProg(const void*, const void*, uint64_t) {
  return -EOPNOTSUPP;
}
int ArenaMap::PushElem(const void*, uint64_t) { return -EOPNOTSUPP; }
int ArenaMap::PopElem(void*) { return -EOPNOTSUPP; }
int ArenaMap::PeekElem(void*) { return -EOPNOTSUPP; }

uint64_t ArenaMap::user_vm_start() const {
  return __atomic_load_n(&body_->user_vm_start, __ATOMIC_ACQUIRE);
}

uint64_t ArenaMap::user_vm_end() const {
  return __atomic_load_n(&body_->user_vm_end, __ATOMIC_ACQUIRE);
}

uint64_t ArenaMap::PageCountMax() const {
  const uint64_t start = user_vm_start(), end = user_vm_end();
  if (end <= start || end - start > kMaxRange) return 0;
  return (end - start) / kPage;
}

void ArenaMap::WritableFileRange(uint64_t* lo, uint64_t* hi) const {
  *lo = kDataOffset;
  *hi = kDataOffset + kMaxRange;
}

int ArenaMap::CheckUnmappedArea(uint64_t addr, uint64_t len, uint64_t offset,
                                int /*flags*/) const {
  // arena_get_unmapped_area().
  if (offset != 0) return -EINVAL;
  if (len > kMaxRange) return -E2BIG;
  const uint64_t start = user_vm_start();
  if (start != 0) {
    const uint64_t range = user_vm_end() - start;
    if (len > range) return -E2BIG;
    if (len != range) return -EINVAL;
    if (addr != start) return -EINVAL;
  }
  return 0;
}

void* ArenaMap::MmapAt(void* addr, int fd, size_t length, int prot, int flags,
                       uint64_t /*offset*/, int* err) {
  auto fail = [err](int e) -> void* {
    *err = e;
    return nullptr;
  };
  const uint64_t len = RoundUp(uint64_t{length}, kPage);
  const MappingFd map_fd(fd, prot);
  if (map_fd.fd() < 0) return fail(map_fd.fd());
  ShmMutexLock l(&body_->lock);
  const uint64_t start = user_vm_start();
  auto map_at = [&](uint64_t where, int extra) {
    return mmap(reinterpret_cast<void*>(where), len, prot, MAP_SHARED | extra,
                map_fd.fd(), static_cast<off_t>(kDataOffset));
  };
  void* got;
  if (flags & MAP_FIXED) {
    const auto where = reinterpret_cast<uint64_t>(addr);
    if (where % kPage != 0) return fail(-EINVAL);
    // The emulator cannot move a fixed mapping off a 4 GiB boundary as
    // arena_get_unmapped_area rounds a chosen address up.
    if ((where >> 32) != ((where + len - 1) >> 32)) return fail(-EINVAL);
    got = map_at(where, MAP_FIXED);
  } else if (start != 0) {
    // The hint is user_vm_start (CheckUnmappedArea); the kernel would pick
    // another address if it is taken, which arena_map_mmap refuses.
    got = map_at(start, MAP_FIXED_NOREPLACE);
    if (got == MAP_FAILED && errno == EEXIST) return fail(-EBUSY);
  } else {
    // mm_get_unmapped_area() for twice the length, then the first address
    // from which the range stays within one 4 GiB block.
    void* res = mmap(addr, 2 * len, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) return fail(-ENOMEM);
    const auto base = reinterpret_cast<uint64_t>(res);
    uint64_t where = base;
    if ((where >> 32) != ((where + len - 1) >> 32)) {
      where = RoundUp(where, kMaxRange);
    }
    got = map_at(where, MAP_FIXED);
    if (got == MAP_FAILED) {
      const int e = errno;
      munmap(res, 2 * len);
      return fail(-e);
    }
    if (where > base) munmap(res, where - base);
    if (base + 2 * len > where + len) {
      munmap(reinterpret_cast<void*>(where + len),
             base + 2 * len - where - len);
    }
  }
  if (got == MAP_FAILED) return fail(-errno);
  const auto got_start = reinterpret_cast<uint64_t>(got);
  // arena_map_mmap(): every mapping covers the same user range.
  if ((start != 0 && start != got_start) ||
      (user_vm_end() != 0 && user_vm_end() != got_start + len)) {
    munmap(got, len);
    return fail(-EBUSY);
  }
  // VM_DONTCOPY: a fork() child does not inherit the mapping.
  madvise(got, len, MADV_DONTFORK);
  __atomic_store_n(&body_->user_vm_start, got_start, __ATOMIC_RELEASE);
  __atomic_store_n(&body_->user_vm_end, got_start + len, __ATOMIC_RELEASE);
  *err = 0;
  return got;
}

bool ArenaMap::PagePresent(uint64_t pgoff) const {
  if (pgoff >= kMaxRange / kPage) return false;
  unsigned char v = 0;
  if (mincore(Data(pgoff), kPage, &v) != 0) return false;
  return (v & 1) != 0;
}

uint8_t* ArenaMap::PageFor(uint64_t uaddr) const {
  const uint64_t start = user_vm_start();
  const uint64_t pgoff =
      static_cast<uint32_t>(uaddr - static_cast<uint32_t>(start)) / kPage;
  if (pgoff >= PageCountMax() || !PagePresent(pgoff)) return nullptr;
  return Data(pgoff);
}

uint8_t* ArenaMap::KernAt(uint64_t off, uint64_t len) const {
  if (len == 0 || len > kPage || off >= kMaxRange || off + len > kMaxRange) {
    return nullptr;
  }
  const uint32_t low_start = static_cast<uint32_t>(user_vm_start());
  // Offsets below the user range wrap to a page index past its end.
  const uint64_t rel = static_cast<uint32_t>(off - low_start);
  const uint64_t first = rel / kPage, last = (rel + len - 1) / kPage;
  const uint64_t count = PageCountMax();
  if (last >= count || !PagePresent(first)) return nullptr;
  if (last != first && !PagePresent(last)) return nullptr;
  return Data(first) + rel % kPage;
}

uint64_t ArenaMap::AllocPages(uint64_t uaddr, uint32_t page_cnt,
                              int32_t node_id, uint64_t flags) {
  // bpf_arena_alloc_pages().
  if (flags != 0 || page_cnt == 0) return 0;
  // arena_alloc_pages().
  const uint64_t cnt_max = PageCountMax();
  if (node_id != kNumaNoNode && node_id != 0) return 0;
  if (page_cnt > cnt_max) return 0;
  uint64_t pgoff = 0;
  const uint64_t start = user_vm_start();
  if (uaddr != 0) {
    if (uaddr % kPage != 0) return 0;
    pgoff = static_cast<uint32_t>(uaddr - static_cast<uint32_t>(start)) / kPage;
    if (pgoff > cnt_max - page_cnt) return 0;
  }
  ShmMutexLock l(&body_->lock);
  std::vector<unsigned char> vec;
  if (uaddr != 0) {
    // mtree_insert_range(): every page of the range must be free.
    vec.resize(page_cnt);
    if (mincore(Data(pgoff), page_cnt * kPage, vec.data()) != 0) return 0;
    for (unsigned char v : vec) {
      if (v & 1) return 0;
    }
  } else {
    // mtree_alloc_range(): the lowest free run of page_cnt pages.
    uint64_t run = 0;
    bool found = false;
    for (uint64_t base = 0; base < cnt_max && !found; base += kScanChunk) {
      const uint64_t n = std::min(kScanChunk, cnt_max - base);
      vec.resize(n);
      if (mincore(Data(base), n * kPage, vec.data()) != 0) return 0;
      for (uint64_t i = 0; i < n; ++i) {
        if (vec[i] & 1) {
          run = 0;
          continue;
        }
        if (++run == page_cnt) {
          pgoff = base + i + 1 - page_cnt;
          found = true;
          break;
        }
      }
    }
    if (!found) return 0;
  }
  // bpf_map_alloc_pages(__GFP_ZERO): new tmpfs pages are zero.
  if (madvise(Data(pgoff), page_cnt * kPage, MADV_POPULATE_WRITE) != 0) {
    madvise(Data(pgoff), page_cnt * kPage, MADV_REMOVE);
    return 0;
  }
  const uint32_t uaddr32 = static_cast<uint32_t>(start + pgoff * kPage);
  return (start & ~kLow32) + uaddr32;
}

void ArenaMap::FreePages(uint64_t uaddr, uint32_t page_cnt) {
  // bpf_arena_free_pages().
  if (page_cnt == 0 || uaddr == 0) return;
  // arena_free_pages(): only the page-aligned lower 32 bits count.
  const uint64_t start = user_vm_start(), end = user_vm_end();
  const uint64_t low = static_cast<uint32_t>(uaddr) & ~(kPage - 1);
  const uint64_t full = (start & ~kLow32) + low;
  if (full < start) return;
  const uint64_t stop = std::min(end, full + uint64_t{page_cnt} * kPage);
  if (full >= stop) return;
  const uint64_t cnt = (stop - full) / kPage;
  ShmMutexLock l(&body_->lock);
  const uint64_t pgoff =
      static_cast<uint32_t>(low - static_cast<uint32_t>(start)) / kPage;
  // Punching the hole frees the pages and drops them from every user
  // mapping (zap_pages).
  madvise(Data(pgoff), cnt * kPage, MADV_REMOVE);
}

}  // namespace bpfemu
