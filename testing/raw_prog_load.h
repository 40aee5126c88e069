// SPDX-License-Identifier: Apache-2.0
// One program of hand-assembled instructions loaded on both sides, as the
// compare tests load one to see an errno and the verifier's log line: the
// kernel's BPF_PROG_LOAD with a level-1 log (kernel/bpf/syscall.c
// bpf_prog_load) and loader/bytecode.h's ProgLoadBytecode, which answers as
// bpfemu's syscall does and gives the lines of its refusals.

#ifndef BPFEMU_TESTING_RAW_PROG_LOAD_H_
#define BPFEMU_TESTING_RAW_PROG_LOAD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "emu/interp.h"

namespace bpfemu {

struct RawProg {
  uint32_t type = 0;
  uint32_t attach_type = 0;  // expected_attach_type
  uint32_t prog_flags = 0;
  uint32_t attach_btf_id = 0;  // a tracing program's kernel BTF target
  const char* license = "GPL";
  // attr.fd_array: the fds BPF_PSEUDO_MAP_IDX(_VALUE) loads and kfunc
  // calls index; each side reads its entries when an instruction does, so
  // a comparison gives each side an array of its own fds.
  const int32_t* fd_array = nullptr;
  std::vector<interp::RawInsn> insns;
  bool with_log = true;  // the kernel's log_level 1 into a 64 KiB buffer
};

struct RawLoaded {
  int fd;           // the program's fd (the caller closes it), or -errno
  std::string log;  // the verifier's log (the kernel) or refusal lines
};

RawLoaded KernelLoadRaw(const RawProg& p);
RawLoaded EmuLoadRaw(const RawProg& p);

// The load's verdict as the compare tests set the sides next to each
// other: "0 " when it loaded (the program is closed again), else
// "-errno <VerifierReason of the log>".
std::string KernelLoadVerdict(const RawProg& p);
std::string EmuLoadVerdict(const RawProg& p);

// The verifier's reason in a log: its last line that is not empty and not
// one of the statistics lines after it ("processed N insns ...",
// "verification time ..."); "" if none.
std::string VerifierReason(std::string_view log);

}  // namespace bpfemu

#endif  // BPFEMU_TESTING_RAW_PROG_LOAD_H_
