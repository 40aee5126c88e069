// SPDX-License-Identifier: Apache-2.0
// File: stream.h
//
// BPF program streams (Linux 6.17, kernel/bpf/stream.c): each program has
// a stdout (BPF_STDOUT, 1) and a stderr (BPF_STDERR, 2) that the kfunc
// bpf_stream_vprintk_impl (6.18's name) prints into and userspace reads
// with bpf(BPF_PROG_STREAM_READ_BY_FD) (kernel/bpf/syscall.c
// prog_stream_read, bpf_prog_stream_read). Shared by the interpreter
// (emu/kfunc.cc's table), the native face (native/stream_kfuncs.cc) and
// the command's callers (bpfemu exec's dispatch, tests).
//
// A print is one element of the stream: the formatted text without its
// NUL, shorter than MAX_BPRINTF_BUF (1024) bytes (a longer text cannot be
// allocated: -ENOMEM, and takes no capacity). A stream holds less than
// BPF_STREAM_MAX_CAPACITY bytes (kStreamCapacity, 100000): a print that
// would reach it is -ENOSPC. The 6.18 host answers -ENOMEM to every print
// (its kmalloc_nolock() fails; measured from tc and syscall programs):
// bpfemu prints, as the kernel's code does when the allocation succeeds. A read
// copies whole or partial elements in print order and consumes what it copied;
// an element read in part keeps its rest for the next read. The streams live
// with the program (ProgExtra).

#ifndef BPFEMU_EMU_STREAM_H_
#define BPFEMU_EMU_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "emu/interp.h"
#include "emu/prog.h"

namespace bpfemu {

// include/uapi/linux/bpf.h enum bpf_stream_id.
inline constexpr int kBpfStdout = 1, kBpfStderr = 2;
// include/linux/bpf.h BPF_STREAM_MAX_CAPACITY.
inline constexpr int64_t kStreamCapacity = 100000;
// MAX_BPRINTF_BUF: elements are shorter.
inline constexpr int kStreamElemMax = 1024;
// enum bpf_cmd BPF_PROG_STREAM_READ_BY_FD (6.17).
inline constexpr int kBpfProgStreamReadByFd = 37;

// bpf_stream_push_str on `p`'s stream `stream_id`: 0, -ENOENT (no such
// stream), -ENOSPC (capacity reached), -ENOMEM (too long for an element).
int StreamPush(const Prog& p, int stream_id, std::string_view text);

// bpf_prog_stream_read(): up to `len` bytes of `p`'s stream `stream_id`
// through `copy(pos, data, n)` (0, or non-zero for a fault: -EFAULT, what
// was being copied is not consumed). The bytes copied, -ENOENT, -EFAULT.
int StreamRead(
    const Prog& p, uint32_t stream_id, uint32_t len,
    const std::function<int(size_t pos, const char* data, size_t n)>& copy);

// BPF_PROG_STREAM_READ_BY_FD for this process: `len` bytes at `buf` (NULL
// with bytes to copy: -EFAULT). -EBADF / -EINVAL for a prog_fd that is
// not open / no program, then StreamRead's answers.
int ProgStreamReadByFd(int prog_fd, uint32_t stream_id, void* buf,
                       uint32_t len);

// The formatter bpf_stream_vprintk_impl uses: bpf_bprintf_prepare and
// bstr_printf into a MAX_BPRINTF_BUF buffer (native/syscall_helpers.h
// BprintfData; the native helpers register it, emu/ has no formatter).
// `readable(addr, n)` says which memory a %s argument may be read from
// (nullptr: the whole process). 0 with the untruncated text in *out, or
// -errno.
using StreamFormatFn =
    int (*)(const char* fmt, const uint64_t* args, uint32_t data_len,
            const std::function<bool(uint64_t addr, uint64_t n)>* readable,
            std::string* out);
void SetStreamFormat(StreamFormatFn fn);

// bpf_stream_vprintk_impl(stream_id, fmt, args, len, aux) of the running
// program (RunningProg()): -ENOENT for a stream id other than 1 or 2,
// -EINVAL for len not a multiple of 8, above 12 arguments, or with NULL
// args; the formatter's errors; then StreamPush of the text.
int StreamVprintk(int stream_id, const char* fmt, const uint64_t* args,
                  uint32_t len,
                  const std::function<bool(uint64_t, uint64_t)>* readable);

// The interpreter's binding: fmt must be a readable string and args `len`
// readable bytes (the verifier's KF_ARG_PTR_TO_MEM_SIZE and const-string
// checks stop the run otherwise).
uint64_t InterpStreamVprintk(interp::Vm& vm, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);

}  // namespace bpfemu

#endif  // BPFEMU_EMU_STREAM_H_
