// SPDX-License-Identifier: Apache-2.0
// File: test_run.h
//
// bpf_prog_test_run's packet contexts (net/bpf/test_run.c) for any program
// descriptor: behind Program::RunXdp / RunSkb (object.h) and the
// libbpf-compatible bpf_prog_test_run_opts (compat/), which runs by fd.

#ifndef BPFEMU_LOADER_TEST_RUN_H_
#define BPFEMU_LOADER_TEST_RUN_H_

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "emu/prog.h"

namespace bpfemu::native {

// What bpf_prog_test_run returns for packet programs.
struct PacketResult {
  int err = 0;  // what bpf_prog_test_run returns: 0 or -EINVAL
  uint32_t retval = 0;
  std::vector<uint8_t> data_out;
};

// BPF_PROG_TYPE_XDP and the socket-buffer types; see Program::RunXdp and
// Program::RunSkb in object.h for the details of each context.
PacketResult RunXdp(const Prog& prog, absl::Span<const uint8_t> packet);
PacketResult RunSkb(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct __sk_buff* ctx_in = nullptr);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_TEST_RUN_H_
