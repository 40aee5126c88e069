// SPDX-License-Identifier: Apache-2.0
// File: map_types.h
//
// The registry of emulated map types, mirroring include/linux/bpf_types.h
// (BPF_MAP_TYPE(type, ops) lines) and find_and_alloc_map() in
// kernel/bpf/syscall.c: one operations table (map.h MapOps) per
// BPF_MAP_TYPE_*. A type without an entry is answered as a kernel built
// without it answers: EINVAL at create, and a region naming it is refused at
// attach.
//
// Adding a map family: its .h/.cc pair (a Map subclass and its MapOps), its
// test, and one line in map_types.cc.

#ifndef BPFEMU_EMU_MAP_TYPES_H_
#define BPFEMU_EMU_MAP_TYPES_H_

#include <cstdint>

#include "emu/map.h"

namespace bpfemu {

// The operations of `map_type`, or nullptr.
const MapOps* MapOpsFor(uint32_t map_type);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_MAP_TYPES_H_
