// SPDX-License-Identifier: Apache-2.0
// File: memlock_compare.h
//
// memlock accounting compared with the kernel: for every emulated map type
// and a range of sizes, the emulator's charge (bpfemu::MapMemlock) against
// the kernel's, read from /proc/self/fdinfo/<fd> "memlock:"
// (bpf_map_show_fdinfo -> bpf_map_memory_usage in kernel/bpf/syscall.c).
// NO_PREALLOC hashes are charged per inserted element, so they are compared
// empty and after inserts. Callers set the calibrated build profile first
// (calibrate.h), so that the comparison tests the formulas, not one build's
// struct sizes. Used by memlock_compare_test and by the main job's memlock
// row (which also runs inside the kernel-matrix guests).

#ifndef BPFEMU_KERNEL_COMPARE_MEMLOCK_COMPARE_H_
#define BPFEMU_KERNEL_COMPARE_MEMLOCK_COMPARE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu {

struct MemlockCase {
  uint32_t type, key_size, value_size, max_entries, flags;
  uint32_t inserts;  // keys inserted before comparing
  // STRUCT_OPS: the registered struct whose value type the map holds (the
  // id and value_size come from the kernel BTF); nullptr otherwise.
  const char* struct_ops = nullptr;
};

std::vector<MemlockCase> MemlockCases();
std::string DescribeMemlockCase(const MemlockCase& c);

// Both charges of one case, or `error` when a step failed on either side.
struct MemlockResult {
  int64_t kernel = -1;
  int64_t emu = -1;
  std::string error;
};
MemlockResult CompareMemlockCase(const MemlockCase& c);

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_MEMLOCK_COMPARE_H_
