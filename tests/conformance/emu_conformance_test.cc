// SPDX-License-Identifier: Apache-2.0
// The conformance suites on the emulator: runs everywhere, unprivileged.
#include "tests/conformance/all_suites.h"
#include "testing/emu_backend.h"

namespace bpfemu {

INSTANTIATE_CONFORMANCE_SUITES(Emu, EmuBackend);

}  // namespace bpfemu
