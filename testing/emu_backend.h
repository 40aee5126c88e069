// SPDX-License-Identifier: Apache-2.0
// File: emu_backend.h
//
// EmuBackend: the Backend interface over bpfemu's emulated bpf() (emu/
// syscall.h). Always available, for any user.

#ifndef BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_
#define BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_

#include <string>

#include "testing/backend.h"

namespace bpfemu {

class EmuBackend : public Backend {
 public:
  static EmuBackend& Get();

  const char* name() const override { return "emu"; }
  std::string Unavailable() override { return ""; }
  BPFEMU_BACKEND_OVERRIDES
};

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_EMU_BACKEND_H_
