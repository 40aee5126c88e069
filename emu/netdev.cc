// SPDX-License-Identifier: Apache-2.0
#include "emu/netdev.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <map>
#include <utility>

#include "emu/local_mutex.h"

namespace bpfemu {
namespace {

// One process's devices and unregister listeners. Listeners run without the
// table's lock held, so they may look devices up.
class NetdevTable {
 public:
  static NetdevTable& Get() {
    static auto* t = new NetdevTable;
    return *t;
  }

  int Add(std::string_view name, uint32_t ifindex) {
    if (!ValidName(name)) return -EINVAL;
    if (ifindex > INT_MAX) return -EINVAL;
    LocalMutexLock l(&mu_);
    for (const auto& [index, dev] : devs_) {
      if (dev.name == name) return -EEXIST;
    }
    if (ifindex == 0) {
      // xa_alloc_cyclic from the last index handed out, within [1, INT_MAX].
      uint32_t candidate = last_;
      for (;;) {
        candidate = candidate >= INT_MAX ? 1 : candidate + 1;
        if (!devs_.contains(candidate)) break;
        if (candidate == last_) return -EBUSY;
      }
      ifindex = candidate;
      last_ = candidate;
    } else if (devs_.contains(ifindex)) {
      return -EBUSY;
    }
    devs_[ifindex] = Netdev{.ifindex = ifindex, .name = std::string(name)};
    return static_cast<int>(ifindex);
  }

  int SetMtu(uint32_t ifindex, uint32_t mtu) {
    LocalMutexLock l(&mu_);
    auto it = devs_.find(ifindex);
    if (it == devs_.end()) return -ENODEV;
    it->second.mtu = mtu;
    return 0;
  }

  int Remove(uint32_t ifindex) {
    std::vector<std::function<void(uint32_t)>> listeners;
    {
      LocalMutexLock l(&mu_);
      if (ifindex == kLoopbackIfindex) return -EPERM;
      if (!devs_.contains(ifindex)) return -ENODEV;
      for (const auto& [token, fn] : listeners_) listeners.push_back(fn);
    }
    // NETDEV_UNREGISTER: the maps drop the device while it still exists.
    for (const auto& fn : listeners) fn(ifindex);
    LocalMutexLock l(&mu_);
    devs_.erase(ifindex);
    return 0;
  }

  void Reset() {
    std::vector<uint32_t> indexes;
    {
      LocalMutexLock l(&mu_);
      for (const auto& [index, dev] : devs_) {
        if (index != kLoopbackIfindex) indexes.push_back(index);
      }
    }
    for (uint32_t index : indexes) (void)Remove(index);
    LocalMutexLock l(&mu_);
    last_ = kLoopbackIfindex;
  }

  std::optional<Netdev> Find(uint32_t ifindex) {
    LocalMutexLock l(&mu_);
    auto it = devs_.find(ifindex);
    if (it == devs_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<Netdev> All() {
    LocalMutexLock l(&mu_);
    std::vector<Netdev> out;
    for (const auto& [index, dev] : devs_) out.push_back(dev);
    return out;
  }

  uint64_t AddListener(std::function<void(uint32_t)> fn) {
    LocalMutexLock l(&mu_);
    const uint64_t token = ++last_listener_;
    listeners_[token] = std::move(fn);
    return token;
  }

  void RemoveListener(uint64_t token) {
    LocalMutexLock l(&mu_);
    listeners_.erase(token);
  }

 private:
  NetdevTable() {
    devs_[kLoopbackIfindex] =
        Netdev{.ifindex = kLoopbackIfindex, .name = "lo", .mtu = kLoopbackMtu};
  }

  // net/core/dev.c dev_valid_name().
  static bool ValidName(std::string_view name) {
    if (name.empty() || name.size() >= kIfNameSize) return false;
    if (name == "." || name == "..") return false;
    for (char c : name) {
      if (c == '/' || c == ':' || c == '\0' ||
          std::isspace(static_cast<unsigned char>(c))) {
        return false;
      }
    }
    return true;
  }

  LocalMutex mu_;
  std::map<uint32_t, Netdev> devs_ ABSL_GUARDED_BY(mu_);
  uint32_t last_ ABSL_GUARDED_BY(mu_) = kLoopbackIfindex;
  std::map<uint64_t, std::function<void(uint32_t)>> listeners_
      ABSL_GUARDED_BY(mu_);
  uint64_t last_listener_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

int NetdevAdd(std::string_view name, uint32_t ifindex) {
  return NetdevTable::Get().Add(name, ifindex);
}

int NetdevSetMtu(uint32_t ifindex, uint32_t mtu) {
  return NetdevTable::Get().SetMtu(ifindex, mtu);
}
int NetdevRemove(uint32_t ifindex) {
  return NetdevTable::Get().Remove(ifindex);
}
void NetdevReset() { NetdevTable::Get().Reset(); }
std::optional<Netdev> NetdevByIndex(uint32_t ifindex) {
  return NetdevTable::Get().Find(ifindex);
}
bool NetdevExists(uint32_t ifindex) {
  return NetdevTable::Get().Find(ifindex).has_value();
}
std::vector<Netdev> Netdevs() { return NetdevTable::Get().All(); }
uint64_t NetdevAddListener(std::function<void(uint32_t)> fn) {
  return NetdevTable::Get().AddListener(std::move(fn));
}
void NetdevRemoveListener(uint64_t token) {
  NetdevTable::Get().RemoveListener(token);
}

int NetdevOffloadCheck(uint32_t ifindex) {
  return NetdevExists(ifindex) ? -EOPNOTSUPP : -EINVAL;
}

}  // namespace bpfemu
