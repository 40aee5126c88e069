// SPDX-License-Identifier: Apache-2.0
#include "emu/map_in_map.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/errno.h"
#include "emu/fd_table.h"
#include "emu/local_mutex.h"

namespace bpfemu {
namespace {

// The inner maps held by map-in-map slots in this process (the kernel's
// bpf_map_inc in bpf_map_fd_get_ptr): map id -> the map and its number of
// slots. A map stays alive while a slot holds it, even with no fd open.
class InnerRefs {
 public:
  static InnerRefs& Get() {
    static auto* refs = new InnerRefs;
    return *refs;
  }
  // `fd` is one of the map's fds: a private duplicate keeps the region
  // reachable by id after the caller closes its fds.
  void Acquire(std::shared_ptr<Map> map, int fd) {
    LocalMutexLock l(&mu_);
    Ref& r = refs_[map->id()];
    if (r.fd < 0) r.fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    r.map = std::move(map);
    ++r.count;
  }
  void Release(uint32_t id) {
    if (id == 0) return;
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    if (it != refs_.end() && --it->second.count <= 0) {
      if (it->second.fd >= 0) close(it->second.fd);
      refs_.erase(it);
    }
  }
  std::shared_ptr<Map> Find(uint32_t id, int* fd) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    if (it == refs_.end()) return nullptr;
    if (fd != nullptr) *fd = it->second.fd;
    return it->second.map;
  }
  int Count(uint32_t id) {
    LocalMutexLock l(&mu_);
    auto it = refs_.find(id);
    return it == refs_.end() ? 0 : it->second.count;
  }

 private:
  struct Ref {
    std::shared_ptr<Map> map;
    int count = 0;
    int fd = -1;
  };
  LocalMutex mu_;
  absl::flat_hash_map<uint32_t, Ref> refs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int MapMetaFromFd(int fd, MapHeader::InnerMeta* meta) {
  FdEntry e;
  if (int err = FdTable::Get().Find(fd, &e); err != 0) return err;
  const MapHeader& h = e.map->header();
  // No more than one level of map-in-map.
  if (h.inner.present) return -EINVAL;
  // Types without map_meta_equal.
  if (h.map_type == BPF_MAP_TYPE_PROG_ARRAY) return -kENOTSUPP;
  *meta = MapHeader::InnerMeta{
      1,           h.map_type,      h.key_size, h.value_size, h.max_entries,
      h.map_flags, h.spin_lock_off, 0};
  return 0;
}

int MapFdGetPtr(const Map& outer, const void* value, uint32_t* id) {
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  FdEntry e;
  if (int err = FdTable::Get().Find(ufd, &e); err != 0) return err;
  // A map this process mapped read-only (Map::read_only) cannot be written
  // by programs through the outer map (docs/reliability.md).
  if (e.map->read_only()) return -EACCES;
  const MapHeader::InnerMeta& m = outer.header().inner;
  const MapHeader& h = e.map->header();
  // bpf_map_meta_equal(), and array_map_meta_equal()'s max_entries unless
  // the template was created with BPF_F_INNER_MAP.
  bool equal = m.map_type == h.map_type && m.key_size == h.key_size &&
               m.value_size == h.value_size && m.map_flags == h.map_flags &&
               m.spin_lock_off == h.spin_lock_off;
  if (equal && m.map_type == BPF_MAP_TYPE_ARRAY &&
      !(m.map_flags & BPF_F_INNER_MAP)) {
    equal = m.max_entries == h.max_entries;
  }
  if (!equal) return -EINVAL;
  *id = e.map->id();
  InnerRefs::Get().Acquire(e.map, ufd);
  return 0;
}

void MapFdPutPtr(uint32_t id) { InnerRefs::Get().Release(id); }

std::shared_ptr<Map> InnerMapFromId(uint32_t id, int* fd) {
  return InnerRefs::Get().Find(id, fd);
}

int InnerMapRefCount(uint32_t id) { return InnerRefs::Get().Count(id); }

}  // namespace bpfemu
