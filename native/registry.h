// SPDX-License-Identifier: Apache-2.0
// File: registry.h
//
// The natively built BPF objects linked into this binary. The bpf_object()
// rule's generated code registers each object's definition from a
// constructor (bpfemu_register_object, bpfemu/native_abi.h); the loader
// (loader/object.h, Object::Open) finds them here by name. The kernel has
// no counterpart: it is what libbpf's bpf_object__open_file does for a
// program that was compiled into the process instead of into a .bpf.o.

#ifndef BPFEMU_NATIVE_REGISTRY_H_
#define BPFEMU_NATIVE_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

struct bpfemu_object_def;

namespace bpfemu::native {

// The object registered as `name` ("counter" for counter.bpf.c), or nullptr.
const bpfemu_object_def* FindNativeObject(std::string_view name);
// The names of every registered object.
std::vector<std::string> NativeObjectNames();
// A native object's globals (its map definitions) exist once per process,
// so one Object per source may be loaded at a time: Claim answers false if
// `def` is loaded already, else marks it loaded until Release.
bool ClaimNativeObject(const bpfemu_object_def* def);
void ReleaseNativeObject(const bpfemu_object_def* def);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_REGISTRY_H_
