// SPDX-License-Identifier: Apache-2.0
// File: btf_dedup.h
//
// btf__dedup()'s algorithm as libbpf 1.1.2 runs it (tools/lib/bpf/btf.c,
// "BTF type deduplication"): strings, primitive types, struct/union graph
// equivalence with FWD resolution, unique-name FWD resolution, reference
// types, compaction and remapping, .BTF.ext included. btf_compat.cc's
// btf__dedup calls it.

#ifndef BPFEMU_COMPAT_BTF_DEDUP_H_
#define BPFEMU_COMPAT_BTF_DEDUP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "loader/btf.h"

namespace bpfemu::compat {

// Deduplicates `in` (split over in.base() when it has one) into *out.
// `strs_deduped`: libbpf's flag that the string section is already unique
// (a BTF built from empty), which skips the string pass. `ext`: a .BTF.ext
// blob whose strings and type ids follow, or nullptr. 0 or -errno
// (-EINVAL: malformed input, -ELOOP: a cycle of reference types); on
// error neither *out nor *ext is changed.
int DedupBtf(const native::BtfData& in, bool strs_deduped,
             bool force_collisions, std::vector<uint8_t>* ext,
             std::unique_ptr<native::BtfData>* out);

}  // namespace bpfemu::compat

#endif  // BPFEMU_COMPAT_BTF_DEDUP_H_
