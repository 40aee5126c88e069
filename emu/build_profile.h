// SPDX-License-Identifier: Apache-2.0
// File: build_profile.h
//
// What a kernel *build* decides, as opposed to its version. The version
// (version.h, BPFEMU_KERNEL) decides semantics: errnos, iteration order,
// eviction, which formula map_mem_usage() uses. The build decides a few
// numbers inside those formulas: the sizes of the kernel structures a map
// allocates. The same 6.18 built with other options (lockdep, debug lists,
// other cache-line padding) has other sizes, so bpfemu never hard-codes one
// build's figures where they show: they form a BuildProfile.
//
// Where the figures show (docs/semantics.md, "Version vs build"):
//   * fdinfo "memlock:" and bpftool's bytes_memlock (Map::Memlock), through
//     each family's map_mem_usage() formula (6.4 and later);
//   * the hash family's E2BIG bound at creation,
//     key_size + value_size < KMALLOC_MAX_SIZE - sizeof(struct htab_elem)
//     (htab_map_alloc_check, kernel/bpf/hashtab.c).
//
// The profile in force: SetBuildProfile() (kernel_compare calibrates one from
// the running kernel, testing/calibrate.h), else the environment
// variable BPFEMU_KERNEL_BUILD ("htab=896,array=312": fields on top of the
// target version's default), else the default measured for the target
// version (DefaultBuildProfile).

#ifndef BPFEMU_EMU_BUILD_PROFILE_H_
#define BPFEMU_EMU_BUILD_PROFILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "emu/version.h"

namespace bpfemu {

struct BuildProfile {
  uint32_t htab = 0;         // struct bpf_htab (kernel/bpf/hashtab.c)
  uint32_t htab_elem = 0;    // struct htab_elem without key and value
  uint32_t array = 0;        // struct bpf_array (include/linux/bpf.h)
  uint32_t ringbuf_map = 0;  // struct bpf_ringbuf_map (kernel/bpf/ringbuf.c)
  uint32_t stab = 0;         // struct bpf_stab (net/core/sock_map.c)
  uint32_t shtab = 0;        // struct bpf_shtab (net/core/sock_map.c)
  uint32_t shtab_elem = 0;   // struct bpf_shtab_elem without its key
  uint32_t queue_stack = 0;  // struct bpf_queue_stack (queue_stack_maps.c)
  uint32_t bloom = 0;        // struct bpf_bloom_filter (bloom_filter.c)
  uint32_t stack_map = 0;    // struct bpf_stack_map (stackmap.c)
  uint32_t lpm_node = 0;     // struct lpm_trie_node without data (lpm_trie.c)
  uint32_t reuseport_array = 0;  // struct reuseport_array without ptrs
                                 // (kernel/bpf/reuseport_array.c)
  uint32_t xsk_map = 0;  // struct xsk_map without entries (net/xdp/xskmap.c)
  uint32_t local_storage_map = 0;  // struct bpf_local_storage_map
  uint32_t dtab = 0;               // struct bpf_dtab (kernel/bpf/devmap.c)
  uint32_t dtab_netdev = 0;        // struct bpf_dtab_netdev (devmap.c)
  uint32_t cpu_map = 0;            // struct bpf_cpu_map (kernel/bpf/cpumap.c)
  // struct bpf_struct_ops_map (kernel/bpf/bpf_struct_ops.c), with its
  // 64-byte kvalue header.
  uint32_t struct_ops_map = 0;

  bool operator==(const BuildProfile&) const = default;
};

// The fields by name, in a fixed order, for parsing, printing and
// calibration. `name` is the key of BPFEMU_KERNEL_BUILD.
struct BuildProfileField {
  const char* name;
  uint32_t BuildProfile::*member;
};
inline constexpr BuildProfileField kBuildProfileFields[] = {
    {"htab", &BuildProfile::htab},
    {"htab_elem", &BuildProfile::htab_elem},
    {"array", &BuildProfile::array},
    {"ringbuf_map", &BuildProfile::ringbuf_map},
    {"stab", &BuildProfile::stab},
    {"shtab", &BuildProfile::shtab},
    {"shtab_elem", &BuildProfile::shtab_elem},
    {"queue_stack", &BuildProfile::queue_stack},
    {"bloom", &BuildProfile::bloom},
    {"stack_map", &BuildProfile::stack_map},
    {"lpm_node", &BuildProfile::lpm_node},
    {"reuseport_array", &BuildProfile::reuseport_array},
    {"xsk_map", &BuildProfile::xsk_map},
    {"local_storage_map", &BuildProfile::local_storage_map},
    {"dtab", &BuildProfile::dtab},
    {"dtab_netdev", &BuildProfile::dtab_netdev},
    {"cpu_map", &BuildProfile::cpu_map},
    {"struct_ops_map", &BuildProfile::struct_ops_map},
};

// The figures measured on one build of each version (provenance in
// build_profile.cc and docs/semantics.md).
BuildProfile DefaultBuildProfile(KernelVersion v);

// Parses "field=bytes[,field=bytes...]" on top of `base`; nullopt on an
// unknown field, a malformed or out-of-range number, or trailing junk.
std::optional<BuildProfile> ParseBuildProfile(std::string_view spec,
                                              const BuildProfile& base);
// "htab=832,htab_elem=48,...": every field, parseable by ParseBuildProfile.
std::string FormatBuildProfile(const BuildProfile& p);

// The profile in force for a map of kernel version `v`: the one set with
// SetBuildProfile, else BPFEMU_KERNEL_BUILD over v's default, else v's
// default.
BuildProfile BuildProfileFor(KernelVersion v);
// Where BuildProfileFor's answer comes from: "set", "environment" or
// "default" (for the CLI and the main job's first line).
const char* BuildProfileSource();

// Sets the profile for every version until ClearBuildProfile().
void SetBuildProfile(const BuildProfile& p);
void ClearBuildProfile();

}  // namespace bpfemu

#endif  // BPFEMU_EMU_BUILD_PROFILE_H_
