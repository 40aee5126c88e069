// SPDX-License-Identifier: Apache-2.0
// Arbitrary bytes as a .bpf.o (loader/elf_object.h): parsed, and when they
// parse, opened, loaded (maps created, relocations applied, programs
// checked) and each program run once. Seeded with the examples' objects.
// Checks: no crash, no sanitizer report, no leak.
#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "emu/interp.h"
#include "emu/signal.h"
#include "fuzz/fuzz_input.h"
#include "loader/elf_object.h"
#include "loader/object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fuzzed program may signal this process with any signal (SIGKILL,
  // SIGSEGV): keep them (emu/signal.h).
  static const bool kept =
      (bpfemu::SetSignalSink([](const bpfemu::SentSignal&) {}), true);
  (void)kept;
  static const bool once = [] {
    bpfemu::interp::SetInstructionBudget(20000);
    return true;
  }();
  (void)once;
  auto obj = bpfemu::native::Object::OpenBytecodeMem(
      absl::MakeConstSpan(data, size), "fuzz");
  if (!obj.ok()) return 0;
  // Keep fuzzed map sizes small: skip objects asking for large maps.
  for (const auto& m : (*obj)->MapDescs()) {
    if (uint64_t{m.max_entries} * (m.key_size + m.value_size) > (1u << 20)) {
      return 0;
    }
  }
  if ((*obj)->Load() != 0) return 0;
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;
  for (const auto& p : (*obj)->programs()) {
    if (p.type() == BPF_PROG_TYPE_XDP) {
      p.RunXdp(frame);
    } else if (p.type() == BPF_PROG_TYPE_SCHED_CLS ||
               p.type() == BPF_PROG_TYPE_SCHED_ACT) {
      p.RunSkb(frame);
    } else if (p.type() == BPF_PROG_TYPE_RAW_TRACEPOINT ||
               p.type() == BPF_PROG_TYPE_TRACING) {
      p.RunRawTp({1, 59});
    }
  }
  return 0;
}
