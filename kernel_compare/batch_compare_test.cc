// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel: batch cursor walks with every count from 1 to
// max_entries + 1, on HASH (prealloc and not), PERCPU_HASH, LRU_HASH,
// LRU_PERCPU_HASH (per-CPU lists), ARRAY and PERCPU_ARRAY. A walk starts at
// NULL and feeds each out_batch back as the next in_batch until the walk
// ends or fails; every call's return code, count, cursor, keys and values
// must be identical. lookup_and_delete walks run on a fresh copy of the map
// and must leave the same contents. Needs bpf(): tagged "local", skipped
// with a one-line reason without permission.
#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "kernel_compare/differ.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

struct Spec {
  uint32_t type;
  uint32_t flags;
  uint32_t max_entries;
  uint32_t fill;  // keys inserted (0 .. fill-1, scrambled)
};

// Fills a fresh map: keys k * 2654435761 (spread across buckets), values
// derived from the key.
int MakeMap(Backend& b, const Spec& s, uint32_t value_bytes) {
  MapAttr a;
  a.map_type = s.type;
  a.key_size = 4;
  a.value_size = 12;
  a.max_entries = s.max_entries;
  a.map_flags = s.flags;
  int fd = b.CreateMap(a);
  if (fd < 0) return fd;
  for (uint32_t i = 0; i < s.fill; ++i) {
    uint32_t k =
        s.type == BPF_MAP_TYPE_ARRAY || s.type == BPF_MAP_TYPE_PERCPU_ARRAY
            ? i
            : i * 2654435761u;
    std::vector<uint8_t> v(value_bytes);
    for (uint32_t j = 0; j < value_bytes; ++j) v[j] = uint8_t(k * 7 + j);
    EXPECT_EQ(b.Update(fd, &k, v.data(), BPF_ANY), 0);
  }
  return fd;
}

// The transcript of one walk: one line per call.
std::string Walk(Backend& b, int fd, uint32_t count, bool del,
                 uint32_t value_bytes) {
  std::string log;
  std::vector<uint32_t> keys(count);
  std::vector<uint8_t> values(size_t{count} * value_bytes);
  uint32_t cursor = 0;
  bool first = true;
  for (int call = 0; call < 1000; ++call) {
    uint32_t out = 0xdddddddd, n = count;
    std::fill(keys.begin(), keys.end(), 0xeeeeeeee);
    std::fill(values.begin(), values.end(), 0xee);
    const void* in = first ? nullptr : &cursor;
    int ret =
        del ? b.LookupAndDeleteBatch(fd, in, &out, keys.data(), values.data(),
                                     &n, 0, 0)
            : b.LookupBatch(fd, in, &out, keys.data(), values.data(), &n, 0, 0);
    log += absl::StrFormat("ret=%d count=%u out=%#x:", ret, n, out);
    for (uint32_t i = 0; i < n && i < count; ++i) {
      log += absl::StrFormat(" %08x=", keys[i]);
      for (uint32_t j = 0; j < value_bytes; ++j) {
        log += absl::StrFormat("%02x", values[size_t{i} * value_bytes + j]);
      }
    }
    log += "\n";
    if (ret != 0) break;
    cursor = out;
    first = false;
  }
  return log;
}

class BatchCompare : public KernelTest<> {
 protected:
};

TEST_F(BatchCompare, CursorWalksWithEveryCount) {
  Backend& emu = EmuBackend::Get();
  Backend& kernel = KernelBackend::Get();
  const int ncpus = emu.NumPossibleCpus();
  const Spec specs[] = {
      {BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED, 48, 40},
      {BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, 48, 40},
      {BPF_MAP_TYPE_HASH, BPF_F_ZERO_SEED, 8, 8},
      {BPF_MAP_TYPE_PERCPU_HASH, BPF_F_ZERO_SEED, 32, 25},
      {BPF_MAP_TYPE_LRU_HASH, BPF_F_ZERO_SEED, 48, 40},
      {BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU, 32,
       30},
      {BPF_MAP_TYPE_ARRAY, 0, 20, 20},
      {BPF_MAP_TYPE_PERCPU_ARRAY, 0, 12, 12},
  };
  int walks = 0;
  // LRU inserts depend on the CPU: run everything on CPU 0.
  ASSERT_EQ(emu.PinCpu(0), 0);
  ASSERT_EQ(kernel.PinCpu(0), 0);
  for (const Spec& s : specs) {
    MapAttr a;
    a.map_type = s.type;
    a.value_size = 12;
    const uint32_t vbytes = SyscallValueSize(a, ncpus);
    for (uint32_t count = 1; count <= s.max_entries + 1; ++count) {
      for (bool del : {false, true}) {
        int fe = MakeMap(emu, s, vbytes), fk = MakeMap(kernel, s, vbytes);
        ASSERT_GE(fe, 0);
        ASSERT_GE(fk, 0);
        std::string we = Walk(emu, fe, count, del, vbytes);
        std::string wk = Walk(kernel, fk, count, del, vbytes);
        EXPECT_EQ(we, wk) << "type " << s.type << " flags " << s.flags
                          << " max " << s.max_entries << " count " << count
                          << (del ? " lookup_and_delete" : " lookup");
        // What a lookup_and_delete walk left behind must agree too.
        EXPECT_EQ(Walk(emu, fe, s.max_entries + 1, false, vbytes),
                  Walk(kernel, fk, s.max_entries + 1, false, vbytes));
        emu.Close(fe);
        kernel.Close(fk);
        ++walks;
      }
    }
  }
  emu.PinCpu(-1);
  kernel.PinCpu(-1);
  RecordProperty("walks", walks);
}

}  // namespace
}  // namespace bpfemu
