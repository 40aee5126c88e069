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

#include "emu/map.h"
#include "emu/prog_array.h"
#include "emu/ringbuf.h"

namespace bpfemu::native::internal {

struct BoundMap {
  std::string name;
  int fd = -1;
  std::shared_ptr<Map> map;
  RingbufMap* ring = nullptr;             // RINGBUF only
  ProgArrayMap* prog_array = nullptr;     // PROG_ARRAY only
};

inline BoundMap* BoundOf(void* def) {
  BoundMap* b;
  std::memcpy(&b, def, sizeof(b));
  return b;
}

inline void Bind(void* def, BoundMap* b) { std::memcpy(def, &b, sizeof(b)); }

}  // namespace bpfemu::native::internal

#endif  // BPFEMU_NATIVE_BOUND_MAP_H_
