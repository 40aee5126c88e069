// SPDX-License-Identifier: Apache-2.0
#include "kernel_compare/memlock_compare.h"

#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "emu/kernel_btf.h"
#include "emu/struct_ops_map.h"
#include "emu/syscall.h"
#include "emu/version.h"
#include "testing/calibrate.h"
#include "testing/emu_backend.h"
#include "testing/kernel_backend.h"

namespace bpfemu {

std::string DescribeMemlockCase(const MemlockCase& c) {
  if (c.struct_ops != nullptr) {
    return absl::StrFormat("type %u (%s) flags %#x", c.type, c.struct_ops,
                           c.flags);
  }
  return absl::StrFormat("type %u key %u value %u max %u flags %#x inserts %u",
                         c.type, c.key_size, c.value_size, c.max_entries,
                         c.flags, c.inserts);
}

std::vector<MemlockCase> MemlockCases() {
  std::vector<MemlockCase> cases;
  const uint32_t sizes[] = {1, 4, 100, 1000, 4096, 65536};
  const uint32_t values[] = {8, 100};
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH,
                        BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY}) {
    for (uint32_t max : sizes) {
      for (uint32_t value : values) {
        cases.push_back({type, 4, value, max, 0, 0});
      }
    }
  }
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) {
    for (uint32_t max : {1u, 100u, 4096u}) {
      for (uint32_t inserts : {0u, 1u, 37u}) {
        cases.push_back(
            {type, 16, 24, max, BPF_F_NO_PREALLOC, std::min(inserts, max)});
      }
    }
  }
  cases.push_back({BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, BPF_F_NO_COMMON_LRU, 0});
  cases.push_back({BPF_MAP_TYPE_HASH, 13, 3, 333, 0, 5});
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_ARRAY, 4, 24, max, BPF_F_MMAPABLE, 0});
    cases.push_back({BPF_MAP_TYPE_PROG_ARRAY, 4, 4, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_CGROUP_ARRAY, 4, 4, max, 0, 0});
  }
  // Cgroup storages charge the map struct only (cgroup_storage_map_usage).
  for (uint32_t value : {1u, 100u, 4096u}) {
    cases.push_back({BPF_MAP_TYPE_CGROUP_STORAGE, 16, value, 0, 0, 0});
    cases.push_back({BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 8, value, 0, 0, 0});
  }
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_SOCKMAP, 4, 8, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_SOCKHASH, 12, 8, max, 0, 0});
  }
  // Empty: their elements are sockets (an XSKMAP's used slots add a node
  // each: emu/xsk_map_test.cc).
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 4, 8, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_XSKMAP, 4, 4, max, 0, 0});
  }
  for (uint32_t max : sizes) {
    cases.push_back({BPF_MAP_TYPE_QUEUE, 0, 8, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_STACK, 0, 100, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, max, 0, 0});
    cases.push_back({BPF_MAP_TYPE_STACK_TRACE, 4, 8 * 16, max, 0, 0});
    cases.push_back(
        {BPF_MAP_TYPE_STACK_TRACE, 4, 32 * 3, max, BPF_F_STACK_BUILD_ID, 0});
  }
  // LPM_TRIE charges per entry only (trie_mem_usage); insert i is the
  // prefix of length i over zero data, so up to data bits + 1 of them.
  for (uint32_t max : {1u, 100u, 4096u}) {
    for (uint32_t inserts : {0u, 1u, 33u}) {
      cases.push_back({BPF_MAP_TYPE_LPM_TRIE, 8, 8, max, BPF_F_NO_PREALLOC,
                       std::min(inserts, max)});
    }
    cases.push_back({BPF_MAP_TYPE_LPM_TRIE, 20, 13, max, BPF_F_NO_PREALLOC,
                     std::min(100u, max)});
  }
  // Local storage charges the map and its buckets only
  // (bpf_local_storage_map_mem_usage): elements, inserted under sockets,
  // pidfds or files, are not counted.
  for (uint32_t type :
       {uint32_t{BPF_MAP_TYPE_SK_STORAGE}, uint32_t{BPF_MAP_TYPE_TASK_STORAGE},
        uint32_t{BPF_MAP_TYPE_INODE_STORAGE}, kBpfMapTypeCgrpStorage}) {
    // CGRP_STORAGE came with 6.2: a 6.1 kernel refuses it (so does the
    // emulator at 6.1), so it has no charge to compare there.
    if (type == kBpfMapTypeCgrpStorage &&
        TargetKernel() == KernelVersion::k6_1) {
      continue;
    }
    for (uint32_t value : {1u, 8u, 4000u}) {
      cases.push_back({type, 4, value, 0, BPF_F_NO_PREALLOC,
                       type == BPF_MAP_TYPE_SK_STORAGE ? 3u : 0u});
    }
  }
  // Device maps charge their entries (lo, ifindex 1, under keys 0..n-1);
  // a CPU map charges only its slots.
  for (uint32_t max : {1u, 4u, 100u, 4096u}) {
    for (uint32_t inserts : {0u, 1u, 3u}) {
      cases.push_back(
          {BPF_MAP_TYPE_DEVMAP, 4, 8, max, 0, std::min(inserts, max)});
      cases.push_back(
          {BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, max, 0, std::min(inserts, max)});
    }
    cases.push_back({BPF_MAP_TYPE_CPUMAP, 4, 8, std::min(max, 256u), 0, 0});
  }
  for (uint32_t pages : {1u, 2u, 16u, 64u}) {
    cases.push_back({BPF_MAP_TYPE_RINGBUF, 0, 0, pages * 4096, 0, 0});
    cases.push_back({BPF_MAP_TYPE_USER_RINGBUF, 0, 0, pages * 4096, 0, 0});
  }
  // STRUCT_OPS (bpf_struct_ops_map_mem_usage): every type the target
  // version registers whose value struct the kernel BTF has, plain and (6.4
  // on) with BPF_F_LINK.
  if (const KernelBtf* btf = KernelBtf::Get(); btf != nullptr) {
    size_t n = 0;
    const StructOpsType* types = StructOpsTypes(&n);
    for (size_t i = 0; i < n; ++i) {
      if (TargetKernel() < types[i].since ||
          btf->FindByNameKind(std::string("bpf_struct_ops_") + types[i].name,
                              BTF_KIND_STRUCT) <= 0) {
        continue;
      }
      cases.push_back({BPF_MAP_TYPE_STRUCT_OPS, 4, 0, 1, 0, 0, types[i].name});
      if (TargetKernel() >= KernelVersion::k6_12) {
        cases.push_back(
            {BPF_MAP_TYPE_STRUCT_OPS, 4, 0, 1, kBpfFLink, 0, types[i].name});
      }
    }
  }
  return cases;
}

MemlockResult CompareMemlockCase(const MemlockCase& c) {
  KernelBackend& kernel = KernelBackend::Get();
  MemlockResult r;
  MapAttr attr;
  attr.map_type = c.type;
  attr.key_size = c.key_size;
  attr.value_size = c.value_size;
  attr.max_entries = c.max_entries;
  attr.map_flags = c.flags;
  const bool storage = c.type == BPF_MAP_TYPE_SK_STORAGE ||
                       c.type == BPF_MAP_TYPE_TASK_STORAGE ||
                       c.type == BPF_MAP_TYPE_INODE_STORAGE ||
                       c.type == kBpfMapTypeCgrpStorage;
  MapAttr kattr = attr, eattr = attr;
  int kbtf = -1, ebtf = -1;
  if (storage) {
    kbtf = LoadLocalStorageBtf(
        [&](const void* b, uint32_t n) { return kernel.LoadBtf(b, n); },
        &kattr);
    ebtf = LoadLocalStorageBtf(
        [](const void* b, uint32_t n) {
          return EmuBackend::Get().LoadBtf(b, n);
        },
        &eattr);
  }
  if (c.struct_ops != nullptr) {
    kbtf = LoadStructOpsBtf(
        [&](const void* b, uint32_t n) { return kernel.LoadBtf(b, n); },
        c.struct_ops, &kattr);
    ebtf = LoadStructOpsBtf(
        [](const void* b, uint32_t n) {
          return EmuBackend::Get().LoadBtf(b, n);
        },
        c.struct_ops, &eattr);
  }
  const int kfd = kernel.CreateMap(kattr);
  const int efd = MapCreate(eattr);
  if (kbtf >= 0) kernel.Close(kbtf);
  if (ebtf >= 0) (void)CloseFd(ebtf);
  // SK_STORAGE elements live under sockets: one per insert.
  std::vector<int> sockets;
  if (kfd < 0 || efd < 0) {
    r.error = absl::StrFormat("create: kernel %d, emulator %d", kfd, efd);
  } else {
    const uint32_t ncpus = static_cast<uint32_t>(kernel.NumPossibleCpus());
    const bool percpu = c.type == BPF_MAP_TYPE_PERCPU_HASH;
    std::vector<uint8_t> key(c.key_size, 0);
    std::vector<uint8_t> value(
        (percpu ? ncpus : 1) * ((c.value_size + 7) & ~7u), 0);
    // A device map's value starts with an ifindex: lo.
    if (c.type == BPF_MAP_TYPE_DEVMAP || c.type == BPF_MAP_TYPE_DEVMAP_HASH) {
      value[0] = 1;
    }
    for (uint32_t i = 0; i < c.inserts && r.error.empty(); ++i) {
      std::memcpy(key.data(), &i, sizeof(i));
      if (storage) {
        sockets.push_back(socket(AF_INET, SOCK_DGRAM, 0));
        std::memcpy(key.data(), &sockets.back(), sizeof(int));
      }
      const int k = kernel.Update(kfd, key.data(), value.data(), BPF_ANY);
      const int e = MapUpdateElem(efd, key.data(), value.data(), BPF_ANY);
      if (k != 0 || e != 0) {
        r.error = absl::StrFormat("insert %u: kernel %d, emulator %d", i, k, e);
      }
    }
    r.kernel = KernelMemlock(kfd);
    r.emu = MapMemlock(efd);
  }
  if (kfd >= 0) kernel.Close(kfd);
  if (efd >= 0) (void)CloseFd(efd);
  for (int sk : sockets) close(sk);
  return r;
}

}  // namespace bpfemu
