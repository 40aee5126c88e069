// SPDX-License-Identifier: Apache-2.0
// The cgroup hooks' side of a program run, for both faces (a native
// program calls the bpfemu_* entry points of native_abi.h, the
// interpreter's table in loader/bytecode.cc the functions below):
//   * the run context of a hook's program array (kernel/bpf/cgroup.c
//     bpf_prog_run_array_cg, struct bpf_cg_run_ctx): the hook's return
//     value, which a program that returns 0 turns into -EPERM unless it is
//     already an error, and which bpf_get_retval / bpf_set_retval read and
//     write;
//   * a sysctl access (kernel/bpf/cgroup.c __cgroup_bpf_run_filter_sysctl,
//     struct bpf_sysctl_kern of include/linux/filter.h) and its helpers
//     bpf_sysctl_get_name, bpf_sysctl_get_current_value,
//     bpf_sysctl_get_new_value and bpf_sysctl_set_new_value.
// bpfemu does not emulate sysctls: the test names the sysctl, gives the
// value its handler would print and the bytes a write carries, and gets
// back what the kernel would hand the handler (RunSysctlHook).

#ifndef BPFEMU_NATIVE_CGROUP_HOOKS_H_
#define BPFEMU_NATIVE_CGROUP_HOOKS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"

namespace bpfemu::native {

// struct bpf_cg_run_ctx's retval: what bpf_get_retval reads while a hook's
// programs run. Outside a hook there is none: bpf_get_retval gives 0 and
// bpf_set_retval changes nothing.
struct CgRunCtx {
  int retval = 0;
};

// bpf_prog_run_array_cg(): runs programs 0..n-1 with `run` (which returns
// the program's return value) under a run context starting at `retval`;
// after each, a return value of 0 makes the context's retval -EPERM unless
// it already is an error (-4095..-1). Returns the final retval, the hook's
// answer (0: go on; an errno: the access fails with it).
int RunCgroupArray(size_t n, int retval,
                   absl::FunctionRef<uint32_t(size_t i)> run,
                   std::vector<uint32_t>* verdicts = nullptr);

// bpf_get_retval / bpf_set_retval (kernel/bpf/cgroup.c).
int GetRetval();
int SetRetval(int retval);

// A sysctl access as proc_sys_call_handler (fs/proc/proc_sysctl.c) hands
// it to the hook.
struct SysctlAccess {
  // The sysctl's path below /proc/sys ("net/ipv4/tcp_keepalive_time"):
  // its directories and its table entry's procname.
  std::string name;
  bool write = false;
  // What the sysctl's handler prints when read from position 0 (at most a
  // page is kept); nullopt when that read fails (cur_len 0).
  std::optional<std::string> current;
  // A write's bytes (a zero-length write gives the programs no new value).
  std::string new_value;
  // The file position of the access (iocb->ki_pos).
  int64_t pos = 0;
};

// What the hook leaves for the handler.
struct SysctlOutcome {
  int ret = 0;  // the hook's answer: 0, or the errno the access fails with
  std::vector<uint32_t> verdicts;  // each program's return value
  // The buffer the handler gets: the written bytes, or the programs' new
  // value when one set it (bpf_sysctl_set_new_value) and ret is 0.
  bool new_updated = false;
  std::string new_value;
  int64_t pos = 0;  // the position after the programs (file_pos writes)
};

// __cgroup_bpf_run_filter_sysctl(): `run` runs program i on the struct
// bpf_sysctl context it is given.
SysctlOutcome RunSysctlHook(
    size_t n, const SysctlAccess& access,
    absl::FunctionRef<uint32_t(size_t i, void* ctx)> run);

// The helpers of the access being run; ctx must be its struct bpf_sysctl
// (-EINVAL when no access runs on this thread, which the kernel cannot
// see: its programs run only from the hook).
long SysctlGetName(const void* ctx, char* buf, size_t len, uint64_t flags);
long SysctlGetCurrentValue(const void* ctx, char* buf, size_t len);
long SysctlGetNewValue(const void* ctx, char* buf, size_t len);
long SysctlSetNewValue(const void* ctx, const char* buf, size_t len);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_CGROUP_HOOKS_H_
