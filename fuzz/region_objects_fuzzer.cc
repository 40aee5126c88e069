// SPDX-License-Identifier: Apache-2.0
// Crafted regions of the maps that hold kernel objects (fuzz/region_fuzz.h):
// the device and CPU redirect maps, the socket arrays and the cgroup maps.
// Their slots name objects by id or inode, so a crafted slot may name one
// that is gone. The local-storage maps need value BTF to be created and are
// not among them. The configurations are numbered by their place in
// kConfigs: append only.
#include <linux/bpf.h>

#include "fuzz/region_fuzz.h"

namespace {

using bpfemu::fuzz::region::Config;

constexpr Config kConfigs[] = {
    {BPF_MAP_TYPE_DEVMAP, 4, 4, 8, 0},
    {BPF_MAP_TYPE_DEVMAP, 4, 8, 8, 0},
    {BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 8, 0},
    {BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 8, 0},
    {BPF_MAP_TYPE_CPUMAP, 4, 8, 2, 0},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, 4, 0},
    {BPF_MAP_TYPE_XSKMAP, 4, 4, 4, 0},
    {BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, 4, 0},
    {BPF_MAP_TYPE_CGROUP_STORAGE, 16, 8, 0, 0},
    {BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 16, 8, 0, 0},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return bpfemu::fuzz::region::RunRegionInput(data, size, kConfigs);
}
