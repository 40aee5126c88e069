// SPDX-License-Identifier: Apache-2.0
// Operation sequences on one small map of each emulated type: syscall and
// program-face operations with arbitrary keys, values and flags, on
// arbitrary emulated CPUs, plus batch calls with arbitrary counts and
// cursors. Checks: no crash, results are 0 or a negative errno, and a map
// never holds more than max_entries keys.
#include <linux/bpf.h>

#include <cstring>
#include <memory>
#include <vector>

#include "emu/cpu.h"
#include "emu/map.h"
#include "emu/syscall.h"
#include "fuzz/fuzz_input.h"

namespace {

struct Target {
  int fd;
  std::shared_ptr<bpfemu::Map> map;
};

bool ValidResult(int r) { return r <= 0 && r > -4096; }

uint32_t CountKeys(const Target& t) {
  std::vector<uint8_t> key(t.map->key_size()), next(t.map->key_size());
  uint32_t n = 0;
  const void* prev = nullptr;
  while (n <= t.map->max_entries() + 1 &&
         bpfemu::MapGetNextKey(t.fd, prev, next.data()) == 0) {
    key = next;
    prev = key.data();
    ++n;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bpfemu::fuzz::FuzzInput in(data, size);
  bpfemu::SetNumPossibleCpus(2);
  static const uint32_t kTypes[] = {
      BPF_MAP_TYPE_HASH,        BPF_MAP_TYPE_ARRAY,
      BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
      BPF_MAP_TYPE_LRU_HASH,    BPF_MAP_TYPE_LRU_PERCPU_HASH,
      BPF_MAP_TYPE_LPM_TRIE};
  std::vector<Target> maps;
  for (uint32_t type : kTypes) {
    bpfemu::MapAttr attr;
    attr.map_type = type;
    const bool lpm = type == BPF_MAP_TYPE_LPM_TRIE;
    attr.key_size =
        type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY ? 4
        : lpm ? 5 + in.Below(12)  // a prefixlen and 1..12 data bytes
              : 1 + in.Below(12);
    attr.value_size = 1 + in.Below(24);
    attr.max_entries = 1 + in.Below(16);
    const uint8_t f = in.Get<uint8_t>();
    if ((f & 1) && type != BPF_MAP_TYPE_ARRAY &&
        type != BPF_MAP_TYPE_PERCPU_ARRAY && type != BPF_MAP_TYPE_LRU_HASH &&
        type != BPF_MAP_TYPE_LRU_PERCPU_HASH) {
      attr.map_flags |= BPF_F_NO_PREALLOC;
    }
    if ((f & 2) && (type == BPF_MAP_TYPE_LRU_HASH ||
                    type == BPF_MAP_TYPE_LRU_PERCPU_HASH)) {
      attr.map_flags |= BPF_F_NO_COMMON_LRU;
    }
    if (f & 4) attr.map_flags |= BPF_F_ZERO_SEED;
    if (lpm) attr.map_flags = BPF_F_NO_PREALLOC;  // the only way to make one
    const int fd = bpfemu::MapCreate(attr);
    if (fd < 0) continue;
    maps.push_back({fd, bpfemu::MapFromFd(fd)});
  }
  std::vector<uint8_t> buf(64 * 1024);
  for (int step = 0; step < 256 && !in.empty() && !maps.empty(); ++step) {
    const Target& t = maps[in.Below(static_cast<uint32_t>(maps.size()))];
    bpfemu::ScopedCpu cpu(static_cast<int>(in.Below(2)));
    const uint32_t ks = t.map->key_size();
    std::vector<uint8_t> key = in.Bytes(ks);
    // Small key values collide and fill the map (an LPM key: a small
    // prefixlen, sometimes past the data bits).
    if (ks > 0 && in.Bool()) {
      std::memset(key.data(), 0, ks);
      key[0] = static_cast<uint8_t>(in.Below(24));
      if (t.map->type() == BPF_MAP_TYPE_LPM_TRIE && ks > 4) {
        key[4] = static_cast<uint8_t>(in.Below(4) << 6);
      }
    }
    const uint64_t flags =
        in.Bool() ? in.Get<uint64_t>() : in.Get<uint8_t>() % 6;
    std::vector<uint8_t> value = in.Bytes(t.map->SyscallValueSize());
    int r = 0;
    switch (in.Below(11)) {
      case 0:
        r = bpfemu::MapUpdateElem(t.fd, key.data(), value.data(), flags);
        break;
      case 1:
        r = bpfemu::MapLookupElem(t.fd, key.data(), buf.data(), flags);
        break;
      case 2:
        r = bpfemu::MapDeleteElem(t.fd, key.data());
        break;
      case 3:
        r = bpfemu::MapGetNextKey(t.fd, in.Bool() ? key.data() : nullptr,
                                  buf.data());
        break;
      case 4:
        r = bpfemu::MapLookupAndDeleteElem(t.fd, key.data(), buf.data(), flags);
        break;
      case 5: {
        // Program face: the pointer stays inside the value area.
        if (void* p = t.map->LookupElemProg(key.data())) {
          std::memset(p, 0xab, t.map->value_size());
        }
        break;
      }
      case 6:
        r = t.map->UpdateElemProg(key.data(), value.data(), flags);
        break;
      case 7:
        r = t.map->DeleteElemProg(key.data());
        break;
      case 8:
      case 9: {
        // Batch calls: arbitrary capacity (bounded by our buffers) and
        // cursor; keys and values buffers sized for that capacity.
        uint32_t count = in.Below(40);
        std::vector<uint8_t> keys(count * ks + 8),
            values(count * t.map->SyscallValueSize() + 8);
        // A cursor is a bucket index (hash), an index (array) or a key
        // (generic batches: LPM), so both buffers hold any key.
        uint8_t cursor[64] = {}, out[64] = {};
        const uint32_t start = in.Get<uint32_t>() % 40;
        std::memcpy(cursor, &start, sizeof(start));
        const uint64_t elem_flags = in.Bool() ? BPF_F_LOCK : 0;
        const uint64_t bflags = in.Bool() ? in.Get<uint64_t>() : 0;
        switch (in.Below(4)) {
          case 0:
            r = bpfemu::MapLookupBatch(t.fd, in.Bool() ? cursor : nullptr, out,
                                       keys.data(), values.data(), &count,
                                       elem_flags, bflags);
            break;
          case 1:
            r = bpfemu::MapLookupAndDeleteBatch(
                t.fd, in.Bool() ? cursor : nullptr, out, keys.data(),
                values.data(), &count, elem_flags, bflags);
            break;
          case 2:
            r = bpfemu::MapUpdateBatch(t.fd, keys.data(), values.data(), &count,
                                       elem_flags, bflags);
            break;
          default:
            r = bpfemu::MapDeleteBatch(t.fd, keys.data(), &count, elem_flags,
                                       bflags);
            break;
        }
        break;
      }
      default:
        r = bpfemu::InjectFaults(t.fd, in.Get<uint8_t>() & 0x3f, in.Below(3),
                                 -ENOMEM);
        break;
    }
    FUZZ_CHECK(ValidResult(r));
    FUZZ_CHECK(CountKeys(t) <= t.map->max_entries());
  }
  for (const Target& t : maps) bpfemu::CloseFd(t.fd);
  return 0;
}
