// SPDX-License-Identifier: Apache-2.0
// File: section_names.h
//
// The program type and expected attach type libbpf derives from a SEC()
// name: libbpf 1.1's section_defs table (tools/lib/bpf/libbpf.c), written
// once for the ELF reader (elf_object.h), the native object loader
// (object.h) and the libbpf layer (compat/: libbpf_prog_type_by_name and
// the section handlers).

#ifndef BPFEMU_LOADER_SECTION_NAMES_H_
#define BPFEMU_LOADER_SECTION_NAMES_H_

#include <cstdint>
#include <string_view>

namespace bpfemu::native {

// One SEC() pattern. `pattern` ending in '+' matches the name alone or
// followed by "/anything"; one ending in '/' any name it starts; otherwise
// the name must equal it (libbpf.c sec_def_matches, strict mode).
// `attachable`: libbpf_attach_type_by_name() accepts it (SEC_ATTACHABLE).
struct SecDef {
  std::string_view pattern;
  uint32_t prog_type;
  uint32_t attach_type;
  bool attachable;
};

bool SecMatches(std::string_view pattern, std::string_view name);

// The first definition `name` matches, in libbpf's order; nullptr if none.
const SecDef* FindSecDef(std::string_view name);

// The program type and expected attach type of a program in section
// `section`: FindSecDef's, or else libbpf's legacy form "pattern/anything"
// of an exact pattern ("xdp/foo", "tc/ingress"), which bpfemu's object
// loader still takes. false if unknown.
bool ProgTypeForSection(std::string_view section, uint32_t* prog_type,
                        uint32_t* expected_attach_type);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_SECTION_NAMES_H_
