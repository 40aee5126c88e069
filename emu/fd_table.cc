// SPDX-License-Identifier: Apache-2.0
// File: fd_table.cc

#include "emu/fd_table.h"

#include <cerrno>
#include <utility>

#include "emu/errno.h"

namespace bpfemu {

int FdTable::Insert(int fd, FdEntry entry) {
  if (fd < 0 || fd >= kMaxFd) return -EMFILE;
  std::vector<FdEntry*> dead;
  {
    LocalMutexLock l(&mu_);
    std::atomic<Chunk*>& chunk = chunks_[fd >> kChunkBits];
    if (chunk.load(std::memory_order_relaxed) == nullptr) {
      chunk.store(new Chunk, std::memory_order_release);
    }
    auto* fresh = new FdEntry(std::move(entry));
    FdEntry* old = Slot(fd)->exchange(fresh, std::memory_order_acq_rel);
    SlotChanged();
    live_[fd] = fresh;
    if (old != nullptr) {
      retired_.push_back(old);
      dead = CollectLocked();
    }
  }
  Delete(std::move(dead));
  return 0;
}

// No free hazard slot, or no entry: a counted copy, or the errno.
int FdTable::BorrowSlow(int fd, FdRef* ref) {
  if (!ref->guard_.ok() && Find(fd, &ref->owned_) == 0) {
    ref->entry_ = &ref->owned_;
    return 0;
  }
  ref->entry_ = nullptr;
  return WrongFdErrno(fd);
}

int FdTable::Find(int fd, FdEntry* out) {
  {
    LocalMutexLock l(&mu_);
    if (auto it = live_.find(fd); it != live_.end()) {
      *out = *it->second;
      return 0;
    }
  }
  return WrongFdErrno(fd);
}

bool FdTable::Erase(int fd) {
  std::vector<FdEntry*> dead;
  {
    LocalMutexLock l(&mu_);
    auto it = live_.find(fd);
    if (it == live_.end()) return false;
    live_.erase(it);
    retired_.push_back(Slot(fd)->exchange(nullptr, std::memory_order_acq_rel));
    SlotChanged();
    dead = CollectLocked();
  }
  Delete(std::move(dead));
  return true;
}

bool FdTable::FindById(uint32_t id, int* fd, FdEntry* out) {
  LocalMutexLock l(&mu_);
  for (const auto& [f, e] : live_) {
    if (e->map->id() == id) {
      *fd = f;
      *out = *e;
      return true;
    }
  }
  return false;
}

uint32_t FdTable::NextId(uint32_t start) {
  LocalMutexLock l(&mu_);
  uint32_t best = 0;
  for (const auto& [f, e] : live_) {
    const uint32_t id = e->map->id();
    if (id > start && (best == 0 || id < best)) best = id;
  }
  return best;
}

std::vector<FdEntry*> FdTable::CollectLocked() {
  hazard::Synchronize();
  const auto held = hazard::Protected();
  std::vector<FdEntry*> dead;
  auto keep = retired_.begin();
  for (FdEntry* e : retired_) {
    if (held.contains(e)) {
      *keep++ = e;
    } else {
      dead.push_back(e);
    }
  }
  retired_.erase(keep, retired_.end());
  pending_.store(!retired_.empty(), std::memory_order_relaxed);
  return dead;
}

void FdTable::Reclaim() {
  std::vector<FdEntry*> dead;
  {
    LocalMutexLock l(&mu_);
    if (retired_.empty()) return;
    dead = CollectLocked();
  }
  Delete(std::move(dead));
}

void FdTable::Delete(std::vector<FdEntry*> entries) {
  for (FdEntry* e : entries) delete e;
}

}  // namespace bpfemu
