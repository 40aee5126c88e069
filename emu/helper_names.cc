// SPDX-License-Identifier: Apache-2.0
#include "emu/helper_names.h"

#include <algorithm>
#include <cerrno>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace bpfemu {
namespace {

struct Named {
  int32_t id;
  const char* name;
};

// Generated from emu/helper_ids.txt (emu/BUILD.bazel, helper_names_inc).
constexpr Named kHelpers[] = {
#include "emu/helper_names.inc"
};

}  // namespace

std::string_view HelperName(int32_t id) {
  const auto* it = std::lower_bound(
      std::begin(kHelpers), std::end(kHelpers), id,
      [](const Named& n, int32_t want) { return n.id < want; });
  return it != std::end(kHelpers) && it->id == id ? it->name : "";
}

int32_t HelperIdLimit(KernelVersion v) {
  return v == KernelVersion::k6_1 ? 210 : 212;
}

int HelperRefusalErrno(HelperRefusal why) {
  return why == HelperRefusal::kNotSupported ? -524 /* ENOTSUPP */ : -EINVAL;
}

std::string HelperRefusalLog(HelperRefusal why, int32_t id, KernelVersion v,
                             uint32_t prog_type) {
  const std::string name =
      absl::StrCat("bpf_", std::string(HelperName(id)), "#", id);
  switch (why) {
    case HelperRefusal::kUnknownId:
      return absl::StrCat("invalid func unknown#", id, "\n");
    case HelperRefusal::kNotOffered:
      return v == KernelVersion::k6_1
                 ? absl::StrCat("unknown func ", name, "\n")
                 : absl::StrCat("program of this type cannot use helper ", name,
                                "\n");
    case HelperRefusal::kNotEmulated:
      return absl::StrCat("bpfemu does not emulate helper ", name,
                          " yet (docs/helpers.md)\n");
    case HelperRefusal::kGplOnly:
      return "cannot call GPL-restricted function from non-GPL compatible "
             "program\n";
    case HelperRefusal::kNotAllowed:
      return "helper call is not allowed in probe\n";
    case HelperRefusal::kMightSleep:
      return "helper call might sleep in a non-sleepable prog\n";
    case HelperRefusal::kNotSupported:
      // BPF_PROG_TYPE_TRACING: fentry, fexit and fmod_ret only.
      return prog_type == 26
                 ? absl::StrCat("func ", name,
                                " supported only for fentry/fexit/fmod_ret "
                                "programs\n")
                 : absl::StrCat("func ", name,
                                " not supported for program type ", prog_type,
                                "\n");
  }
  return "";
}

}  // namespace bpfemu
