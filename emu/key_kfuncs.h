// SPDX-License-Identifier: Apache-2.0
// File: key_kfuncs.h
//
// kfy48: the key kfuncs of kernel/trace/bpf_trace.c: bpf_lookup_user_key,
// bpf_lookup_system_key and bpf_key_put. Shared by the interpreter
// (emu/kfunc.cc's table) and the native face (native/key_kfuncs.cc).
//
// The keys are the calling thread's, in the real kernel's key
// management: bpf_lookup_user_key asks it with keyctl(KEYCTL_GET_KEYRING_ID,
// serial, create), which runs the same lookup_user_key (the special
// keyrings KEY_SPEC_*, created with KEY_LOOKUP_CREATE; a key's serial; a
// revoked or expired key refused), as bpfemu's cgroups and sockets are the
// real ones. The kernel's kfunc defers the key's validation and the
// permission check (KEY_DEFER_PERM_CHECK) where keyctl applies them: a key
// keyctl refuses as revoked, expired or not searchable exists, and the
// kfunc finds it (measured: a revoked key). It differs for
// KEY_LOOKUP_PARTIAL, which keyctl cannot pass: bpfemu finds no key still
// under construction (or negatively instantiated). bpf_lookup_system_key takes
// the ids the kernel's system_keyring_id_check allows (0, 1
// VERIFY_USE_SECONDARY_KEYRING, 2 VERIFY_USE_PLATFORM_KEYRING).
//
// A struct bpf_key (the key, has_ref) is an allocated object of
// emu/graph_obj.h, owned by the run that looked it up until bpf_key_put;
// its `key` holds the serial (user keys) or the id (system keys), not a
// kernel pointer.

#ifndef BPFEMU_EMU_KEY_KFUNCS_H_
#define BPFEMU_EMU_KEY_KFUNCS_H_

#include <cstdint>

#include "emu/interp.h"

namespace bpfemu::keyk {

// include/linux/key.h KEY_LOOKUP_CREATE | KEY_LOOKUP_PARTIAL.
inline constexpr uint64_t kKeyLookupAll = 0x3;

// bpf_lookup_user_key(serial, flags): a new struct bpf_key, or nullptr
// (flags outside KEY_LOOKUP_ALL, no such key).
void* LookupUserKey(uint32_t serial, uint64_t flags);
// bpf_lookup_system_key(id): nullptr for an id above 2.
void* LookupSystemKey(uint64_t id);
// bpf_key_put: -EINVAL (nothing done) for a pointer that is no struct
// bpf_key the run holds (what the verifier refuses).
int KeyPut(void* bkey);
// Whether `p` is a live struct bpf_key; its serial or id and has_ref.
bool IsKey(const void* p);
uint64_t KeyOf(const void* p);
bool KeyHasRef(const void* p);

// The interpreter's bindings.
uint64_t InterpLookupUserKey(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpLookupSystemKey(interp::Vm& vm, uint64_t r1, uint64_t r2,
                               uint64_t r3, uint64_t r4, uint64_t r5);
uint64_t InterpKeyPut(interp::Vm& vm, uint64_t r1, uint64_t r2, uint64_t r3,
                      uint64_t r4, uint64_t r5);

}  // namespace bpfemu::keyk

#endif  // BPFEMU_EMU_KEY_KFUNCS_H_
