// SPDX-License-Identifier: Apache-2.0
// The BPF helpers by id, as include/uapi/linux/bpf.h's ___BPF_FUNC_MAPPER
// lists them (emu/helper_ids.txt, the one list the coverage table of
// docs/helpers.md is also built from), and the verifier's log lines for a
// helper call it refuses (kernel/bpf/verifier.c check_helper_call).

#ifndef BPFEMU_EMU_HELPER_NAMES_H_
#define BPFEMU_EMU_HELPER_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "emu/version.h"

namespace bpfemu {

// The helper's name without its "bpf_" prefix ("map_lookup_elem"), or ""
// for an id the list does not have.
std::string_view HelperName(int32_t id);

// __BPF_FUNC_MAX_ID of `v`: one past its last helper id (6.1 ends at
// bpf_user_ringbuf_drain, 209; bpf_cgrp_storage_get / _delete came with 6.2).
int32_t HelperIdLimit(KernelVersion v);

// Why a helper call is refused, as the log line says it.
enum class HelperRefusal {
  kUnknownId,    // not a helper id of the version: "invalid func unknown#N"
  kNotOffered,   // the program type is not offered it
  kNotEmulated,  // bpfemu does not implement it (the kernel might load it)
  kGplOnly,      // a GPL-only helper from a non-GPL program
  // Offered, then refused (check_helper_call after the GPL check):
  kNotAllowed,    // fn->allowed() says no: "helper call is not allowed in
                  // probe"
  kMightSleep,    // fn->might_sleep in a non-sleepable program
  kNotSupported,  // check_get_func_ip(): ENOTSUPP for the program type
};

// The load's errno for a refusal: -ENOTSUPP (524) for kNotSupported,
// -EINVAL for the others.
int HelperRefusalErrno(HelperRefusal why);

// The verifier log line (with its newline) for refusing helper `id` on
// kernel `v`: "invalid func unknown#N", then "unknown func bpf_X#N" (6.1) or
// "program of this type cannot use helper bpf_X#N" (6.12, 6.18), "cannot
// call GPL-restricted function from non-GPL compatible program"; a helper
// bpfemu lacks is named as such, with a pointer to docs/helpers.md. The
// refusals after the offer as the verifier words them (`prog_type` names
// the program type in kNotSupported's).
std::string HelperRefusalLog(HelperRefusal why, int32_t id, KernelVersion v,
                             uint32_t prog_type = 0);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_HELPER_NAMES_H_
