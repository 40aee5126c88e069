// SPDX-License-Identifier: Apache-2.0
// Operation mix through the syscall face, for instruction counts before and
// after a structural change (built against each commit's emu/ by
// build_at.sh; docs/performance.md): 8 rounds of 65,536 updates, lookups
// and a get_next_key walk on a HASH (BPF_F_ZERO_SEED), an ARRAY or an
// LRU_HASH ("lru", BPF_F_ZERO_SEED: every update pops a node, replacing or
// evicting, so the LRU list sections run on each one).
#include <linux/bpf.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include "emu/syscall.h"
int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "hash";
  const uint32_t n = 65536, rounds = 8;
  bpfemu::MapAttr a{};
  const bool hashed = which[0] == 'h' || which[0] == 'l';
  a.map_type = which[0] == 'h'   ? BPF_MAP_TYPE_HASH
               : which[0] == 'l' ? BPF_MAP_TYPE_LRU_HASH
                                 : BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = n;
  a.map_flags = hashed ? BPF_F_ZERO_SEED : 0;
  int fd = bpfemu::MapCreate(a);
  if (fd < 0) {
    std::fprintf(stderr, "create %d\n", fd);
    return 1;
  }
  uint64_t sum = 0;
  for (uint32_t r = 0; r < rounds; ++r) {
    for (uint32_t k = 0; k < n; ++k) {
      uint64_t v = k + r;
      if (bpfemu::MapUpdateElem(fd, &k, &v, BPF_ANY)) return 2;
    }
    for (uint32_t k = 0; k < n; ++k) {
      uint64_t v;
      if (bpfemu::MapLookupElem(fd, &k, &v) == 0) sum += v;
    }
    uint32_t key, next;
    const void* prev = nullptr;
    uint32_t walked = 0;
    while (bpfemu::MapGetNextKey(fd, prev, &next) == 0) {
      key = next;
      prev = &key;
      ++walked;
    }
    sum += walked;
  }
  std::printf("%s ops=%u sum=%llu\n", which, n * rounds * 3,
              (unsigned long long)sum);
  return 0;
}
