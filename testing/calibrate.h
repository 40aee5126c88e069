// SPDX-License-Identifier: Apache-2.0
// File: calibrate.h
//
// Measures the running kernel's build profile (emu/build_profile.h): the
// struct sizes behind memlock, which differ between builds of one version.
//
// Method: each family's memlock formula (map_mem_usage() in the family's
// kernel source, e.g. htab_map_mem_usage in kernel/bpf/hashtab.c) is affine
// in the struct sizes it counts. For a group of unknown sizes, a few probe
// maps of 1 and 4 entries are created on the kernel, their fdinfo
// "memlock:" read, and the same maps created on the emulator under a zero
// profile and under one unit profile per unknown; the differences give each
// size's coefficient, and the linear system gives the sizes. The formulas
// are the emulator's own, so calibration never restates them; a formula
// that disagrees with the kernel shows as a non-integral or inconsistent
// solution, and calibration fails rather than fits.
//
// Before 6.4 the kernel charges bpf_map_memory_footprint(), which has no
// struct sizes: calibration reports the version's default profile.

#ifndef BPFEMU_KERNEL_COMPARE_CALIBRATE_H_
#define BPFEMU_KERNEL_COMPARE_CALIBRATE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "emu/build_profile.h"
#include "emu/map.h"

namespace bpfemu {

// fdinfo "memlock:" of a kernel map fd, or -errno.
int64_t KernelMemlock(int fd);
// The value BTF a local storage map requires (a u32 key, a byte array of
// attr->value_size as the value), loaded with `load` (a backend's
// BPF_BTF_LOAD): sets attr's btf_fd and type ids and returns the BTF fd,
// to close once the map is created, or -errno.
int LoadLocalStorageBtf(
    const std::function<int(const void* blob, uint32_t size)>& load,
    MapAttr* attr);

// A STRUCT_OPS map's attributes for the registered type `name`
// (tcp_congestion_ops, bpf_dummy_ops, ...): btf_vmlinux_value_type_id and
// value_size from the kernel BTF (emu/kernel_btf.h), and a one-int program
// BTF loaded with `load` as btf_fd (map_create requires one next to a
// vmlinux value type). Returns the BTF fd, to close once the map is
// created, or -errno (-ENOENT: no kernel BTF, or no such value struct).
int LoadStructOpsBtf(
    const std::function<int(const void* blob, uint32_t size)>& load,
    const char* name, MapAttr* attr);

// The running kernel's profile for the emulator's target version, measured
// as above. Errors: the kernel is unreachable, a probe map cannot be
// created, or a formula does not fit.
absl::StatusOr<BuildProfile> CalibrateBuildProfile();

// The same sizes read from the kernel's own type information (BTF, by
// default /sys/kernel/btf/vmlinux: struct bpf_htab, htab_elem, ...). This
// needs no bpf() permission. Agreement with CalibrateBuildProfile shows that
// the emulator's formulas are the kernel's: calibration only inverts them.
absl::StatusOr<BuildProfile> BuildProfileFromBtf(
    const char* path = "/sys/kernel/btf/vmlinux");

// Calibrates and, on success, sets the profile (SetBuildProfile) for the
// rest of the process. Returns a one-line description for a report's first
// line: "build profile calibrated from the running kernel: htab=...", or
// why the default stays in force.
std::string CalibrateAndSetBuildProfile();

}  // namespace bpfemu

#endif  // BPFEMU_KERNEL_COMPARE_CALIBRATE_H_
