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
//     bpf_sysctl_get_new_value and bpf_sysctl_set_new_value;
//   * a socket address hook (__cgroup_bpf_run_filter_sock_addr, struct
//     bpf_sock_addr_kern) on a real socket of this process, and its helpers
//     bpf_bind, bpf_setsockopt and bpf_getsockopt (net/core/filter.c).
// bpfemu does not emulate sysctls: the test names the sysctl, gives the
// value its handler would print and the bytes a write carries, and gets
// back what the kernel would hand the handler (RunSysctlHook). Sockets are
// the process's own: the helpers bind and set options on them, and the
// test makes the call (connect, bind, ...) with the address the programs
// leave (RunSockAddrHook).

#ifndef BPFEMU_NATIVE_CGROUP_HOOKS_H_
#define BPFEMU_NATIVE_CGROUP_HOOKS_H_

#include <sys/socket.h>

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
// With `ret_flags` (the bind hooks), a return value's bits above the
// lowest are or-ed into *ret_flags and the lowest alone is the verdict.
int RunCgroupArray(size_t n, int retval,
                   absl::FunctionRef<uint32_t(size_t i)> run,
                   std::vector<uint32_t>* verdicts = nullptr,
                   uint32_t* ret_flags = nullptr);

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

// A socket address hook: the socket (an fd of this process) and the
// address the call carries, as the hook's attach type sees it
// (BPF_CGROUP_INET4_CONNECT: a struct sockaddr_in, ...).
struct SockAddrAccess {
  int fd = -1;
  uint32_t attach_type = 0;
  struct sockaddr_storage addr = {};
  socklen_t len = 0;
};

struct SockAddrOutcome {
  int ret = 0;  // the hook's answer: 0, or the errno the call fails with
  std::vector<uint32_t> verdicts;
  uint32_t ret_flags = 0;  // the bind hooks' BPF_RET_BIND_NO_CAP_NET_BIND_...
  // The address the call goes on with (user_ip4 / user_ip6 / user_port as
  // the programs left them).
  struct sockaddr_storage addr = {};
  socklen_t len = 0;
};

// __cgroup_bpf_run_filter_sock_addr(): `run` runs program i on the struct
// bpf_sock_addr it is given. A socket neither AF_INET, AF_INET6 nor
// AF_UNIX runs no program. The context's user_* fields are those of the
// attach type's family (the verifier refuses the others), family, type and
// protocol the socket's; msg_src_ip4/6 (sendmsg's source) and sk are not
// modelled (0 and NULL).
SockAddrOutcome RunSockAddrHook(
    size_t n, const SockAddrAccess& access,
    absl::FunctionRef<uint32_t(size_t i, void* ctx)> run);

// Whether a socket address hook runs on this thread (a native program's
// bpf_setsockopt is then its, else a sock_ops callback's).
bool SockAddrHookRunning();

// bpf_bind (net/core/filter.c): on the running hook's socket; -EINVAL when
// no hook runs on this thread.
long SockAddrBind(const void* ctx, const void* addr, int len);
// bpf_setsockopt / bpf_getsockopt from a sock_addr program: the running
// hook's socket, through the option rules below.
long SockAddrSetsockopt(const void* ctx, int level, int optname, void* optval,
                        int optlen);
long SockAddrGetsockopt(const void* ctx, int level, int optname, void* optval,
                        int optlen);

// __bpf_setsockopt / __bpf_getsockopt on the real socket `fd`: the option
// lists and length rules of sol_socket_sockopt, sol_tcp_sockopt,
// sol_ip_sockopt and sol_ipv6_sockopt, then the socket's own setsockopt /
// getsockopt. A failed get zeroes optval, a shorter one its tail. A valid
// value of a bpf_setsockopt-only TCP_BPF_* option would change kernel
// state no system call reaches: bpfemu answers -EOPNOTSUPP for it after
// the kernel's checks (docs/semantics.md).
long BpfSetsockoptOnFd(int fd, int level, int optname, char* optval,
                       int optlen);
long BpfGetsockoptOnFd(int fd, int level, int optname, char* optval,
                       int optlen);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_CGROUP_HOOKS_H_
