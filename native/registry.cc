// SPDX-License-Identifier: Apache-2.0
// The registry of natively built BPF objects (registry.h).
#include "native/registry.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "bpfemu/native_abi.h"
#include "emu/local_mutex.h"

namespace bpfemu::native {
namespace {

// Every native object linked into the binary (filled by constructors), and
// which of them are loaded.
struct Registry {
  LocalMutex mu;
  absl::flat_hash_map<std::string, const bpfemu_object_def*> objects
      ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<const bpfemu_object_def*, bool> loaded
      ABSL_GUARDED_BY(mu);

  static Registry& Get() {
    static auto* r = new Registry;
    return *r;
  }
};

}  // namespace

const bpfemu_object_def* FindNativeObject(std::string_view name) {
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  auto it = r.objects.find(std::string(name));
  return it == r.objects.end() ? nullptr : it->second;
}

std::vector<std::string> NativeObjectNames() {
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  std::vector<std::string> names;
  for (const auto& [name, def] : r.objects) names.push_back(name);
  return names;
}

bool ClaimNativeObject(const bpfemu_object_def* def) {
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  if (r.loaded[def]) return false;
  r.loaded[def] = true;
  return true;
}

void ReleaseNativeObject(const bpfemu_object_def* def) {
  Registry& r = Registry::Get();
  LocalMutexLock l(&r.mu);
  r.loaded[def] = false;
}

}  // namespace bpfemu::native

extern "C" void bpfemu_register_object(const bpfemu_object_def* obj) {
  auto& r = bpfemu::native::Registry::Get();
  bpfemu::LocalMutexLock l(&r.mu);
  r.objects[obj->name] = obj;
}
