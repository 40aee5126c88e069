// SPDX-License-Identifier: Apache-2.0
// File: kconfig.h
//
// `extern ... __kconfig` variables of a BPF object as libbpf resolves them
// (tools/lib/bpf/libbpf.c bpf_object__collect_externs, find_kcfg_type,
// bpf_object__resolve_externs, bpf_object__process_kconfig_line): laid out
// in the object's `.kconfig` map (by alignment, then size, then name), the
// virtual LINUX_* ones computed, CONFIG_* ones read from the caller's
// Kconfig text (bpf_object_open_opts.kconfig) and then from the system's
// (/boot/config-$(uname -r), else /proc/config.gz), strong ones that stay
// unset refused (-ESRCH), weak ones left zero.

#ifndef BPFEMU_LOADER_KCONFIG_H_
#define BPFEMU_LOADER_KCONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::native {

struct KconfigExtern {
  // libbpf's enum kcfg_type.
  enum Kind { kUnknown, kChar, kBool, kInt, kTristate, kCharArr };
  std::string name;
  bool weak = false;
  Kind kind = kUnknown;
  bool is_signed = false;
  uint32_t size = 0, align = 0;
  uint32_t offset = 0;  // in the .kconfig map's value
};

// Orders the externs as libbpf does and gives each its offset; returns the
// map's value size.
uint32_t LayoutKconfig(std::vector<KconfigExtern>* externs);

// Fills `data` (the .kconfig value, zeroed, of the size LayoutKconfig gave)
// for `externs`: 0, or libbpf's error (-EINVAL, -ERANGE, -ENOENT folded to
// -EINVAL as libbpf folds it, -ESRCH for an unresolved strong extern) with
// libbpf's warning in *log. `extra` is the caller's Kconfig text, or null.
int ResolveKconfig(const std::vector<KconfigExtern>& externs,
                   const std::string* extra, std::vector<uint8_t>* data,
                   std::string* log);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_KCONFIG_H_
