// SPDX-License-Identifier: Apache-2.0
// File: key_kfuncs.cc
//
// kfy48: the key kfuncs (key_kfuncs.h). Mirrors kernel/trace/bpf_trace.c
// (bpf_lookup_user_key, bpf_lookup_system_key, bpf_key_put) and
// include/linux/verification.h (system_keyring_id_check); the user key
// lookup is the kernel's own (security/keys/process_keys.c
// lookup_user_key, through keyctl KEYCTL_GET_KEYRING_ID).

#include "emu/key_kfuncs.h"

#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "emu/graph_obj.h"

namespace bpfemu::keyk {

namespace {

constexpr uint64_t kMagic = 0x6270666b65797321ull;  // "bpfkeys!"
// include/linux/verification.h VERIFY_USE_PLATFORM_KEYRING.
constexpr uint64_t kMaxSystemKeyring = 2;

// struct bpf_key (key, has_ref), then bpfemu's mark.
struct Key {
  uint64_t key;
  bool has_ref;
  uint8_t pad[7];
  uint64_t magic;
};

void* Make(uint64_t key, bool has_ref) {
  auto* k = static_cast<Key*>(graph::ObjNew(sizeof(Key)));
  if (k == nullptr) return nullptr;
  k->key = key;
  k->has_ref = has_ref;
  k->magic = kMagic;
  return k;
}

}  // namespace

bool IsKey(const void* p) {
  if (p == nullptr) return false;
  const auto addr = reinterpret_cast<uint64_t>(p);
  return graph::ObjectOf(addr, sizeof(Key)) == addr &&
         static_cast<const Key*>(p)->magic == kMagic;
}

uint64_t KeyOf(const void* p) { return static_cast<const Key*>(p)->key; }
bool KeyHasRef(const void* p) { return static_cast<const Key*>(p)->has_ref; }

void* LookupUserKey(uint32_t serial, uint64_t flags) {
  if ((flags & ~kKeyLookupAll) != 0) return nullptr;
  // The serial is the kernel's key_serial_t (int32): the special keyrings
  // are negative.
  const long id =
      syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
              static_cast<long>(static_cast<int32_t>(serial)), flags & 1);
  if (id >= 0) return Make(static_cast<uint64_t>(id), true);
  // keyctl validates the key and checks search permission; the kfunc's
  // lookup defers both (KEY_DEFER_PERM_CHECK: measured on 6.18, a revoked
  // key is found). These errors come only for a key that exists.
  if (errno == EKEYREVOKED || errno == EKEYEXPIRED || errno == EACCES) {
    return Make(serial, true);
  }
  return nullptr;
}

void* LookupSystemKey(uint64_t id) {
  if (id > kMaxSystemKeyring) return nullptr;
  return Make(id, false);
}

int KeyPut(void* bkey) {
  if (!IsKey(bkey)) return -EINVAL;
  return graph::ObjDrop(bkey);
}

uint64_t InterpLookupUserKey(interp::Vm&, uint64_t r1, uint64_t r2, uint64_t,
                             uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(
      LookupUserKey(static_cast<uint32_t>(r1), r2));
}

uint64_t InterpLookupSystemKey(interp::Vm&, uint64_t r1, uint64_t, uint64_t,
                               uint64_t, uint64_t) {
  return reinterpret_cast<uint64_t>(LookupSystemKey(r1));
}

uint64_t InterpKeyPut(interp::Vm& vm, uint64_t r1, uint64_t, uint64_t, uint64_t,
                      uint64_t) {
  if (KeyPut(reinterpret_cast<void*>(r1)) != 0) {
    vm.Fault("bpf_key_put: R1 must be a struct bpf_key the program holds");
  }
  return 0;
}

}  // namespace bpfemu::keyk
