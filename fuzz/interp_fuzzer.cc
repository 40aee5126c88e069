// SPDX-License-Identifier: Apache-2.0
// Arbitrary instruction arrays through BPF_PROG_LOAD for bytecode
// (loader/bytecode.h) and, when they load, a run on a packet or tracing
// context. LD_IMM64 map loads are pointed at real maps of every kind (and
// the program array holds the program itself), so helpers, tail calls and
// map values are reached. Checks: no crash, no sanitizer report; a run ends
// normally or is stopped by the interpreter's checks. Each program is
// loaded and run twice: interpreted, then as the x86-64 JIT's machine code
// (emu/jit_x86.h), whose checks must stop it just as well.
#include <linux/bpf.h>

#include <cstring>
#include <memory>
#include <vector>

#include "emu/interp.h"
#include "emu/prog.h"
#include "emu/signal.h"
#include "emu/syscall.h"
#include "fuzz/fuzz_input.h"
#include "loader/bytecode.h"
#include "loader/object.h"

namespace {

std::vector<int> Maps() {
  static const std::vector<int> maps = [] {
    struct Def {
      uint32_t type, key, value, max;
    };
    const Def defs[] = {
        {BPF_MAP_TYPE_ARRAY, 4, 16, 4},
        {BPF_MAP_TYPE_HASH, 4, 8, 8},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},
        {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4},
        {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2},
        {BPF_MAP_TYPE_LRU_HASH, 8, 8, 16},
        {BPF_MAP_TYPE_ARRAY, 4, 64, 1},
    };
    std::vector<int> fds;
    for (const Def& d : defs) {
      bpfemu::MapAttr attr;
      attr.map_type = d.type;
      attr.key_size = d.key;
      attr.value_size = d.value;
      attr.max_entries = d.max;
      fds.push_back(bpfemu::MapCreate(attr));
      FUZZ_CHECK(fds.back() >= 0);
    }
    bpfemu::interp::SetInstructionBudget(20000);
    return fds;
  }();
  return maps;
}

void LoadAndRun(const std::vector<int>& maps, uint32_t type,
                const char* license,
                const std::vector<bpfemu::interp::RawInsn>& insns) {
  const int fd = bpfemu::native::ProgLoadBytecode(
      type, 0, "fuzz", insns.data(), static_cast<uint32_t>(insns.size()),
      license);
  if (fd < 0) return;
  const uint32_t slot = 0;
  (void)bpfemu::MapUpdateElem(maps[3], &slot, &fd, BPF_ANY);
  std::shared_ptr<const bpfemu::Prog> prog;
  FUZZ_CHECK(bpfemu::ProgFromFd(fd, &prog) == 0);
  std::vector<uint8_t> frame(64, 0);
  frame[12] = 0x08;
  if (type == BPF_PROG_TYPE_XDP) {
    bpfemu::native::RunXdp(*prog, frame);
  } else if (type == BPF_PROG_TYPE_RAW_TRACEPOINT) {
    uint64_t ctx[12] = {1, 2, 3};
    bpfemu::ProgRun(*prog, ctx);
  } else {
    bpfemu::native::RunSkb(*prog, frame);
  }
  (void)bpfemu::MapDeleteElem(maps[3], &slot);
  bpfemu::CloseFd(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fuzzed program may signal this process with any signal (SIGKILL,
  // SIGSEGV): keep them (emu/signal.h).
  static const bool kept =
      (bpfemu::SetSignalSink([](const bpfemu::SentSignal&) {}), true);
  (void)kept;
  const std::vector<int> maps = Maps();
  bpfemu::fuzz::FuzzInput in(data, size);
  static constexpr uint32_t kTypes[] = {
      BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER,
      BPF_PROG_TYPE_RAW_TRACEPOINT};
  const uint32_t type = kTypes[in.Below(4)];
  const char* license = in.Bool() ? "GPL" : "MIT";
  std::vector<bpfemu::interp::RawInsn> insns;
  while (!in.empty() && insns.size() < 512) {
    insns.push_back(in.Get<bpfemu::interp::RawInsn>());
  }
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    auto& x = insns[i];
    if (x.code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (x.src == BPF_PSEUDO_MAP_FD || x.src == BPF_PSEUDO_MAP_VALUE)) {
      x.imm = maps[static_cast<uint32_t>(x.imm) % maps.size()];
      if (x.src == BPF_PSEUDO_MAP_VALUE) insns[i + 1].imm &= 63;
    }
  }
  for (const bool jit : {false, true}) {
    bpfemu::interp::SetJit(jit);
    LoadAndRun(maps, type, license, insns);
  }
  bpfemu::interp::SetJit(false);
  return 0;
}
