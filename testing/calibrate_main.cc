// SPDX-License-Identifier: Apache-2.0
// calibrate_profile: prints the running kernel's build profile in the form
// BPFEMU_KERNEL_BUILD takes (exit 0), or the reason it cannot be measured
// on stderr (exit 1). The emulator's target version (BPFEMU_KERNEL) decides
// which formulas are inverted.

#include <cstdio>

#include "emu/build_profile.h"
#include "testing/calibrate.h"

int main() {
  absl::StatusOr<bpfemu::BuildProfile> p = bpfemu::CalibrateBuildProfile();
  if (!p.ok()) {
    std::fprintf(stderr, "cannot calibrate: %s\n",
                 std::string(p.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", bpfemu::FormatBuildProfile(*p).c_str());
  return 0;
}
