// SPDX-License-Identifier: Apache-2.0
// File: section_names.h
//
// The program type and expected attach type libbpf derives from a SEC()
// name (tools/lib/bpf/libbpf.c section_defs), shared by the ELF reader
// (elf_object.h) and the native object loader (object.h).

#ifndef BPFEMU_LOADER_SECTION_NAMES_H_
#define BPFEMU_LOADER_SECTION_NAMES_H_

#include <cstdint>
#include <string_view>

namespace bpfemu::native {

// For the common sections ("xdp", "tc", "kprobe/...", ...); false if
// unknown.
bool ProgTypeForSection(std::string_view section, uint32_t* prog_type,
                        uint32_t* expected_attach_type);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_SECTION_NAMES_H_
