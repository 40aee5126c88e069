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
//
// And the helpers by which a tracing or SYSCALL program acts on the task
// it runs in, which is the calling thread of a test run on the kernel as
// on bpfemu: kernel/trace/bpf_trace.c bpf_probe_write_user,
// bpf_send_signal(_thread) and bpf_get_branch_snapshot, and
// kernel/bpf/helpers.c bpf_copy_from_user_task.

#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bpfemu/native_abi.h"
#include "emu/signal.h"
#include "emu/trampoline.h"
#include "native/btf_show.h"
#include "native/helpers.h"
#include "native/syscall_helpers.h"
#include "native/task_model.h"

namespace {

uint64_t NrArgs() {
  const bpfemu::TrampolineFrame* f = bpfemu::CurrentTrampolineFrame();
  return f != nullptr ? f->nr_args : 0;
}

// x86-64 with 4-level paging: access_ok()'s limit (native/helpers.cc).
constexpr uint64_t kTaskSizeMax = (uint64_t{1} << 47) - 4096;

bool Owned(const bpfemu::native::OwnedMemory* owned, uint64_t a, uint64_t n) {
  return owned != nullptr && (*owned)(a, std::max<uint64_t>(n, 1));
}

// Whether all `n` bytes moved between this process (`local`) and the
// memory of thread `tid` at `remote`.
bool Transfer(long tid, void* local, uint64_t remote, size_t n, bool write) {
  struct iovec l = {local, n};
  struct iovec r = {reinterpret_cast<void*>(remote), n};
  const ssize_t done =
      write ? process_vm_writev(static_cast<pid_t>(tid), &l, 1, &r, 1, 0)
            : process_vm_readv(static_cast<pid_t>(tid), &l, 1, &r, 1, 0);
  return done == static_cast<ssize_t>(n);
}

// Where the pages of [addr, addr + n) stop being present in this process's
// page tables (/proc/self/pagemap bit 63): addr + n when all are. A fault
// under pagefault_disable() fails instead of bringing a page in.
uint64_t PresentUntil(uint64_t addr, uint64_t n) {
  const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return addr + n;
  uint64_t page = addr & ~uint64_t{4095};
  uint64_t end = addr + n;
  for (; page < end; page += 4096) {
    uint64_t entry = 0;
    if (pread(fd, &entry, 8, static_cast<off_t>(page / 4096 * 8)) != 8 ||
        (entry >> 63) == 0) {
      end = std::max(page, addr);
      break;
    }
  }
  close(fd);
  return end;
}

// bpf_send_signal_common: the calling task is never a kernel thread nor
// exiting here, so what remains is init's refusal and the signal itself,
// sent as the kernel sends it (SEND_SIG_PRIV: si_code SI_KERNEL, no
// sender), to the thread group or to the thread. Queuing a SI_KERNEL
// siginfo is allowed to a task that signals itself, which is the case.
long SendSignal(uint32_t sig, bool thread) {
  if (getpid() == 1) return -EPERM;  // is_global_init
  return bpfemu::SendProgramSignal(
      {getpid(), gettid(), static_cast<int>(sig), thread, 0});
}

}  // namespace

namespace bpfemu::native {

// kernel/trace/bpf_trace.c bpf_probe_write_user over mm/maccess.c
// copy_to_user_nofault: -EFAULT unless access_ok() takes the whole range
// and every byte is written (what was written before a fault stays). With
// page faults disabled, a page not present yet (never touched) is a fault
// as an unmapped or read-only one is; a present page whose entry is
// read-only (copy-on-write, the zero page) is not told apart and is
// written. The
// program's own memory is kernel memory (-EFAULT). The -EPERM of a kernel
// thread, an exiting task or a switched mm cannot happen in a test run.
long ProbeWriteUser(uint64_t dst, const void* src, uint32_t size,
                    const OwnedMemory* owned) {
  if (Owned(owned, dst, 1) || dst > kTaskSizeMax || size > kTaskSizeMax - dst) {
    return -EFAULT;
  }
  if (size == 0) return 0;
  const uint64_t present = PresentUntil(dst, size) - dst;
  if (present != 0) {
    const bool all =
        Transfer(getpid(), const_cast<void*>(src), dst, present, true);
    if (all && present == size) return 0;
  }
  return -EFAULT;
}

// kernel/bpf/helpers.c bpf_copy_from_user_task: flags first (-EINVAL, dst
// untouched), then size 0 reads nothing; access_process_vm reads the task's
// mm, and anything short of `size` bytes zeroes dst and answers -EFAULT. A
// task without an mm (init_task) reads nothing; kernel addresses and the
// program's own memory are no user memory.
long CopyFromUserTask(void* dst, uint32_t size, uint64_t src, long tid,
                      uint64_t flags, const OwnedMemory* owned) {
  if (flags != 0) return -EINVAL;
  if (size == 0) return 0;
  if (tid > 0 && !Owned(owned, src, 1) && src < kTaskSizeMax &&
      Transfer(tid, dst, src, size, false)) {
    return 0;
  }
  std::memset(dst, 0, size);
  return -EFAULT;
}

// kernel/bpf/task_iter.c bpf_find_vma: flags first (-EINVAL), then the
// task's mm: a task without one (init_task) or an address no vma holds
// answers -ENOENT; else the callback runs once with the task, the vma
// (native/task_model.h FindVma) and ctx, and the helper answers 0 whatever
// the callback returns. The kernel's -EBUSY (the mmap lock contended, or a
// foreign task's alloc_lock) is not modelled: bpfemu reads /proc.
long FindVmaWith(
    const void* task, long tid, uint64_t addr, uint64_t flags,
    absl::FunctionRef<void(const void* vma, size_t vma_size, size_t block_size)>
        callback) {
  if (flags != 0) return -EINVAL;
  // The view lives in this thread's blocks, one per nesting level (a
  // callback may call bpf_find_vma again, at most 8 frames deep), not on
  // this frame: a fault in the callback leaves the run without unwinding
  // it (interp.h SetAbortRun), so the level count may drift, and wraps.
  thread_local std::array<std::vector<uint8_t>, 8> t_blocks;
  thread_local unsigned t_depth = 0;
  std::vector<uint8_t>& block = t_blocks[t_depth % t_blocks.size()];
  size_t vma_size = 0;
  if (task == nullptr || tid <= 0 || !FindVma(tid, addr, &block, &vma_size)) {
    return -ENOENT;
  }
  ++t_depth;
  callback(block.data(), vma_size, block.size());
  --t_depth;
  return 0;
}

}  // namespace bpfemu::native

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

long bpfemu_probe_write_user(void* dst, const void* src, __u32 len) {
  return bpfemu::native::ProbeWriteUser(reinterpret_cast<uint64_t>(dst), src,
                                        len, nullptr);
}

long bpfemu_send_signal(__u32 sig) { return SendSignal(sig, false); }

long bpfemu_send_signal_thread(__u32 sig) { return SendSignal(sig, true); }

// kernel/trace/bpf_trace.c bpf_snprintf_btf (native/btf_show.h); natively
// every address but the NULL page is kernel memory, as for the probe reads.
long bpfemu_snprintf_btf(char* str, __u32 str_size, struct btf_ptr* ptr,
                         __u32 btf_ptr_size, __u64 flags) {
  return bpfemu::native::SnprintfBtf(str, str_size, ptr, btf_ptr_size, flags,
                                     nullptr);
}

// net/core/filter.c bpf_sock_from_file over net/socket.c sock_from_file:
// the struct socket of a socket's file, NULL for any other file
// (native/task_model.h: bpfemu's files are bpf_find_vma's vm_file views).
void* bpfemu_sock_from_file(void* file) {
  return bpfemu::native::SockFromFile(file);
}

// net/core/filter.c bpf_skb_output / bpf_xdp_output (bpf_skb_event_output,
// bpf_xdp_event_output): flags beyond BPF_F_CTXLEN_MASK and
// BPF_F_INDEX_MASK -EINVAL, then a NULL object -EFAULT, as the kernel
// answers. bpfemu models no kernel struct sk_buff or xdp_buff (its test
// runs hand programs __sk_buff and xdp_md contexts, and its task views
// hold NULL where the kernel's objects point at one), so every pointer a
// program can pass is NULL: no record is ever written.
long bpfemu_skb_output(void* skb, void* map, __u64 flags, void* /*meta*/,
                       __u64 /*meta_size*/) {
  (void)map;
  constexpr uint64_t kCtxLenMask = uint64_t{0xfffff} << 32;
  if (flags & ~(kCtxLenMask | uint64_t{BPF_F_INDEX_MASK})) return -EINVAL;
  (void)skb;  // no sk_buff object exists here (see above)
  return -EFAULT;
}

long bpfemu_xdp_output(void* xdp, void* map, __u64 flags, void* meta,
                       __u64 meta_size) {
  return bpfemu_skb_output(xdp, map, flags, meta, meta_size);
}

// kernel/trace/bpf_trace.c bpf_task_pt_regs: the task's user registers
// (native/task_model.h TaskPtRegs); a pointer that is no task view, which
// the verifier would have refused, answers 0.
long bpfemu_task_pt_regs(struct task_struct* task) {
  const uint8_t* block = nullptr;
  size_t size = 0;
  return reinterpret_cast<long>(
      bpfemu::native::TaskPtRegs(task, &block, &size));
}

// kernel/trace/bpf_trace.c bpf_get_branch_snapshot. bpfemu models a CPU
// without last-branch records (perf_snapshot_branch_stack left at its
// return-0 default, as on a VM without LBR): no entry is ever copied, so
// `entries` is untouched, nonzero flags answer -EINVAL and everything else
// -ENOENT, whatever the size.
long bpfemu_get_branch_snapshot(void* /*entries*/, __u32 /*size*/,
                                __u64 flags) {
  if (flags != 0) return -EINVAL;
  return -ENOENT;
}

// The task is a task_struct view (native/task_model.h) or, without a
// kernel BTF, the calling thread's handle; any other pointer, which the
// verifier would have refused, reads nothing.
// The task as for bpf_copy_from_user_task; the callback is
// long (*)(struct task_struct *, struct vm_area_struct *, void *).
long bpfemu_find_vma(struct task_struct* task, __u64 addr, void* callback_fn,
                     void* callback_ctx, __u64 flags) {
  long tid = -1;
  if (!bpfemu::native::TaskViewTid(task, &tid) &&
      task == bpfemu_get_current_task_btf()) {
    tid = gettid();
  }
  auto* cb = reinterpret_cast<long (*)(void*, void*, void*)>(callback_fn);
  return bpfemu::native::FindVmaWith(
      task, tid, addr, flags, [&](const void* vma, size_t, size_t) {
        cb(task, const_cast<void*>(vma), callback_ctx);
      });
}

long bpfemu_copy_from_user_task(void* dst, __u32 size, const void* user_ptr,
                                struct task_struct* tsk, __u64 flags) {
  long tid = -1;
  if (!bpfemu::native::TaskViewTid(tsk, &tid) &&
      tsk == bpfemu_get_current_task_btf()) {
    tid = gettid();
  }
  if (tid < 0) {
    if (flags != 0) return -EINVAL;
    if (size != 0) std::memset(dst, 0, size);
    return size != 0 ? -EFAULT : 0;
  }
  return bpfemu::native::CopyFromUserTask(
      dst, size, reinterpret_cast<uint64_t>(user_ptr), tid, flags, nullptr);
}

}  // extern "C"
