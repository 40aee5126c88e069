// SPDX-License-Identifier: Apache-2.0
// File: bound_map.h
//
// Internal to the native runtime: the handle a loaded Object stores in the
// first pointer of each native map definition, so a helper called with
// `&map_def` reaches the emulated map without a lookup.

#ifndef BPFEMU_NATIVE_BOUND_MAP_H_
#define BPFEMU_NATIVE_BOUND_MAP_H_

#include <cstring>
#include <memory>
#include <string>

#include "bpfemu/native_abi.h"
#include "emu/map.h"
#include "emu/prog_array.h"
#include "emu/ringbuf.h"

namespace bpfemu::native::internal {

struct BoundMap {
  bpfemu_map_fast fast = {};  // what the map definition points to
  std::string name;
  int fd = -1;
  std::shared_ptr<Map> map;
  RingbufMap* ring = nullptr;             // RINGBUF only
  ProgArrayMap* prog_array = nullptr;     // PROG_ARRAY only
};

inline BoundMap* BoundOf(void* def) {
  bpfemu_map_fast* f;
  std::memcpy(&f, def, sizeof(f));
  return f != nullptr ? static_cast<BoundMap*>(f->impl) : nullptr;
}

// Points map definition `def` at `b` (or at nothing).
inline void Bind(void* def, BoundMap* b) {
  bpfemu_map_fast* f = b != nullptr ? &b->fast : nullptr;
  std::memcpy(def, &f, sizeof(f));
}

}  // namespace bpfemu::native::internal

#endif  // BPFEMU_NATIVE_BOUND_MAP_H_
