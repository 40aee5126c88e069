// SPDX-License-Identifier: Apache-2.0
// File: test_run.h
//
// BPF_PROG_TEST_RUN (kernel/bpf/syscall.c bpf_prog_test_run and the
// program types' test_run ops in net/bpf/test_run.c) for any program
// descriptor: TestRun() is the command, once for every face that serves it
// (libbpfemu's bpf_prog_test_run_opts in compat/, `bpfemu exec` in exec/);
// RunXdp / RunSkb are one run of a packet program (also behind
// Program::RunXdp / RunSkb, object.h).

#ifndef BPFEMU_LOADER_TEST_RUN_H_
#define BPFEMU_LOADER_TEST_RUN_H_

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "emu/prog.h"
#include "native/seg6local.h"

namespace bpfemu::native {

// What bpf_prog_test_run returns for packet programs.
struct PacketResult {
  int err = 0;  // what bpf_prog_test_run returns: 0 or -errno
  uint32_t retval = 0;
  std::vector<uint8_t> data_out;
  // The context after the run as the test run reports it (struct xdp_md
  // from xdp_convert_buff_to_md, struct __sk_buff from
  // convert_skb_to___skb); filled when a context was given.
  std::vector<uint8_t> ctx_out;
};

// BPF_PROG_TYPE_XDP and the socket-buffer types; see Program::RunXdp and
// Program::RunSkb in object.h for the details of each context. `ctx_in`,
// when not NULL, is the caller's context (checked as the kernel checks it:
// xdp_md's data is the metadata's length at the packet's front, data_end
// the linear length; __sk_buff's settable fields only; ifindexes other
// than lo's (1) are ENODEV: no other device is modelled).
PacketResult RunXdp(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct xdp_md* ctx_in = nullptr);
PacketResult RunSkb(const Prog& prog, absl::Span<const uint8_t> packet,
                    const struct __sk_buff* ctx_in = nullptr);

// The End.BPF action of a seg6local route (net/ipv6/seg6_local.c
// input_action_end_bpf) on `packet` (Ethernet, IPv6, a segment routing
// header with segments left) received on lo: the header advanced to its
// next segment, the LWT_SEG6LOCAL program run with the header as the
// helpers' state, then the verdict, the header's check and the next hop
// (`hook`). The packet as the program left it is data_out (the Ethernet
// header zeroed, as a test run's); no kernel test run reaches this.
PacketResult RunSeg6LocalEndBpf(const Prog& prog,
                                absl::Span<const uint8_t> packet,
                                Seg6EndBpfResult* hook);

// union bpf_attr's test fields with the caller's buffers read: a NULL
// pointer is an absent buffer (the kernel's checks tell "absent" from
// "empty"). Output buffers are described by presence and size only.
struct TestRunAttr {
  const uint8_t* data_in = nullptr;
  uint32_t data_size_in = 0;
  bool data_out = false;
  uint32_t data_size_out = 0;
  const uint8_t* ctx_in = nullptr;  // ctx_size_in bytes
  uint32_t ctx_size_in = 0;
  bool ctx_out = false;
  uint32_t ctx_size_out = 0;
  uint32_t repeat = 0, duration = 0, flags = 0, cpu = 0, batch_size = 0;
};

// What to write back, in this order (bpf_test_finish, bpf_ctx_finish):
// when write_data, `data`'s first data_copy bytes to data_out and
// data_size_out = data.size(); retval when write_retval; duration when
// write_data; when write_ctx, `ctx`'s first ctx_copy bytes to ctx_out and
// ctx_size_out = ctx.size(); when ctx_to_ctx_in (syscall programs), `ctx`
// back to ctx_in.
struct TestRunOutput {
  std::vector<uint8_t> data;
  uint32_t data_copy = 0;
  bool write_data = false;
  bool write_retval = false;
  uint32_t retval = 0, duration = 0;
  std::vector<uint8_t> ctx;
  uint32_t ctx_copy = 0;
  bool write_ctx = false;
  bool ctx_to_ctx_in = false;  // syscall programs
  // Program invocations the run made (bpf_prog_run calls) and the time
  // they took: what BPF_ENABLE_STATS's run_cnt and run_time_ns count.
  uint32_t runs = 0;
  uint64_t run_ns = 0;
};

// MAX_BPF_FUNC_ARGS: the u64 arguments of a tracing context.
inline constexpr size_t kMaxTracingArgs = 12;

// bpf_prog_test_run()'s own checks, before the program is looked up: each
// context buffer with a size, each size with a buffer (EINVAL).
[[nodiscard]] int CheckTestRunAttr(const TestRunAttr& attr);

// BPF_PROG_TEST_RUN on `prog`: 0 or -errno (ENOSPC with the output still
// to be written). `keep_going`, when set, is asked between repeats (about
// every millisecond); false stops the run with EINTR, as a pending signal
// stops bpf_test_run.
[[nodiscard]] int TestRun(const Prog& prog, const TestRunAttr& attr,
                          TestRunOutput* out,
                          bool (*keep_going)(void*) = nullptr,
                          void* keep_going_arg = nullptr);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_TEST_RUN_H_
