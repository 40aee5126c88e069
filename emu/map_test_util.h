// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the map families' unit tests.
#ifndef BPFEMU_EMU_MAP_TEST_UTIL_H_
#define BPFEMU_EMU_MAP_TEST_UTIL_H_

#include <vector>

#include "emu/syscall.h"

namespace bpfemu {

// The keys of map `fd` in BPF_MAP_GET_NEXT_KEY order, from the start.
template <typename Key>
std::vector<Key> NextKeyWalk(int fd) {
  std::vector<Key> keys;
  Key cur, next;
  const void* prev = nullptr;
  while (MapGetNextKey(fd, prev, &next) == 0) {
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  return keys;
}

}  // namespace bpfemu

#endif  // BPFEMU_EMU_MAP_TEST_UTIL_H_
