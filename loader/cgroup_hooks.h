// SPDX-License-Identifier: Apache-2.0
// The cgroup hooks a test drives on loaded programs, as the kernel runs
// them when a process of the cgroup makes the access (kernel/bpf/cgroup.c):
// RunSysctlHook is __cgroup_bpf_run_filter_sysctl over the programs
// attached to the cgroup, in attach order (BPF_F_ALLOW_MULTI), with the
// access described by native/cgroup_hooks.h; RunSockAddrHook is
// __cgroup_bpf_run_filter_sock_addr (connect, bind, sendmsg, ...) on a
// socket of this process; RunReuseportHook is the SO_REUSEPORT group's
// selection program (not a cgroup hook, but run the same way).

#ifndef BPFEMU_LOADER_CGROUP_HOOKS_H_
#define BPFEMU_LOADER_CGROUP_HOOKS_H_

#include "absl/types/span.h"
#include "loader/object.h"
#include "native/cgroup_hooks.h"
#include "native/reuseport_hook.h"

namespace bpfemu::native {

// The programs' answers to a sysctl access: the hook's errno (0: the access
// goes on to the handler), each program's return value, the new value the
// handler gets and the file position after the programs.
SysctlOutcome RunSysctlHook(absl::Span<const Program* const> progs,
                            const SysctlAccess& access);

// __cgroup_bpf_run_filter_sock_addr over the programs attached to the
// socket's cgroup for access.attach_type: the hook's errno, the verdicts
// and the address the call goes on with (the test then makes the call).
SockAddrOutcome RunSockAddrHook(absl::Span<const Program* const> progs,
                                const SockAddrAccess& access);

// bpf_run_sk_reuseport: the SK_REUSEPORT program attached to the group of
// access.fd, on what the group receives; the socket it selected.
ReuseportOutcome RunReuseportHook(const Program& prog,
                                  const ReuseportAccess& access);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_CGROUP_HOOKS_H_
