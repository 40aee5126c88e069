// SPDX-License-Identifier: Apache-2.0
// loader/cgroup_hooks.h: kernel/bpf/cgroup.c __cgroup_bpf_run_filter_sysctl
// and __cgroup_bpf_run_filter_sock_addr over loaded programs (the runs
// themselves are native/cgroup_hooks.cc).
#include "loader/cgroup_hooks.h"

namespace bpfemu::native {

SysctlOutcome RunSysctlHook(absl::Span<const Program* const> progs,
                            const SysctlAccess& access) {
  return RunSysctlHook(progs.size(), access,
                       [&](size_t i, void* ctx) { return progs[i]->Run(ctx); });
}

SockAddrOutcome RunSockAddrHook(absl::Span<const Program* const> progs,
                                const SockAddrAccess& access) {
  return RunSockAddrHook(progs.size(), access, [&](size_t i, void* ctx) {
    return progs[i]->Run(ctx);
  });
}

ReuseportOutcome RunReuseportHook(const Program& prog,
                                  const ReuseportAccess& access) {
  return RunReuseportHook(access, [&](void* ctx) { return prog.Run(ctx); });
}

}  // namespace bpfemu::native
