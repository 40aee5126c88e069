// SPDX-License-Identifier: Apache-2.0
// Crafted regions of the data-structure and ring families (fuzz/region_fuzz.h).
// The configurations are numbered by their place in kConfigs: append only.
#include <linux/bpf.h>

#include "fuzz/region_fuzz.h"

namespace {

using bpfemu::fuzz::region::Config;

constexpr Config kConfigs[] = {
    {BPF_MAP_TYPE_HASH, 4, 8, 8, 0},
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8, 0},
    {BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, 0},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 8, 0},
    {BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, BPF_F_NO_COMMON_LRU},
    {BPF_MAP_TYPE_HASH, 8, 16, 8, BPF_F_NO_PREALLOC},
    {BPF_MAP_TYPE_ARRAY, 4, 8, 8, 0},
    {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0},
    {BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE},
    {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0},
    {BPF_MAP_TYPE_SOCKMAP, 4, 4, 4, 0},
    {BPF_MAP_TYPE_SOCKHASH, 4, 4, 4, 0},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
    {BPF_MAP_TYPE_USER_RINGBUF, 0, 0, 4096, 0},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bpfemu::fuzz::region::RunRegionInput(data, size, kConfigs);
}
