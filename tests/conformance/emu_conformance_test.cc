// SPDX-License-Identifier: Apache-2.0
// The conformance suites on the emulator: runs everywhere, unprivileged.
#include "testing/emu_backend.h"
#include "tests/conformance/all_suites.h"

namespace bpfemu {

INSTANTIATE_CONFORMANCE_SUITES(Emu, EmuBackend);

}  // namespace bpfemu
