// SPDX-License-Identifier: Apache-2.0
#include "emu/perf_event_array.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "emu/cpu.h"
#include "emu/local_mutex.h"
#include "emu/perf_event.h"

namespace bpfemu {
namespace {

uint32_t IndexOf(const void* key) {
  uint32_t index;
  std::memcpy(&index, key, sizeof(index));
  return index;
}

constexpr uint64_t kSlotsOff = kBodyOffset;

uint32_t EventOf(uint64_t slot) { return static_cast<uint32_t>(slot); }
uint32_t TokenOf(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }

// The token of each descriptor that stored an entry, by fd (the process's
// own table: a fork()ed child inherits it with the descriptors).
struct FileTokens {
  struct Token {
    uint32_t map_id;
    uint32_t token;
  };
  LocalMutex mu;
  absl::flat_hash_map<int, Token> by_fd ABSL_GUARDED_BY(mu);
};

FileTokens& Tokens() {
  static FileTokens* const tokens = new FileTokens;
  return *tokens;
}

struct flock TokenLock(short type, uint32_t token) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = PerfEventArrayMap::kFileTokenBase + token;
  fl.l_len = 1;
  return fl;
}

// The token of map_fd's description, taking its lock the first time; 0
// when the description cannot hold one (entries stored without a token are
// never cleared, as with BPF_F_PRESERVE_ELEMS).
uint32_t FileToken(int map_fd, uint32_t map_id) {
  if (map_fd < 0) return 0;
  FileTokens& t = Tokens();
  LocalMutexLock lock(&t.mu);
  if (auto it = t.by_fd.find(map_fd);
      it != t.by_fd.end() && it->second.map_id == map_id) {
    return it->second.token;
  }
  uint32_t token = 0;
  while (token == 0) {
    if (getrandom(&token, sizeof(token), 0) != sizeof(token)) return 0;
  }
  struct flock fl = TokenLock(F_RDLCK, token);
  if (fcntl(map_fd, F_OFD_SETLK, &fl) != 0) return 0;
  t.by_fd[map_fd] = {map_id, token};
  return token;
}

// Whether some description of the file holds `token`'s lock (asked through
// `probe`, which holds none; when the kernel cannot say, it is kept).
bool TokenHeld(int probe, uint32_t token) {
  struct flock fl = TokenLock(F_WRLCK, token);
  if (fcntl(probe, F_OFD_GETLK, &fl) != 0) return true;
  return fl.l_type != F_UNLCK;
}

}  // namespace

const MapOps PerfEventArrayMap::kOps = {&PerfEventArrayMap::AllocCheck,
                                        &PerfEventArrayMap::Alloc,
                                        &PerfEventArrayMap::Attach};

// fd_array_map_alloc_check(), then array_map_alloc_check().
int PerfEventArrayMap::AllocCheck(const MapAttr& attr) {
  if (attr.value_size != sizeof(uint32_t)) return -EINVAL;
  if (attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  return ArrayMap::AllocCheck(attr);
}

PerfEventArrayMap::PerfEventArrayMap(ShmRegion region)
    : Map(std::move(region)) {
  slots_ = this->region().At<std::atomic<uint64_t>>(kSlotsOff);
}

int PerfEventArrayMap::Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                             std::unique_ptr<Map>* out) {
  const uint64_t region_size =
      kSlotsOff + uint64_t{attr.max_entries} * sizeof(uint64_t);
  ShmRegion region;
  int map_fd;
  if (int err = ShmRegion::Create("bpfemu-perf-event-array", region_size,
                                  &map_fd, &region);
      err != 0) {
    return err;
  }
  InitHeader(attr, attr.max_entries, nr_cpus, /*seed=*/0, region_size,
             region.At<MapHeader>(0));
  *fd = map_fd;
  *out = std::unique_ptr<Map>(new PerfEventArrayMap(std::move(region)));
  return 0;
}

// The header checks, alloc_check on its attributes and the region size
// recomputed; slot values are ids, looked up, never followed.
int PerfEventArrayMap::Attach(ShmRegion region, std::unique_ptr<Map>* out) {
  if (region.size() < kSlotsOff) return -EINVAL;
  auto map = std::unique_ptr<PerfEventArrayMap>(
      new PerfEventArrayMap(std::move(region)));
  if (int err = map->CheckAttachHeader(); err != 0) return err;
  const MapHeader& h = map->header();
  if (AllocCheck(AttrFromHeader(h)) != 0 ||
      h.region_size != kSlotsOff + uint64_t{h.max_entries} * sizeof(uint64_t)) {
    return -EINVAL;
  }
  *out = std::move(map);
  return 0;
}

int PerfEventArrayMap::UpdateElem(const void* key, const void* value,
                                  uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  uint32_t id;
  std::memcpy(&id, value, sizeof(id));
  slots_[index].store(id, std::memory_order_release);
  return 0;
}

// bpf_fd_array_map_update_elem(): flags, index, then
// perf_event_fd_array_get_ptr(): perf_event_get() answers EBADF for any fd
// that is not a perf event.
// The entry remembers the map file it came through (ee->map_file).
int PerfEventArrayMap::UpdateElemSys(const void* key, const void* value,
                                     uint64_t flags, int map_fd) {
  if (flags != BPF_ANY) return -EINVAL;
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  int32_t ufd;
  std::memcpy(&ufd, value, sizeof(ufd));
  std::shared_ptr<PerfEvent> ev = PerfEventFromFd(ufd);
  if (ev == nullptr) return -EBADF;
  if (ev->inherit()) return -EOPNOTSUPP;
  const uint64_t token = FileToken(map_fd, id());
  slots_[index].store(token << 32 | ev->id(), std::memory_order_release);
  return 0;
}

// perf_event_fd_array_release(): once `fd` is closed, the entries of every
// file no descriptor holds any more go (the one closed, and any released
// without a close here: a process that exited).
std::function<void()> PerfEventArrayMap::ReleaseFile(int fd) {
  {
    FileTokens& t = Tokens();
    LocalMutexLock lock(&t.mu);
    if (auto it = t.by_fd.find(fd);
        it != t.by_fd.end() && it->second.map_id == id()) {
      t.by_fd.erase(it);
    }
  }
  if ((map_flags() & BPF_F_PRESERVE_ELEMS) || read_only()) return {};
  bool any = false;
  for (uint32_t i = 0; i < max_entries() && !any; ++i) {
    any = TokenOf(slots_[i].load(std::memory_order_relaxed)) != 0;
  }
  if (!any) return {};
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  const int probe = open(self.c_str(), O_RDONLY | O_CLOEXEC);
  if (probe < 0) return {};
  return [this, probe] {
    ClearReleasedFiles(probe);
    close(probe);
  };
}

void PerfEventArrayMap::ClearReleasedFiles(int probe) {
  absl::flat_hash_map<uint32_t, bool> held;
  for (uint32_t i = 0; i < max_entries(); ++i) {
    uint64_t slot = slots_[i].load(std::memory_order_acquire);
    const uint32_t token = TokenOf(slot);
    if (token == 0 || EventOf(slot) == 0) continue;
    auto [it, fresh] = held.try_emplace(token, true);
    if (fresh) it->second = TokenHeld(probe, token);
    // Only the entry found: a newer store through a live file stays.
    if (!it->second) {
      slots_[i].compare_exchange_strong(slot, 0, std::memory_order_acq_rel);
    }
  }
}

bool PerfEventArrayMap::References(uint32_t event_id) const {
  for (uint32_t i = 0; i < max_entries(); ++i) {
    if (EventOf(slots_[i].load(std::memory_order_acquire)) == event_id) {
      return event_id != 0;
    }
  }
  return false;
}

int PerfEventArrayMap::DeleteElem(const void* key) {
  const uint32_t index = IndexOf(key);
  if (index >= max_entries()) return -E2BIG;
  if (EventOf(slots_[index].exchange(0, std::memory_order_acq_rel)) == 0) {
    return -ENOENT;
  }
  return 0;
}

int PerfEventArrayMap::GetNextKey(const void* key, void* next_key) {
  return ArrayGetNextKey(key, max_entries(), next_key);
}

long PerfEventArrayMap::Output(uint64_t flags, const void* data, uint64_t size,
                               uint32_t cur_cpu) {
  // bpf_perf_event_output: only the index bits may be set.
  if (flags & ~uint64_t{BPF_F_INDEX_MASK}) return -EINVAL;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = cur_cpu;
  if (index >= max_entries()) return -E2BIG;
  const uint32_t event = EventOf(slots_[index].load(std::memory_order_acquire));
  if (event == 0) return -ENOENT;
  std::shared_ptr<PerfEvent> ev = PerfEventFromId(event);
  if (ev == nullptr) return -ENOENT;  // an event this process cannot reach
  return ev->Output(data, size, cur_cpu);
}

long PerfEventArrayMap::Output(uint64_t flags, const void* data,
                               uint64_t size) {
  return Output(flags, data, size, CurrentCpu(nr_cpus()));
}

long PerfEventArrayMap::Read(uint64_t flags, uint64_t* value, uint64_t* enabled,
                             uint64_t* running) {
  const uint32_t cur_cpu = CurrentCpu(nr_cpus());
  if (flags & ~uint64_t{BPF_F_INDEX_MASK}) return -EINVAL;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (index == BPF_F_CURRENT_CPU) index = cur_cpu;
  if (index >= max_entries()) return -E2BIG;
  const uint32_t event = EventOf(slots_[index].load(std::memory_order_acquire));
  if (event == 0) return -ENOENT;
  std::shared_ptr<PerfEvent> ev = PerfEventFromId(event);
  if (ev == nullptr) return -ENOENT;  // an event this process cannot reach
  return ev->ReadLocal(cur_cpu, value, enabled, running);
}

}  // namespace bpfemu
