// SPDX-License-Identifier: Apache-2.0
// File: task_model.h
//
// The emulated kernel's tasks as a program reads them: `struct task_struct`
// (include/linux/sched.h) and `struct cred` (include/linux/cred.h), laid out
// by the emulated kernel's BTF (emu/kernel_btf.h), which is the BTF CO-RE
// relocations resolve against. What bpf_get_current_task and
// bpf_get_current_task_btf (kernel/trace/bpf_trace.c) answer: the calling
// thread's task_struct.
//
// The fields a program can read are the thread's own, so they agree with
// the other helpers (bpf_get_current_pid_tgid, _comm, _uid_gid) and with
// what the kernel shows for the same thread: pid (the thread id), tgid, comm,
// group_leader, real_parent and parent (the parent process, up through
// /proc to pid 1, whose parent is pid 0, "swapper/0", its own parent as
// init_task is), real_cred and cred (uid, gid, suid, sgid, euid, egid,
// fsuid, fsgid). A test sets them by changing the thread itself:
// prctl(PR_SET_NAME), setresuid(). Every other byte of the structures is
// zero. The views of one thread sit in one read-only block, so a bytecode
// run gets one region for all of them.

#ifndef BPFEMU_NATIVE_TASK_MODEL_H_
#define BPFEMU_NATIVE_TASK_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "emu/local_storage.h"

namespace bpfemu::native {

// The calling thread's task_struct view, with comm and creds read again
// now; nullptr without a kernel BTF that describes task_struct.
const void* CurrentTask();

// The block holding every view of this thread (valid once CurrentTask()
// answered), for a bytecode run's memory checks.
struct TaskBlock {
  const uint8_t* data = nullptr;
  size_t size = 0;
};
TaskBlock CurrentTaskBlock();

// The task storage owner of a task view this thread handed out: false when
// `task` is no task_struct view (a pointer the kernel's verifier would not
// have let through) or the task is gone.
bool TaskViewOwner(const void* task, LocalStorageMap::Owner* owner);

// bpf_task_from_pid's lookup (kernel/bpf/helpers.c, find_task_by_pid_ns in
// the initial namespace): the view of the task `pid`, this thread's own
// views (the thread, its group leader, its ancestors up to pid 1) or,
// since kfuncB47, TaskViewOfTid's view of any other thread /proc shows;
// nullptr for pid 0 (the idle task is in no pid table) and a pid no task
// has. Registered with emu/task_kfuncs.h for the interpreter.
const void* TaskViewByPid(int32_t pid);
// Whether `p` is one of this thread's task views.
bool IsTaskView(const void* p);
// The thread id of a task view this thread handed out (0 for pid 0,
// init_task): false when `task` is no task_struct view.
bool TaskViewTid(const void* task, long* tid);

// The vm_area_struct (include/linux/mm_types.h) of thread `tid`'s memory
// that holds `addr`, as /proc/TID/smaps shows it, laid out by the kernel
// BTF in `block` (the vma, then a zeroed struct file for vm_file): vm_start,
// vm_end, vm_flags (the VmFlags mnemonics as include/linux/mm.h's bits),
// vm_pgoff (the file offset in pages; an anonymous vma's start page) and
// vm_file (non-NULL for a vma with an inode). Every other byte is zero,
// but for a socket's mapping (sockfs's "socket:[INODE]", a packet ring, a
// TCP receive zerocopy map), whose file then follows as the kernel's
// socket file does: f_op socket_file_ops, private_data a struct socket
// (net/socket.c) with its type (SO_TYPE), its state (SS_CONNECTED with a
// peer, else SS_UNCONNECTED) and file pointing back; the socket of
// another process, which this one cannot ask, has type 0.
// False when no vma holds `addr`, the thread is gone, or the kernel BTF has
// no vm_area_struct. kernel/bpf/task_iter.c bpf_find_vma's find_vma().
bool FindVma(long tid, uint64_t addr, std::vector<uint8_t>* block,
             size_t* vma_size);
// kfuncB47: bpf_iter_task_vma_next's find: as FindVma, the first vma
// that ends above `addr` (vma_next from `addr`), the vsyscall page left
// out as the kernel's mm does not hold it; *vm_end its end.
bool NextVma(long tid, uint64_t addr, std::vector<uint8_t>* block,
             size_t* vma_size, uint64_t* vm_end);

// kfuncB47: the task iterators' tasks (kernel/bpf/task_iter.c).
// The view of thread `tid` (0: init_task): this thread's own views when
// the chain holds it, else a view made on first use and kept at one
// address for the thread's life (its parent and group leader views too);
// nullptr for a thread /proc does not show.
const void* TaskViewOfTid(long tid);
// The block of the views TaskViewOfTid made beyond the chain.
void ExtraTaskBlock(const uint8_t** data, size_t* size);
// The process after `after` in the task list, and the thread of process
// `tgid` after thread `after` (ascending ids, as /proc lists them; the
// kernel's lists are in creation order, which the ids follow until they
// wrap); 0 when there is none.
long NextProcess(long after);
long NextThread(long tgid, long after);
// The thread group of thread `tid` (0 for init_task, or a task gone).
long TaskTgid(long tid);
// Whether thread `tid` is a kernel thread (PF_KTHREAD in /proc/TID/stat;
// init_task is one).
bool IsKernelThread(long tid);

// net/socket.c sock_from_file (bpf_sock_from_file, net/core/filter.c): the
// struct socket of a socket's file view (FindVma), else nullptr.
void* SockFromFile(const void* file);
// The size of the kernel BTF's struct file (0 without one).
size_t FileViewSize();

// bpf_task_pt_regs (kernel/trace/bpf_trace.c): the user registers
// task_pt_regs() holds for `task`, a task view this thread handed out, as
// x86-64's struct pt_regs (arch/x86/include/asm/ptrace.h, 168 bytes; the
// kernel BTF's layout). The calling thread runs its program where the
// kernel runs it inside a bpf(BPF_PROG_TEST_RUN) system call, so its
// registers are those of that call as the syscall entry saved them:
// orig_ax 321 (__NR_bpf), ax -ENOSYS, di BPF_PROG_TEST_RUN, ip a code
// address of the caller, cx its copy and r11 the flags (what the syscall
// instruction leaves there), sp the caller's stack, cs 0x33, ss 0x2b; si,
// dx and the callee-saved registers, which the call does not fix, are 0.
// Another task's are what /proc/TID/syscall shows of its system call
// (number, six arguments, sp, ip; cx the ip, ax -ENOSYS) when it is
// blocked in one, else 0 but cs and ss; init_task's (pid 0) are all 0.
// nullptr when `task` is no task view. The block holds one pt_regs per
// task view; `*block` / `*block_size` describe it for a bytecode run.
const void* TaskPtRegs(const void* task, const uint8_t** block,
                       size_t* block_size);

}  // namespace bpfemu::native

#endif  // BPFEMU_NATIVE_TASK_MODEL_H_
