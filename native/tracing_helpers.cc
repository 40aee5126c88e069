// SPDX-License-Identifier: Apache-2.0
// File: tracing_helpers.cc
//
// The helpers of fentry / fexit / fmod_ret programs and two of every
// tracing program, for both faces (a native program calls these entry
// points, loader/bytecode.cc's table calls them after its argument
// checks): kernel/trace/bpf_trace.c get_func_arg, get_func_ret,
// get_func_arg_cnt, bpf_get_func_ip_tracing, bpf_get_attach_cookie_tracing
// (all but the cookie inlined by kernel/bpf/verifier.c do_misc_fixups,
// whose inline forms these follow), bpf_trace_vprintk, and
// kernel/bpf/helpers.c bpf_get_ns_current_pid_tgid. The trampoline's frame
// (nr_args, the function, the link's cookie) is emu/trampoline.h's; a
// program run outside a trampoline sees a zeroed frame.

#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "bpfemu/native_abi.h"
#include "emu/trampoline.h"
#include "native/syscall_helpers.h"

namespace {

uint64_t NrArgs() {
  const bpfemu::TrampolineFrame* f = bpfemu::CurrentTrampolineFrame();
  return f != nullptr ? f->nr_args : 0;
}

}  // namespace

extern "C" {

long bpfemu_get_func_arg(void* ctx, __u32 n, __u64* value) {
  // n >= nr_args: -EINVAL, *value untouched.
  if (uint64_t{n} >= NrArgs()) return -EINVAL;
  *value = static_cast<const uint64_t*>(ctx)[n];
  return 0;
}

long bpfemu_get_func_ret(void* ctx, __u64* value) {
  // Only fexit and fmod_ret have a return value (else -EOPNOTSUPP).
  const bpfemu::TrampolineFrame* f = bpfemu::CurrentTrampolineFrame();
  if (f == nullptr || (f->attach_type != BPF_TRACE_FEXIT &&
                       f->attach_type != BPF_MODIFY_RETURN)) {
    return -EOPNOTSUPP;
  }
  *value = static_cast<const uint64_t*>(ctx)[f->nr_args];
  return 0;
}

long bpfemu_get_func_arg_cnt(void* /*ctx*/) {
  return static_cast<long>(NrArgs());
}

__u64 bpfemu_get_func_ip(void* /*ctx*/) {
  // The traced function's address: its /proc/kallsyms entry, bpfemu's
  // model of kernel addresses (bpf_kallsyms_lookup_name's too); 0 where
  // kallsyms shows none.
  const bpfemu::TrampolineFrame* f = bpfemu::CurrentTrampolineFrame();
  if (f == nullptr) return 0;
  const std::string name = f->func;
  uint64_t addr = 0;
  if (bpfemu::native::KallsymsLookupName(
          name.c_str(), static_cast<int32_t>(name.size() + 1), 0, &addr) != 0) {
    return 0;
  }
  return addr;
}

__u64 bpfemu_get_attach_cookie(void* /*ctx*/) {
  const bpfemu::TrampolineFrame* f = bpfemu::CurrentTrampolineFrame();
  return f != nullptr ? f->cookie : 0;
}

long bpfemu_get_ns_current_pid_tgid(__u64 dev, __u64 ino,
                                    struct bpf_pidns_info* nsdata, __u32 size) {
  long err = -EINVAL;
  struct stat st = {};
  // The kernel's dev_t is 32 bits (MKDEV: major << 20 | minor).
  if (size == sizeof(struct bpf_pidns_info) &&
      static_cast<uint64_t>(static_cast<uint32_t>(dev)) == dev) {
    if (stat("/proc/self/ns/pid", &st) != 0) {
      err = -ENOENT;
    } else {
      const uint64_t kdev =
          (uint64_t{major(st.st_dev)} << 20) | minor(st.st_dev);
      if (kdev == dev && st.st_ino == ino) {
        const uint64_t pid_tgid = bpfemu_get_current_pid_tgid();
        nsdata->pid = static_cast<__u32>(pid_tgid);
        nsdata->tgid = static_cast<__u32>(pid_tgid >> 32);
        return 0;
      }
    }
  }
  std::memset(nsdata, 0, size);
  return err;
}

long bpfemu_trace_vprintk(const char* fmt, __u32 fmt_size, const void* data,
                          __u32 data_len) {
  std::string out;
  const int err = bpfemu::native::BprintfData(
      fmt, fmt_size, static_cast<const uint64_t*>(data), data_len, nullptr,
      &out, 1024 /* MAX_BPRINTF_BUF */);
  if (err < 0) return err;
  return bpfemu_trace_printk("%s", 3, out.c_str());
}

}  // extern "C"
